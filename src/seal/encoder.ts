// The daemon's hot-path writer of trail objects (format: src/trail/object.ts, docs/trail-format.md):
// entry lines encoded straight into one Buffer per batch (LineBatch), and whole objects, gzip'd
// with node:zlib. Byte for byte what the trail's own encoder writes (test/unit/seal/encoder.test.ts),
// only faster: this runs once per sealed decision.
import { promisify } from 'node:util';
import { gzip, gzipSync } from 'node:zlib';
import { type Envelope } from '../trail/envelope.js';
import { OBJECT_FORMAT_VERSION, encodeCheckpointLine as encodeCheckpointBytes, objectName } from '../trail/object.js';

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
  // The parts of the last entry pushed (see pushEntry).
  private lastKind = '';
  private lastStream = '';
  private lastOpening: Buffer = Buffer.alloc(0);
  private lastSource: string | null = null;
  private lastSourcePart: Buffer = Buffer.alloc(0);

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
    // The last entry's parts first: consecutive entries nearly always share them, and the cache
    // key of the opening would be a new string per entry.
    if (e.kind !== this.lastKind || e.stream !== this.lastStream) {
      this.lastKind = e.kind;
      this.lastStream = e.stream;
      this.lastOpening = OPENINGS.get(
        `${e.kind}\n${e.stream}`,
        () =>
          `{"v":${OBJECT_FORMAT_VERSION},"kind":${JSON.stringify(e.kind)},"stream":${JSON.stringify(e.stream)},"seq":`,
      );
    }
    if (e.source !== this.lastSource) {
      this.lastSource = e.source;
      this.lastSourcePart = SOURCES.get(e.source, () => `,"source":${JSON.stringify(e.source)},"offset":`);
    }
    const opening = this.lastOpening;
    const source = this.lastSourcePart;
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

/** The final line of an object (the trail's encoder, as a Buffer). */
export function encodeCheckpointLine(stream: string, note: string): Buffer {
  const bytes = encodeCheckpointBytes(stream, note);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
