// An upload body (a JSON array of OPA decision-log events) split into the events' own bytes.
//
// Each event is sealed as the exact bytes OPA sent for it: a slice of the decoded body from the
// element's first to last byte, never a re-serialisation, so `verify` (and anyone holding the
// upload) can compare them byte for byte. The body is validated with JSON.parse first; the byte
// scanner then only has to find element boundaries in valid JSON, where every '"', '\\', '[',
// ']', '{', '}' and ',' byte is structural or inside a string (UTF-8 multi-byte sequences never
// contain ASCII bytes).
import { isUtf8 } from 'node:buffer';
import { RequestError } from './body.js';

export interface UploadEvent {
  /** Byte range of the event in the decoded body. */
  start: number;
  end: number;
  /** The event's decision_id, when it has a string one. */
  decisionId: string | undefined;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

function isWs(b: number): boolean {
  return b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;
}

/** Index just past the string whose opening quote is at `i`. */
function skipString(buf: Buffer, i: number): number {
  for (let j = i + 1; j < buf.length; j++) {
    const c = buf[j]!;
    if (c === BACKSLASH) j++;
    else if (c === QUOTE) return j + 1;
  }
  return buf.length;
}

/** Byte ranges of the top-level elements of a valid JSON array. */
function elementRanges(buf: Buffer): [number, number][] {
  const out: [number, number][] = [];
  let i = 0;
  while (isWs(buf[i]!)) i++;
  i++; // '['
  let depth = 0;
  let start = -1;
  let lastNonWs = -1;
  for (; i < buf.length; i++) {
    const c = buf[i]!;
    if (c === QUOTE) {
      if (start < 0) start = i;
      i = skipString(buf, i) - 1;
      lastNonWs = i;
      continue;
    }
    if (depth === 0 && (c === COMMA || c === CLOSE_BRACKET)) {
      if (start >= 0) out.push([start, lastNonWs + 1]);
      start = -1;
      if (c === CLOSE_BRACKET) break;
      continue;
    }
    if (isWs(c)) continue;
    if (start < 0) start = i;
    lastNonWs = i;
    if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
    else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) depth--;
  }
  return out;
}

/**
 * The events of an upload body. Throws RequestError 400 naming the problem when the body is
 * not UTF-8, not JSON, not an array, or has an element that is not an object.
 */
export function splitEvents(body: Buffer): UploadEvent[] {
  if (!isUtf8(body)) throw new RequestError(400, 'body is not valid UTF-8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new RequestError(400, `body is not valid JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(parsed)) throw new RequestError(400, 'body must be a JSON array of decision-log events (OPA\'s upload format)');
  const ranges = elementRanges(body);
  if (ranges.length !== parsed.length) throw new RequestError(400, 'body could not be split into its events'); // not reachable for valid JSON
  return parsed.map((event: unknown, i) => {
    if (typeof event !== 'object' || event === null || Array.isArray(event)) throw new RequestError(400, `event ${i} is not a JSON object`);
    const id = (event as { decision_id?: unknown }).decision_id;
    return { start: ranges[i]![0], end: ranges[i]![1], decisionId: typeof id === 'string' && id !== '' ? id : undefined };
  });
}
