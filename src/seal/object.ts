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
// An object with no entry lines is a heartbeat: a fresh signed checkpoint while the stream is idle.
// Names are deterministic so a retried upload writes the same name with the same bytes.
import { constants as bufferConstants } from 'node:buffer';
import { promisify } from 'node:util';
import { gunzipSync, gzip, gzipSync } from 'node:zlib';
import { TailsealError } from '../errors.js';
import { type Envelope, parseKind } from './envelope.js';
import { fromBase64Strict, fromHex, toBase64 } from './hash.js';

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
 * The stored bytes and name of an object: its entry lines, then its checkpoint line, gzip'd
 * when asked. Deterministic, so a retried upload produces the same name and the same bytes.
 */
export function encodeObject(o: ObjectParts, gzip: boolean): { name: string; body: Buffer } {
  const { name, parts } = encodeObjectParts(o, gzip);
  return { name, body: parts.length === 1 ? parts[0]! : Buffer.concat(parts) };
}

const gzipInPool = promisify(gzip);

/**
 * encodeObject with the compression run in libuv's thread pool instead of on the event loop: a
 * whole object (up to checkpoint.max_bytes) takes tens of milliseconds to gzip (~70 ms per 8 MiB
 * on the benchmark VM), during which OPA's uploads, health checks and sealing would wait. Same
 * bytes as encodeObject (same zlib settings).
 */
export async function encodeObjectAsync(o: ObjectParts, compress: boolean): Promise<{ name: string; body: Buffer }> {
  if (!compress) return encodeObject(o, false);
  const { parts } = encodeObjectParts(o, false);
  return {
    name: objectName(o.stream, o.firstSeq, o.size, o.createdAt, true),
    body: await gzipInPool(Buffer.concat(parts)),
  };
}

export interface ObjectParts {
  stream: string;
  firstSeq: number;
  size: number;
  createdAt: number;
  lines: readonly Uint8Array[];
  note: string;
}

/**
 * The same bytes as encodeObject, as a list of buffers to write in order (writev), so a writer
 * that can take several buffers does not copy a whole object into one first.
 */
export function encodeObjectParts(o: ObjectParts, gzip: boolean): { name: string; parts: Buffer[] } {
  const name = objectName(o.stream, o.firstSeq, o.size, o.createdAt, gzip);
  const plain = [...(o.lines as Buffer[]), encodeCheckpointLine(o.stream, o.note)];
  return { name, parts: gzip ? [gzipSync(Buffer.concat(plain))] : plain };
}

/**
 * The largest object `tailseal verify` reads (raw, and after gunzip) unless --max-object-bytes
 * says otherwise; the daemon derives its own bound from its config (verify/limits.ts).
 */
export const DEFAULT_MAX_OBJECT_BYTES = 256 * 1024 * 1024;
/** zlib refuses a larger maxOutputLength (and no Buffer can be larger). */
const BUFFER_MAX = bufferConstants.MAX_LENGTH;

/** ENTRY_MALFORMED for an object over the read limit (a planted gzip bomb, or a huge file). */
export function objectTooLarge(what: string, maxBytes: number): TailsealError {
  const msg = `${what} more than ${maxBytes} bytes, the most an object is read to (a gzip bomb or a foreign file?)`;
  return new TailsealError('ENTRY_MALFORMED', msg, { details: { maxBytes } });
}

/**
 * The object's NDJSON without compression (gzip detected by its magic bytes). Every object is
 * attacker-controlled: gunzip stops at `maxBytes` of output (a 400 KB gzip of zeros would
 * otherwise inflate to 400 MiB in memory) and a larger text is ENTRY_MALFORMED.
 */
export function objectText(bytes: Uint8Array, maxBytes = DEFAULT_MAX_OBJECT_BYTES): Buffer {
  if (!(bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b)) {
    if (bytes.length > maxBytes) throw objectTooLarge('object holds', maxBytes);
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  }
  try {
    return gunzipSync(bytes, { maxOutputLength: Math.min(maxBytes, BUFFER_MAX) });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_BUFFER_TOO_LARGE') throw objectTooLarge('object uncompresses to', maxBytes);
    throw new TailsealError('ENTRY_MALFORMED', `object is not valid gzip: ${(err as Error).message}`, { cause: err });
  }
}

// The entry line is {v, kind, stream, seq, sealed_at, source, offset, (meta,) payload, chain} in
// that key order, the same text as JSON.stringify of that object. It is written straight into the
// batch buffer, once per sealed decision: the fixed parts come from small caches of their bytes,
// the numbers are written as digits, the payload escaped from its bytes (no string per entry).

/** Byte caches for the parts of the line that repeat from entry to entry; cleared when large. */
class PartCache {
  private readonly m = new Map<string, Buffer>();
  get(key: string, make: () => string): Buffer {
    let b = this.m.get(key);
    if (b === undefined) {
      if (this.m.size >= 1024) this.m.clear();
      b = Buffer.from(make(), 'utf8');
      this.m.set(key, b);
    }
    return b;
  }
}
/** `{"v":1,"kind":<kind>,"stream":<stream>,"seq":` */
const OPENINGS = new PartCache();
/** `,"source":<source>,"offset":` */
const SOURCES = new PartCache();
const SEALED_AT_FIELD = Buffer.from(',"sealed_at":');
const PAYLOAD_FIELD = Buffer.from(',"payload":"');
/** `,"meta":{...},"payload":"`, or `,"payload":"` for an envelope without metadata. */
function metaAndPayloadField(meta: Envelope['meta']): Buffer {
  const text = metaText(meta);
  return text === '' ? PAYLOAD_FIELD : Buffer.from(`,${text.slice(0, -1)},"payload":"`, 'utf8');
}

/** Writes a non-negative safe integer as decimal digits into `out` at `o`; returns the end. */
function writeDigits(n: number, out: Buffer, o: number): number {
  let digits = 1;
  for (let v = n; v >= 10; v = Math.floor(v / 10)) digits++;
  const end = o + digits;
  for (let i = end - 1, v = n; i >= o; i--, v = Math.floor(v / 10)) out[i] = 0x30 + (v % 10);
  return end;
}

/** `"meta":{...},` with the pairs sorted by key, or nothing for an envelope without metadata. */
function metaText(meta: Envelope['meta']): string {
  if (meta === undefined) return '';
  const keys = Object.keys(meta);
  if (keys.length === 0) return '';
  // By UTF-8 bytes, as in the envelope: one order for both (all keys tailseal writes are ASCII,
  // where it is also the order JS sorts strings in, so lines written before keep their bytes).
  keys.sort((a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
  return `"meta":{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(meta[k])}`).join(',')}},`;
}

// How JSON.stringify writes each ASCII byte inside a string: as it is (0), as a two-character
// escape (1: " \ \b \t \n \f \r), as \u00xx (3: other control characters); 2 marks a byte over 0x7f.
// https://tc39.es/ecma262/#sec-quotejsonstring
const ESC_KIND = new Uint8Array(256);
const ESC_CHAR = new Uint8Array(256);
for (let c = 0; c < 256; c++) ESC_KIND[c] = c < 0x20 ? 3 : c >= 0x80 ? 2 : 0;
for (const [c, ch] of [
  [0x22, '"'],
  [0x5c, '\\'],
  [0x08, 'b'],
  [0x09, 't'],
  [0x0a, 'n'],
  [0x0c, 'f'],
  [0x0d, 'r'],
] as const) {
  ESC_KIND[c] = 1;
  ESC_CHAR[c] = ch.charCodeAt(0);
}
const HEX_DIGITS = Buffer.from('0123456789abcdef');

/**
 * Writes `src` JSON-escaped into `out` at `o` and returns the end, or -1 at the first byte over
 * 0x7f (the caller then escapes the decoded text instead, which is exact for any UTF-8).
 * `out` must have room for 6 bytes per input byte.
 */
function escapeAscii(src: Uint8Array, out: Buffer, o: number): number {
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    const k = ESC_KIND[c];
    if (k === 0) {
      out[o++] = c;
    } else if (k === 1) {
      out[o++] = 0x5c;
      out[o++] = ESC_CHAR[c]!;
    } else if (k === 3) {
      out[o++] = 0x5c;
      out[o++] = 0x75;
      out[o++] = 0x30;
      out[o++] = 0x30;
      out[o++] = HEX_DIGITS[c >> 4]!;
      out[o++] = HEX_DIGITS[c & 15]!;
    } else return -1;
  }
  return o;
}

/** Writes the lowercase hex of `bytes` into `out` at `o`; returns the end. */
function writeHex(bytes: Uint8Array, out: Buffer, o: number): number {
  for (let i = 0; i < bytes.length; i++) {
    out[o++] = HEX_DIGITS[bytes[i]! >> 4]!;
    out[o++] = HEX_DIGITS[bytes[i]! & 15]!;
  }
  return o;
}

const CHAIN_FIELD = Buffer.from('","chain":"');
const LINE_END = Buffer.from('"}\n');

/**
 * Bytes `payload` takes JSON-escaped in an entry line (what pushEntry writes for valid UTF-8:
 * bytes over 0x7f are kept as they are).
 */
export function escapedLength(payload: Uint8Array): number {
  let n = payload.length;
  for (let i = 0; i < payload.length; i++) {
    const k = ESC_KIND[payload[i]!];
    if (k === 1) n += 1;
    else if (k === 3) n += 5;
  }
  return n;
}

/**
 * An upper bound of an entry line's bytes besides its escaped payload, for records of `kind`
 * from `source` in `stream` without metadata: the line of an empty payload with every number
 * at its widest.
 */
export function entryLineOverhead(kind: Envelope['kind'], stream: string, source: string): number {
  const max = Number.MAX_SAFE_INTEGER;
  const widest: Envelope = { kind, stream, seq: max, sealedAt: max, source, offset: max, payload: new Uint8Array(0) };
  return encodeEntryLine(widest, new Uint8Array(32)).length;
}

/** The NDJSON line (with its "\n") that stores one entry, as bytes. */
export function encodeEntryLine(e: Envelope, chain: Uint8Array): Buffer {
  const one = new LineBatch(1024);
  one.pushEntry(e, chain);
  return Buffer.from(one.bytes());
}

/**
 * Entry lines of one batch, encoded back to back into one buffer (what the outbox appends),
 * instead of one Buffer per line. reset() reuses the memory for the next batch, so the caller
 * must be done with bytes() by then.
 */
export class LineBatch {
  private buf: Buffer;
  private len = 0;
  /** End offset of each line in bytes(). */
  readonly ends: number[] = [];

  constructor(capacity = 256 * 1024) {
    this.buf = Buffer.allocUnsafe(capacity);
  }

  reset(): void {
    this.len = 0;
    this.ends.length = 0;
  }

  /**
   * Appends the entry line of `e` with chain_n `chain`. The payload is escaped from its bytes
   * (no string of it is made: this runs once per sealed decision); one with bytes over 0x7f is
   * decoded and escaped by JSON.stringify instead, which gives the same bytes for valid UTF-8.
   */
  pushEntry(e: Envelope, chain: Uint8Array): void {
    const opening = OPENINGS.get(
      `${e.kind}\n${e.stream}`,
      () =>
        `{"v":${OBJECT_FORMAT_VERSION},"kind":${JSON.stringify(e.kind)},"stream":${JSON.stringify(e.stream)},"seq":`,
    );
    const source = SOURCES.get(e.source, () => `,"source":${JSON.stringify(e.source)},"offset":`);
    const payloadField = metaAndPayloadField(e.meta);
    // Three numbers of at most 16 digits; an escaped byte takes at most 6.
    this.reserve(
      opening.length +
        3 * 16 +
        SEALED_AT_FIELD.length +
        source.length +
        payloadField.length +
        e.payload.length * 6 +
        CHAIN_FIELD.length +
        2 * chain.length +
        LINE_END.length,
    );
    const buf = this.buf;
    let o = this.len;
    o += opening.copy(buf, o);
    o = writeDigits(e.seq, buf, o);
    o += SEALED_AT_FIELD.copy(buf, o);
    o = writeDigits(e.sealedAt, buf, o);
    o += source.copy(buf, o);
    o = writeDigits(e.offset, buf, o);
    o += payloadField.copy(buf, o);
    const escaped = escapeAscii(e.payload, buf, o);
    if (escaped >= 0) o = escaped;
    else {
      const text = JSON.stringify(
        Buffer.from(e.payload.buffer, e.payload.byteOffset, e.payload.length).toString('utf8'),
      );
      o += buf.write(text.slice(1, -1), o, 'utf8');
    }
    o += CHAIN_FIELD.copy(buf, o);
    o = writeHex(chain, buf, o);
    o += LINE_END.copy(buf, o);
    this.len = o;
    this.ends.push(o);
  }

  private reserve(bytes: number): void {
    const need = this.len + bytes;
    if (need > this.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(need, this.buf.length * 2));
      this.buf.copy(bigger, 0, 0, this.len);
      this.buf = bigger;
    }
  }

  /** The lines so far (a view: valid until the next reset()). */
  bytes(): Buffer {
    return this.buf.subarray(0, this.len);
  }

  /** Line i (a view, like bytes()). */
  line(i: number): Buffer {
    return this.buf.subarray(i === 0 ? 0 : this.ends[i - 1], this.ends[i]);
  }
}

/** The final line of an object. */
export function encodeCheckpointLine(stream: string, note: string): Buffer {
  return Buffer.from(JSON.stringify({ v: OBJECT_FORMAT_VERSION, kind: 'checkpoint', stream, note }) + '\n', 'utf8');
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
  // (A payload is re-encoded from its bytes by the canonical check, which catches it there.)
  if (type === 'string' && key !== 'payload') wellFormed(v as string, key, line);
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
 * Re-encodes a parsed entry line of up to 16 KiB here (one buffer for every check: objectLines
 * runs it between yields); a longer one gets its own, so no large buffer stays behind.
 */
const CANONICAL = new LineBatch(128 * 1024);
const canonicalBatch = (rawLength: number): LineBatch => (rawLength <= 16_384 ? CANONICAL : new LineBatch(0));

/**
 * The line must be byte for byte what tailseal writes for what was parsed from it: otherwise
 * two different texts (a duplicate member, 1e3 for 1000, a re-ordered or re-escaped field)
 * would read as one sealed record, and another JSON parser might read them differently.
 */
function checkCanonical(raw: Uint8Array, canonical: Uint8Array, line: number): void {
  if (Buffer.compare(raw, canonical) === 0) return;
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
 * An object's lines parsed one at a time (gzip detected by its magic bytes), so a reader never
 * holds all of an object's entries at once: the daemon's audit walks objects of up to
 * checkpoint.max_bytes while it runs, and holding each one's entries raised its RSS by ~80 MB.
 * Every field is attacker-controlled; the checks and errors are parseObject's, which collects it.
 */
export function* objectLines(bytes: Uint8Array, maxBytes = DEFAULT_MAX_OBJECT_BYTES): Generator<ObjectLine> {
  const text = objectText(bytes, maxBytes);
  // Checked first, as a whole-object property: a cut-off object is reported as such.
  if (text.length > 0 && text[text.length - 1] !== 0x0a) {
    let lines = 1;
    for (let p = text.indexOf(0x0a); p >= 0; p = text.indexOf(0x0a, p + 1)) lines++;
    throw malformed('object does not end with a newline (truncated write?)', lines - 1);
  }
  let noteSeen = false;
  // 0x0a never occurs inside a multi-byte UTF-8 sequence, so decoding line by line gives the
  // same text as decoding the whole object.
  for (let p = 0, i = 0; p < text.length; i++) {
    const start = p;
    const nl = text.indexOf(0x0a, p);
    const lineText = text.toString('utf8', p, nl);
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
    const envelope: Envelope = {
      kind: parseKind(o.kind),
      stream: field<string>(o, 'stream', 'string', i),
      seq: field<number>(o, 'seq', 'number', i),
      sealedAt: field<number>(o, 'sealed_at', 'number', i),
      source: field<string>(o, 'source', 'string', i),
      offset: field<number>(o, 'offset', 'number', i),
      payload: Buffer.from(field<string>(o, 'payload', 'string', i), 'utf8'),
    };
    if (o.meta !== undefined) envelope.meta = parseMeta(o.meta, i);
    const chainHex = field<string>(o, 'chain', 'string', i);
    if (!/^[0-9a-f]{64}$/.test(chainHex)) throw malformed('field "chain" must be 64 lower-case hex digits', i);
    const chain = fromHex(chainHex);
    const batch = canonicalBatch(raw.length);
    batch.reset();
    batch.pushEntry(envelope, chain);
    checkCanonical(raw, batch.bytes(), i);
    yield { entry: { envelope, chain, line: i } };
  }
}

/** Parses a whole object (gzip detected by its magic bytes). Every field is attacker-controlled. */
export function parseObject(bytes: Uint8Array): ParsedObject {
  const out: ParsedObject = { entries: [], note: null, stream: null };
  for (const line of objectLines(bytes)) {
    if (line.entry) out.entries.push(line.entry);
    else {
      out.note = line.note;
      out.stream = line.stream;
    }
  }
  return out;
}
