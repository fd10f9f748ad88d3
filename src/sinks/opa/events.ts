// From sealed entries back to OPA decision-log events, and into upload chunks.
//
// A decision entry's payload is either the line OPA's console logger wrote (the event's fields
// merged at top level with the four keys logrus adds: level, msg, time, type) or an event OPA
// uploaded to an opa_service input (none of those keys). Either way the event is that JSON
// object minus exactly those four top-level keys. It is rebuilt on the JSON *text*: every other
// member is copied byte for byte and in order, so large integers, key order and escapes (OPA's
// \u003c ...) reach the receiver exactly as OPA wrote them, with no parse/serialise round trip.
//
// Chunks follow OPA's upload rule: each POST body is a gzip'd JSON array whose compressed size
// is at most upload_size_limit_bytes.
import { gzipSync } from 'node:zlib';
import { TailsealError } from '../../errors.js';
import { toHex } from '../../trail/hash.js';
import { encodeObject } from '../../seal/encoder.js';
import { parseObject } from '../../seal/gzip.js';
import { objectName } from '../../trail/object.js';
import type { TrailObject } from '../sink.js';

/** The keys OPA's console logger adds to an event (logrus level/msg/time plus the type field). */
export const CONSOLE_KEYS: ReadonlySet<string> = new Set(['level', 'msg', 'time', 'type']);
/** The field the sink adds to each event with include_seal. */
export const SEAL_FIELD = 'tailseal';

const WS = new Set([' ', '\t', '\n', '\r']);

function skipWs(s: string, i: number): number {
  while (i < s.length && WS.has(s[i]!)) i++;
  return i;
}

/** Index just past the JSON string starting at s[i] === '"'. */
function skipString(s: string, i: number): number {
  let j = i + 1;
  while (j < s.length) {
    const c = s.charCodeAt(j);
    if (c === 0x5c)
      j += 2; // backslash: skip the escaped character
    else if (c === 0x22) return j + 1;
    else j++;
  }
  throw new SyntaxError('unterminated string');
}

/** Index just past the JSON value starting at s[i]. */
function skipValue(s: string, i: number): number {
  const c = s[i];
  if (c === '"') return skipString(s, i);
  if (c === '{' || c === '[') {
    let depth = 0;
    let j = i;
    while (j < s.length) {
      const d = s[j]!;
      if (d === '"') {
        j = skipString(s, j);
        continue;
      }
      if (d === '{' || d === '[') depth++;
      else if (d === '}' || d === ']') {
        depth--;
        if (depth === 0) return j + 1;
      }
      j++;
    }
    throw new SyntaxError('unterminated value');
  }
  let j = i;
  while (j < s.length && !WS.has(s[j]!) && s[j] !== ',' && s[j] !== '}' && s[j] !== ']') j++;
  if (j === i) throw new SyntaxError('value expected');
  return j;
}

/** The members of a top-level JSON object as raw text: [decoded key, raw key, raw value]. */
function members(text: string): [string, string, string][] {
  const out: [string, string, string][] = [];
  let i = skipWs(text, 0);
  if (text[i] !== '{') throw new SyntaxError('not a JSON object');
  i = skipWs(text, i + 1);
  if (text[i] === '}') return out;
  for (;;) {
    i = skipWs(text, i);
    if (text[i] !== '"') throw new SyntaxError('member name expected');
    const keyEnd = skipString(text, i);
    const rawKey = text.slice(i, keyEnd);
    i = skipWs(text, keyEnd);
    if (text[i] !== ':') throw new SyntaxError('":" expected');
    const valStart = skipWs(text, i + 1);
    const valEnd = skipValue(text, valStart);
    out.push([JSON.parse(rawKey) as string, rawKey, text.slice(valStart, valEnd)]);
    i = skipWs(text, valEnd);
    if (text[i] === ',') {
      i++;
      continue;
    }
    if (text[i] === '}') return out;
    throw new SyntaxError('"," or "}" expected');
  }
}

/**
 * The OPA event (JSON text) of a console decision line: the line's top-level object without
 * level/msg/time/type, every other member copied verbatim and in order. `seal`, when given, is
 * added last as the `tailseal` member (replacing one the line might already have; OPA's
 * events have none). Throws SyntaxError when the line is not one JSON object.
 */
export function consoleLineToEvent(line: string, seal?: string): string {
  const text = line.charCodeAt(0) === 0xfeff ? line.slice(1) : line;
  JSON.parse(text); // strict validation first; the scanner below then only splits valid JSON
  const kept = members(text)
    .filter(([key]) => !CONSOLE_KEYS.has(key) && !(seal !== undefined && key === SEAL_FIELD))
    .map(([, rawKey, rawValue]) => `${rawKey}:${rawValue}`);
  if (seal !== undefined) kept.push(`"${SEAL_FIELD}":${seal}`);
  return `{${kept.join(',')}}`;
}

export interface OpaEvent {
  seq: number;
  /** The event as compact JSON text. */
  json: string;
  decisionId: string | undefined;
}

export interface ObjectEvents {
  /** The object's name as an uncompressed store holds it (`<stream>/<first>-<last>.ndjson`). */
  name: string;
  note: string;
  events: OpaEvent[];
  /** Gap entries skipped (they are sealed in the trail but are not OPA events). */
  gaps: number;
}

/**
 * The OPA events of a trail object, in seq order. The entries are read back through
 * parseObject, the verifier's own parser. With `includeSeal` each event gets a `tailseal`
 * member {stream, seq, chain, object} naming the sealed entry it came from.
 */
export function objectEvents(obj: TrailObject, includeSeal: boolean, sink: string): ObjectEvents {
  const name = objectName(obj.stream, obj.firstSeq, obj.size, obj.createdAt, false);
  const parsed = parseObject(encodeObject(obj, false).body);
  const events: OpaEvent[] = [];
  let gaps = 0;
  for (const { envelope: e, chain } of parsed.entries) {
    if (e.kind === 'gap') {
      gaps++;
      continue;
    }
    const line = Buffer.from(e.payload).toString('utf8');
    const seal = includeSeal
      ? JSON.stringify({ stream: e.stream, seq: e.seq, chain: toHex(chain), object: name })
      : undefined;
    let json: string;
    let decisionId: string | undefined;
    try {
      json = consoleLineToEvent(line, seal);
      const id = (JSON.parse(json) as { decision_id?: unknown }).decision_id;
      decisionId = typeof id === 'string' ? id : undefined;
    } catch (err) {
      throw new TailsealError(
        'SINK_PERMANENT',
        `sink ${sink}: entry seq ${e.seq} of ${name} is not a JSON object, so no OPA event can be rebuilt from it: ` +
          `${(err as Error).message}`,
        { cause: err, details: { seq: e.seq, object: name } },
      );
    }
    events.push({ seq: e.seq, json, decisionId });
  }
  return { name, note: parsed.note ?? obj.note, events, gaps };
}

export interface Chunk {
  /** gzip(JSON array of the events), at most the limit. */
  body: Buffer;
  /** Index of the first event in the input and how many it holds. */
  first: number;
  count: number;
}

/** Where chunk packing stops once a chunk is this full (OPA holds its chunks at 90–100 %). */
const GOOD_FILL = 0.9;
/** The fill aimed at when estimating how many events fit. */
const TARGET_FILL = 0.95;
/** Interpolation steps before falling back to bisection (bounds the gzip calls per chunk). */
const MAX_GUESSES = 4;

function gzipArray(events: readonly OpaEvent[], first: number, count: number): Buffer {
  let s = '[';
  for (let k = 0; k < count; k++) s += (k === 0 ? '' : ',') + events[first + k]!.json;
  return gzipSync(Buffer.from(`${s}]`, 'utf8'));
}

/**
 * Splits the events into consecutive chunks, each a gzip'd JSON array of at most `limit` bytes,
 * in order, every event exactly once. A chunk takes as many events as fit, found by estimating
 * from the compression ratio and confirming with real gzip (a few gzip calls per chunk). An
 * event that alone compresses to more than `limit` is a SINK_PERMANENT error naming its seq:
 * it is never dropped, and nothing of the object is sent.
 */
export function chunkEvents(events: readonly OpaEvent[], limit: number, sink: string, object: string): Chunk[] {
  const n = events.length;
  // prefix[k] = bytes of events[0..k) as array members (text length + 1 for the comma/bracket).
  const prefix = new Float64Array(n + 1);
  for (let k = 0; k < n; k++) prefix[k + 1] = prefix[k]! + Buffer.byteLength(events[k]!.json, 'utf8') + 1;
  const plainBytes = (first: number, count: number) => prefix[first + count]! - prefix[first]! + 1;
  // Largest count whose plain size times `ratio` stays within the target.
  const estimate = (first: number, ratio: number): number => {
    const budget = (limit * TARGET_FILL) / ratio;
    let lo = 1;
    let hi = n - first;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (plainBytes(first, mid) <= budget) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };

  const chunks: Chunk[] = [];
  let ratio = 0.25;
  let i = 0;
  while (i < n) {
    const rest = n - i;
    let lo = 0; // largest count known to fit
    let loBody: Buffer | null = null;
    let hi = rest + 1; // smallest count known not to fit
    let k = estimate(i, ratio);
    for (let guess = 1; ; guess++) {
      const body = gzipArray(events, i, k);
      ratio = Math.max(body.length / plainBytes(i, k), 1e-4);
      if (body.length <= limit) {
        lo = k;
        loBody = body;
        if (k === rest || body.length >= limit * GOOD_FILL) break;
      } else {
        hi = k;
      }
      if (hi - lo <= 1) break;
      let next = guess < MAX_GUESSES ? estimate(i, ratio) : Math.floor((lo + hi) / 2);
      if (next <= lo || next >= hi) next = Math.floor((lo + hi) / 2);
      k = next;
    }
    if (lo === 0 || !loBody) {
      const e = events[i]!;
      const size = gzipArray(events, i, 1).length;
      throw new TailsealError(
        'SINK_PERMANENT',
        `sink ${sink}: the event of entry seq ${e.seq}${e.decisionId ? ` (decision_id ${e.decisionId})` : ''} in ` +
          `${object} is ${size} bytes gzip'd, over upload_size_limit_bytes ${limit}; it is not dropped: raise ` +
          `upload_size_limit_bytes (and the receiver's limit) to deliver it`,
        { details: { seq: e.seq, object, size, limit } },
      );
    }
    chunks.push({ body: loBody, first: i, count: lo });
    i += lo;
  }
  return chunks;
}
