// Trail objects, format version 1: what sinks store and `verify` reads.
//
// An object is NDJSON (optionally gzip-compressed): one line per sealed entry, in seq order, then
// exactly one checkpoint line that signs the tree up to and including the last entry:
//
//   {"v":1,"kind":"decision","stream":"opa","seq":7,"sealed_at":1764400000000,
//    "source":"/var/log/opa/opa.log","offset":4096,"payload":"<the OPA line>","chain":"<hex chain_7>"}
//   {"v":1,"kind":"checkpoint","stream":"opa","note":"<C2SP signed note, see checkpoint.ts>"}
//
// "v" is the version of this line format, 1 on every line. An entry with metadata (envelope
// version 2) has "meta":{"<key>":"<value>",...} before "payload": the envelope's version byte
// follows from "meta", never from "v". Each line has exactly one spelling (canonical: the bytes
// encodeEntryLine / encodeCheckpointLine write); the parser refuses any other (docs/trail-format.md).
//
// This file is the format's own: naming, a plain encoder of lines and the parser. The daemon writes
// lines with a faster Buffer-based encoder of the same bytes (src/seal/encoder.ts).
//
// An object with no entry lines is a heartbeat: a fresh signed checkpoint while the stream is idle.
// Names are deterministic so a retried upload writes the same name with the same bytes.
import { TailsealError } from './errors.js';
import { type Envelope, compareBytes, parseKind } from './envelope.js';
import { type Gunzip, gunzipWeb, isGzip, objectTooLarge } from './gzip.js';
import { fromBase64Strict, fromHex, toBase64, toHex } from './hash.js';

export const OBJECT_FORMAT_VERSION = 1;

/** One stored entry: the envelope plus chain_n as recorded at sealing time (a locator, not a proof). */
export interface StoredEntry {
  envelope: Envelope;
  chain: Uint8Array;
  /** 0-based line number inside the object, for error messages. */
  line: number;
}

export interface ParsedObject {
  entries: StoredEntry[];
  /** The signed note of the final checkpoint line; null when the object has none (truncated). */
  note: string | null;
  stream: string | null;
}

const SEQ_DIGITS = 20;
const pad = (n: number): string => String(n).padStart(SEQ_DIGITS, '0');

/**
 * The object name for the entries [firstSeq, size) of a stream, signed at `createdAt`.
 * Zero-padded so that names sort in seq order.
 */
export function objectName(stream: string, firstSeq: number, size: number, createdAt: number, gzip: boolean): string {
  return `${stream}/${objectFileName(firstSeq, size, createdAt, gzip)}`;
}

/** The last path segment of an object's name (sinks that add date folders use it directly). */
export function objectFileName(firstSeq: number, size: number, createdAt: number, gzip: boolean): string {
  const base = size > firstSeq ? `${pad(firstSeq)}-${pad(size - 1)}` : `heartbeat-${pad(size)}-${createdAt}`;
  return `${base}.ndjson${gzip ? '.gz' : ''}`;
}

/**
 * The largest object `tailseal verify` reads (raw, and after gunzip) unless --max-object-bytes
 * says otherwise; the daemon derives its own bound from its config (runtime/read-limits.ts).
 */
export const DEFAULT_MAX_OBJECT_BYTES = 256 * 1024 * 1024;

/**
 * The object's NDJSON without compression (gzip detected by its magic bytes). Every object is
 * attacker-controlled: gunzip stops at `maxBytes` of output and a larger text is ENTRY_MALFORMED.
 * `gunzip` defaults to the web-standard one (trail/gzip.ts).
 */
export async function objectText(
  bytes: Uint8Array,
  maxBytes = DEFAULT_MAX_OBJECT_BYTES,
  gunzip: Gunzip = gunzipWeb,
): Promise<Uint8Array> {
  if (!isGzip(bytes)) {
    if (bytes.length > maxBytes) throw objectTooLarge('object holds', maxBytes);
    return bytes;
  }
  return gunzip(bytes, maxBytes);
}

const ENCODER = new TextEncoder();
// ignoreBOM: a leading U+FEFF stays in the text, as Buffer's decoding keeps it (never silently dropped).
const DECODER = new TextDecoder('utf-8', { ignoreBOM: true });
// For stored lines: bytes that are not UTF-8 are refused, not replaced. Decoding is then one to one (a
// string without lone surrogates has exactly one UTF-8 spelling), so a line is in canonical form exactly
// when its text equals the canonical text: compared as strings, without encoding each line again.
const STRICT_DECODER = new TextDecoder('utf-8', { ignoreBOM: true, fatal: true });

/** `"meta":{...},` with the pairs sorted by key, or nothing for an envelope without metadata. */
function metaText(meta: Envelope['meta']): string {
  if (meta === undefined) return '';
  const keys = Object.keys(meta);
  if (keys.length === 0) return '';
  // By UTF-8 bytes, as in the envelope: one order for both.
  keys.sort((a, b) => compareBytes(ENCODER.encode(a), ENCODER.encode(b)));
  return `"meta":{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(meta[k])}`).join(',')}},`;
}

/**
 * The NDJSON line (with its "\n") that stores one entry: {v, kind, stream, seq, sealed_at, source,
 * offset, (meta,) payload, chain} in that key order, the text of JSON.stringify of that object
 * (the payload's bytes decoded as UTF-8). The daemon's LineBatch (src/seal/encoder.ts) writes the
 * same bytes faster; a unit test holds the two equal.
 */
export function encodeEntryLine(e: Envelope, chain: Uint8Array): Uint8Array {
  return ENCODER.encode(`${entryLineText(e, toHex(chain), DECODER.decode(e.payload))}\n`);
}

/** encodeEntryLine's text without its "\n", from the payload's text (`payload` is its UTF-8 decoding). */
function entryLineText(e: Envelope, chainHex: string, payload: string): string {
  const head =
    `{"v":${OBJECT_FORMAT_VERSION},"kind":${JSON.stringify(e.kind)},"stream":${JSON.stringify(e.stream)},` +
    `"seq":${e.seq},"sealed_at":${e.sealedAt},"source":${JSON.stringify(e.source)},"offset":${e.offset},`;
  return `${head}${metaText(e.meta)}"payload":${JSON.stringify(payload)},"chain":"${chainHex}"}`;
}

/** The final line of an object. */
export function encodeCheckpointLine(stream: string, note: string): Uint8Array {
  return ENCODER.encode(JSON.stringify({ v: OBJECT_FORMAT_VERSION, kind: 'checkpoint', stream, note }) + '\n');
}

/**
 * The tailseal extension line of a checkpoint (c2sp.org/tlog-checkpoint allows opaque extension
 * lines): `tailseal/v1 chain=<base64 chain head> time=<unix ms>`. It binds the linear chain head
 * and the signing time into the signed note.
 */
export function formatExtension(chainHead: Uint8Array, time: number): string {
  return `tailseal/v1 chain=${toBase64(chainHead)} time=${time}`;
}

const EXTENSION_RE = /^tailseal\/v1 chain=([A-Za-z0-9+/]{43}=) time=(0|[1-9][0-9]{0,15})$/;

/** Parses the extension line written by formatExtension; null when none of `lines` is one. */
export function parseExtension(lines: string[]): { chainHead: Uint8Array; time: number } | null {
  for (const line of lines) {
    const m = EXTENSION_RE.exec(line);
    if (!m) continue;
    const time = Number(m[2]);
    if (!Number.isSafeInteger(time)) break;
    return { chainHead: fromBase64Strict(m[1]!, 'checkpoint chain head'), time };
  }
  return null;
}

function malformed(msg: string, line: number): TailsealError {
  return new TailsealError('ENTRY_MALFORMED', `line ${line + 1}: ${msg}`, { details: { line } });
}

function field<T>(obj: Record<string, unknown>, key: string, type: 'string' | 'number', line: number): T {
  const v = obj[key];
  if (type === 'number' && typeof v === 'number' && !(Number.isSafeInteger(v) && v >= 0)) {
    // A JSON number above 2^53 - 1 may already have been rounded by the parser: refused, never guessed.
    const why = 'larger u64 values are not exact as JSON numbers';
    throw malformed(`field "${key}" must be an integer from 0 to 2^53-1 (${why})`, line);
  }
  if (typeof v !== type) throw malformed(`field "${key}" must be a ${type === 'number' ? 'number' : 'string'}`, line);
  if (type === 'string') wellFormed(v as string, key, line);
  return v as T;
}

/**
 * A lone surrogate ("\ud800" unpaired) has no UTF-8 bytes: it would be hashed as U+FFFD, so
 * the line would have a second spelling with the same leaf.
 */
function wellFormed(s: string, what: string, line: number): void {
  if (LONE_SURROGATE.test(s)) throw malformed(`field "${what}" holds a lone surrogate (not valid Unicode)`, line);
}
const LONE_SURROGATE = /\p{Cs}/u;

/** The members each kind of line has; any other member is ENTRY_MALFORMED (it would be outside the leaf hash). */
const ENTRY_MEMBERS = new Set([
  'v',
  'kind',
  'stream',
  'seq',
  'sealed_at',
  'source',
  'offset',
  'meta',
  'payload',
  'chain',
]);
const CHECKPOINT_MEMBERS = new Set(['v', 'kind', 'stream', 'note']);

function checkMembers(o: Record<string, unknown>, allowed: Set<string>, line: number): void {
  for (const k of Object.keys(o)) {
    if (allowed.has(k)) continue;
    const what = o.kind === 'checkpoint' ? 'checkpoint' : 'entry';
    throw malformed(`unknown member ${JSON.stringify(k)} (a ${what} line has only ${[...allowed].join(', ')})`, line);
  }
}

/**
 * The line must be byte for byte what tailseal writes for what was parsed from it: otherwise
 * two different texts (a duplicate member, 1e3 for 1000, a re-ordered or re-escaped field)
 * would read as one sealed record, and another JSON parser might read them differently.
 */
function checkCanonical(raw: Uint8Array, canonical: Uint8Array, line: number): void {
  if (compareBytes(raw, canonical) === 0) return;
  let at = 0;
  while (at < raw.length && raw[at] === canonical[at]) at++;
  throw malformed(
    `not in canonical form from byte ${at} on (tailseal writes each line one way only: no duplicate or ` +
      'reordered members, integers as plain digits, strings escaped as JSON.stringify does)',
    line,
  );
}

/** An entry's metadata: a non-empty JSON object of strings (an empty one would be a second spelling of "none"). */
function parseMeta(value: unknown, line: number): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw malformed('field "meta" must be a JSON object', line);
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) throw malformed('field "meta" must not be empty (omit it instead)', line);
  // No prototype: a key such as "__proto__" stays an ordinary key, as it was sealed.
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [k, v] of entries) {
    if (typeof v !== 'string') throw malformed(`field "meta.${k}" must be a string`, line);
    wellFormed(k, 'meta', line);
    wellFormed(v, `meta.${k}`, line);
    out[k] = v;
  }
  return out;
}

/** One line of an object, parsed: an entry, or the checkpoint line that closes it. */
export type ObjectLine = { entry: StoredEntry; note?: undefined } | { note: string; stream: string; entry?: undefined };

/**
 * An object's lines parsed one at a time from its uncompressed text (objectText), so a reader
 * never holds all of an object's entries at once: the daemon's audit walks objects of up to
 * checkpoint.max_bytes while it runs, and holding each one's entries raised its RSS by ~80 MB.
 * Every field is attacker-controlled; the checks and errors are parseObjectText's, which collects it.
 */
export function* objectLines(text: Uint8Array, firstLine = 0): Generator<ObjectLine> {
  // Checked first, as a whole-object property: a cut-off object is reported as such.
  if (text.length > 0 && text[text.length - 1] !== 0x0a) {
    let lines = 1;
    for (let p = text.indexOf(0x0a); p >= 0; p = text.indexOf(0x0a, p + 1)) lines++;
    throw malformed('object does not end with a newline (truncated write?)', lines - 1);
  }
  let noteSeen = false;
  // 0x0a never occurs inside a multi-byte UTF-8 sequence, so decoding line by line gives the
  // same text as decoding the whole object.
  for (let p = 0, i = firstLine; p < text.length; i++) {
    const start = p;
    const nl = text.indexOf(0x0a, p);
    let lineText: string;
    try {
      lineText = STRICT_DECODER.decode(text.subarray(p, nl));
    } catch {
      throw malformed('not valid UTF-8', i);
    }
    p = nl + 1;
    let obj: unknown;
    try {
      obj = JSON.parse(lineText);
    } catch {
      throw malformed('not valid JSON', i);
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw malformed('not a JSON object', i);
    const o = obj as Record<string, unknown>;
    if (o.v !== OBJECT_FORMAT_VERSION) {
      const v = JSON.stringify(o.v);
      throw malformed(
        `unsupported format version ${v}: "v" is the line format version, 1 on every line ` +
          '(the envelope version, 1 or 2, follows from "meta")',
        i,
      );
    }
    if (noteSeen) throw malformed('line after the checkpoint line', i);
    const raw = text.subarray(start, p);
    if (o.kind === 'checkpoint') {
      noteSeen = true;
      checkMembers(o, CHECKPOINT_MEMBERS, i);
      const cp = { note: field<string>(o, 'note', 'string', i), stream: field<string>(o, 'stream', 'string', i) };
      checkCanonical(raw, encodeCheckpointLine(cp.stream, cp.note), i);
      yield cp;
      continue;
    }
    checkMembers(o, ENTRY_MEMBERS, i);
    const payload = field<string>(o, 'payload', 'string', i);
    const envelope: Envelope = {
      kind: parseKind(o.kind),
      stream: field<string>(o, 'stream', 'string', i),
      seq: field<number>(o, 'seq', 'number', i),
      sealedAt: field<number>(o, 'sealed_at', 'number', i),
      source: field<string>(o, 'source', 'string', i),
      offset: field<number>(o, 'offset', 'number', i),
      payload: ENCODER.encode(payload),
    };
    if (o.meta !== undefined) envelope.meta = parseMeta(o.meta, i);
    const chainHex = field<string>(o, 'chain', 'string', i);
    if (!/^[0-9a-f]{64}$/.test(chainHex)) throw malformed('field "chain" must be 64 lower-case hex digits', i);
    const chain = fromHex(chainHex);
    // The bytes are compared (for the message) only when the texts differ.
    if (lineText !== entryLineText(envelope, chainHex, payload))
      checkCanonical(raw, encodeEntryLine(envelope, chain), i);
    yield { entry: { envelope, chain, line: i } };
  }
}

/**
 * An object's number of lines and its last line, parsed with every check objectLines makes, without
 * parsing the lines before it: what the verifier needs of each object before it walks them (the walk
 * parses every line, with the same checks). Null for an empty object. Parsing each line once instead
 * of twice took a verify of a million entries from 21 to 14 s of CPU.
 */
export function objectTail(text: Uint8Array): { lines: number; last: ObjectLine | null } {
  if (text.length === 0) return { lines: 0, last: null };
  // Not ending in a newline: objectLines reports the cut-off object, as for the walk.
  if (text[text.length - 1] !== 0x0a) objectLines(text).next();
  let lines = 0;
  for (let p = text.indexOf(0x0a); p >= 0; p = text.indexOf(0x0a, p + 1)) lines++;
  const start = text.lastIndexOf(0x0a, text.length - 2) + 1;
  const last = objectLines(text.subarray(start), lines - 1).next();
  return { lines, last: last.done ? null : last.value };
}

/** Parses a whole object's uncompressed text (objectText). Every field is attacker-controlled. */
export function parseObjectText(text: Uint8Array): ParsedObject {
  const out: ParsedObject = { entries: [], note: null, stream: null };
  for (const line of objectLines(text)) {
    if (line.entry) out.entries.push(line.entry);
    else {
      out.note = line.note;
      out.stream = line.stream;
    }
  }
  return out;
}

/** Parses a whole stored object (gzip detected by its magic bytes, bounded by `maxBytes`). */
export async function parseObject(
  bytes: Uint8Array,
  maxBytes = DEFAULT_MAX_OBJECT_BYTES,
  gunzip: Gunzip = gunzipWeb,
): Promise<ParsedObject> {
  return parseObjectText(await objectText(bytes, maxBytes, gunzip));
}
