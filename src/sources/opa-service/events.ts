// An upload body (a JSON array of OPA decision-log events) split into the events' own bytes.
//
// Each event is sealed as the exact bytes OPA sent for it: a slice of the decoded body from the
// element's first to last byte, never a re-serialisation, so `verify` (and anyone holding the
// upload) can compare them byte for byte. The scanner finds element boundaries (every '"', '\\',
// '[', ']', '{', '}' and ',' byte outside a string is structural; UTF-8 multi-byte sequences
// never contain ASCII bytes) and checks the array's own syntax; each element is then validated
// with JSON.parse on its own. So the body is never parsed whole: memory stays near the body's
// size, and the work can stop every few milliseconds to let the event loop run (`sliced`).
import { isUtf8 } from 'node:buffer';
import { Slicer } from '../slicer.js';
import { LOWER_OPA_LIMIT, RequestError } from './body.js';

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

const notJson = (why: string) => new RequestError(400, 'bad_body', `body is not valid JSON: ${why}`);

/**
 * Splits a body step by step. Error messages name positions, never the body's bytes (a refusal
 * is logged, and the body is whatever the client sent).
 */
class Splitter {
  readonly events: UploadEvent[] = [];
  private i: number;
  private depth = 0;
  private start = -1;
  private lastNonWs = -1;
  private commas = 0;
  private closed = false;

  constructor(
    private readonly body: Buffer,
    private readonly maxEvents: number,
  ) {
    if (!isUtf8(body)) throw new RequestError(400, 'bad_body', 'body is not valid UTF-8');
    let i = 0;
    while (i < body.length && isWs(body[i]!)) i++;
    if (i === body.length) throw notJson('the body is empty');
    if (body[i] !== OPEN_BRACKET) {
      if (body[i] === OPEN_BRACE) {
        const why = "body must be a JSON array of decision-log events (OPA's upload format)";
        throw new RequestError(400, 'bad_body', why);
      }
      throw notJson(`expected "[" at byte ${i}`);
    }
    this.i = i + 1;
  }

  /** Works until done (true) or until the slicer's slice is used up (false). */
  step(slicer?: Slicer): boolean {
    const buf = this.body;
    for (let i = this.i; i < buf.length; i++) {
      const c = buf[i]!;
      if (this.closed) {
        if (!isWs(c)) throw notJson(`unexpected byte after the array at byte ${i}`);
        continue;
      }
      if (c === QUOTE) {
        if (this.start < 0) this.start = i;
        i = skipString(buf, i) - 1;
        this.lastNonWs = i;
        continue;
      }
      if (this.depth === 0 && (c === COMMA || c === CLOSE_BRACKET)) {
        if (this.start >= 0) this.element(this.start, this.lastNonWs + 1);
        else if (c === COMMA || this.commas > 0) throw notJson(`missing element before byte ${i}`);
        this.start = -1;
        if (c === CLOSE_BRACKET) this.closed = true;
        else this.commas++;
        // Between elements is where a slice may end: the clock is read once per element.
        if (slicer?.due()) {
          this.i = i + 1;
          return false;
        }
        continue;
      }
      if (isWs(c)) continue;
      if (this.start < 0) {
        if (this.events.length >= this.maxEvents) {
          const why = `upload holds more than ${this.maxEvents} events (max_events)`;
          throw new RequestError(413, 'too_many_events', `${why}; ${LOWER_OPA_LIMIT} or raise max_events`);
        }
        this.start = i;
      }
      this.lastNonWs = i;
      if (c === OPEN_BRACE || c === OPEN_BRACKET) this.depth++;
      else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) this.depth--;
    }
    this.i = buf.length;
    if (!this.closed) throw notJson('the array is not closed');
    return true;
  }

  private element(start: number, end: number): void {
    const n = this.events.length;
    let event: unknown;
    try {
      event = JSON.parse(this.body.toString('utf8', start, end));
    } catch {
      throw notJson(`event ${n} (bytes ${start}-${end}) does not parse`);
    }
    if (typeof event !== 'object' || event === null || Array.isArray(event)) {
      throw new RequestError(400, 'bad_body', `event ${n} is not a JSON object`);
    }
    const id = (event as { decision_id?: unknown }).decision_id;
    this.events.push({ start, end, decisionId: typeof id === 'string' && id !== '' ? id : undefined });
  }
}

/**
 * The events of an upload body, at most `maxEvents`. Throws RequestError 400 naming the problem
 * when the body is not UTF-8, not JSON, not an array, or has an element that is not an object;
 * 413 past `maxEvents`.
 */
export function splitEvents(body: Buffer, maxEvents = Number.POSITIVE_INFINITY): UploadEvent[] {
  const s = new Splitter(body, maxEvents);
  s.step();
  return s.events;
}

/** splitEvents in the slices of `slicer`, letting the event loop run between them. */
export async function splitEventsSliced(body: Buffer, maxEvents: number, slicer: Slicer): Promise<UploadEvent[]> {
  const s = new Splitter(body, maxEvents);
  while (!s.step(slicer)) await slicer.pause();
  return s.events;
}
