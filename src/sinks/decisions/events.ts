// From sealed entries back to the OPA decision-log events they hold: what every sink that sends
// decisions rather than trail objects starts from (opa, and the search sinks).
//
// A decision entry's payload is either the line OPA's console logger wrote (the event's fields
// merged at top level with the four keys logrus adds: level, msg, time, type) or an event OPA
// uploaded to an opa_service input (none of those keys). Either way the event is that JSON
// object minus exactly those four top-level keys. It is rebuilt on the JSON *text*: every other
// member is copied byte for byte and in order, so large integers, key order and escapes (OPA's
// \u003c ...) reach the receiver exactly as OPA wrote them, with no parse/serialise round trip.
import { TailsealError } from '../../errors.js';
import { toHex } from '../../trail/hash.js';
import { outboxEntries } from '../object-body.js';
import { objectName } from '../../trail/object.js';
import type { TrailObject } from '../sink.js';
import { type DecisionFields, decisionFields } from './fields.js';

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
export function members(text: string): [string, string, string][] {
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
  return rebuildEvent(line, seal).json;
}

/**
 * consoleLineToEvent's text, and the line parsed (by the strict validation it needs anyway): what
 * the event's fields are read from, so no sink parses an event again.
 */
function rebuildEvent(line: string, seal?: string): { json: string; value: unknown } {
  const text = line.charCodeAt(0) === 0xfeff ? line.slice(1) : line;
  const value: unknown = JSON.parse(text); // strict validation first; the scanner below then only splits valid JSON
  const kept = members(text)
    .filter(([key]) => !CONSOLE_KEYS.has(key) && !(seal !== undefined && key === SEAL_FIELD))
    .map(([, rawKey, rawValue]) => `${rawKey}:${rawValue}`);
  if (seal !== undefined) kept.push(`"${SEAL_FIELD}":${seal}`);
  return { json: `{${kept.join(',')}}`, value };
}

/** One decision of a trail object as an OPA event, with where it is sealed. */
export interface DecisionEvent {
  seq: number;
  /** The event as compact JSON text. */
  json: string;
  decisionId: string | undefined;
  /** The fields people filter on (decisionFields), read from the one parse of the entry's payload. */
  fields: DecisionFields;
  /** The sealed entry's chain value (hex): with stream and seq, what links a copy to its proof. */
  chain: string;
  /** When the entry was sealed (Unix ms). */
  sealedAt: number;
  /** The envelope's metadata (container logs: k8s.pod, k8s.namespace, ... from sources/file/container.ts). */
  meta?: Readonly<Record<string, string>> | undefined;
}

export interface ObjectEvents {
  /** The object's name as an uncompressed store holds it (`<stream>/<first>-<last>.ndjson`). */
  name: string;
  note: string;
  events: DecisionEvent[];
  /** Gap entries skipped (they are sealed in the trail but are not OPA events). */
  gaps: number;
}

/**
 * The OPA events of a trail object, in seq order. The entries are read back from its lines with
 * the verifier's own parser (outboxEntries). With `includeSeal` each event gets a `tailseal`
 * member {stream, seq, chain, object} naming the sealed entry it came from.
 */
export function objectEvents(obj: TrailObject, includeSeal: boolean, sink: string): ObjectEvents {
  const name = objectName(obj.stream, obj.firstSeq, obj.size, obj.createdAt, false);
  const events: DecisionEvent[] = [];
  let gaps = 0;
  for (const { envelope: e, chain } of outboxEntries(obj)) {
    if (e.kind === 'gap') {
      gaps++;
      continue;
    }
    const line = Buffer.from(e.payload).toString('utf8');
    const chainHex = toHex(chain);
    const seal = includeSeal
      ? JSON.stringify({ stream: e.stream, seq: e.seq, chain: chainHex, object: name })
      : undefined;
    let json: string;
    let value: unknown;
    try {
      ({ json, value } = rebuildEvent(line, seal));
    } catch (err) {
      throw new TailsealError(
        'SINK_PERMANENT',
        `sink ${sink}: entry seq ${e.seq} of ${name} is not a JSON object, so no OPA event can be rebuilt from it: ` +
          `${(err as Error).message}`,
        { cause: err, details: { seq: e.seq, object: name } },
      );
    }
    // The console keys (level, msg, time, type) left in `value` are none of the fields read here.
    const id = (value as { decision_id?: unknown }).decision_id;
    const decisionId = typeof id === 'string' ? id : undefined;
    const fields = decisionFields(value);
    events.push({ seq: e.seq, json, decisionId, fields, chain: chainHex, sealedAt: e.sealedAt, meta: e.meta });
  }
  return { name, note: obj.note, events, gaps };
}
