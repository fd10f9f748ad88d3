// The sealed envelope, format version 1, and the hash chain over it.
//
// An envelope is what tailseal commits to for every record it keeps. Its canonical bytes are a
// fixed binary layout (all integers big-endian, strings UTF-8), so that anyone can rebuild them
// from the stored JSON with a few lines of code and no JSON canonicalisation rules:
//
//   u8   version        = 1
//   u8   kind           1 = decision, 2 = gap
//   u16  len(stream)    then the stream name
//   u64  seq            0, 1, 2 ... per stream, no gaps
//   u64  sealed_at      Unix time in milliseconds when tailseal sealed the record
//   u16  len(source)    then the source (the file path the line was read from)
//   u64  offset         byte offset in that file of the line's first byte
//   u32  len(payload)   then the payload: the line's bytes exactly as OPA wrote them, without the
//                       terminating "\n"; for a gap record the UTF-8 JSON that describes the gap
//
// Format version 2 is the same with one field more, between offset and payload, used only by an
// envelope that carries metadata (where a record came from beyond the file, e.g. the Kubernetes
// pod of a container log line, or which masking rules rewrote it):
//
//   u16  count          number of metadata pairs (at least 1), then per pair, sorted by the
//                       key's UTF-8 bytes, keys unique:
//   u16  len(key)       then the key
//   u32  len(value)     then the value (UTF-8 strings both)
//
// An envelope without metadata is version 1, so the two layouts never describe the same record.
// leaf_n  = SHA-256(0x00 || envelope_n)                RFC 9162 §2.1.1 leaf hash
// chain_n = SHA-256(chain_{n-1} || leaf_n), chain_{-1} = 32 zero bytes
//
// docs/trail-format.md is the normative copy of this layout.
import { TailsealError } from '../errors.js';
import { HASH_SIZE, RFC6962_LEAF_HASH_PREFIX, sha256 } from './hash.js';

export const ENVELOPE_VERSION = 1;
/** The layout of an envelope with metadata. */
export const ENVELOPE_VERSION_META = 2;

/** Record kinds. A gap record states, inside the trail, data that could not be read. */
export type RecordKind = 'decision' | 'gap';

const KIND_CODES: Record<RecordKind, number> = { decision: 1, gap: 2 };

export interface Envelope {
  kind: RecordKind;
  stream: string;
  seq: number;
  sealedAt: number;
  source: string;
  offset: number;
  payload: Uint8Array;
  /** String pairs about the record (version 2); absent or empty: version 1. */
  meta?: Readonly<Record<string, string>> | undefined;
}

/** chain_{-1}: the chain value before the first entry of every stream. */
export const CHAIN_START: Uint8Array = new Uint8Array(HASH_SIZE);

const U16_MAX = 0xffff;
const U32_MAX = 0xffffffff;

function checkU64(value: number, field: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new TailsealError('ENTRY_MALFORMED', `envelope ${field} must be a non-negative safe integer, got ${value}`);
  }
}

// The stream and source of consecutive envelopes are nearly always the same: keep their UTF-8
// bytes instead of encoding them again for every entry (this runs once per sealed decision).
const utf8Cache = new Map<string, Buffer>();
function utf8(s: string): Buffer {
  let b = utf8Cache.get(s);
  if (b === undefined) {
    if (utf8Cache.size >= 1024) utf8Cache.clear();
    b = Buffer.from(s, 'utf8');
    utf8Cache.set(s, b);
  }
  return b;
}

/** Writes a safe integer as u64 big-endian without a BigInt (also on the hot path). */
function writeU64(out: Buffer, v: number, p: number): number {
  out.writeUInt32BE(Math.floor(v / 0x1_0000_0000), p);
  out.writeUInt32BE(v % 0x1_0000_0000, p + 4);
  return p + 8;
}

/** The canonical bytes of an envelope (the layout above). */
export function encodeEnvelope(e: Envelope): Uint8Array {
  return Buffer.concat([encodeHeader(e), e.payload]);
}

/** Every field of the canonical bytes before the payload itself (ending with its length). */
function encodeHeader(e: Envelope): Buffer {
  const stream = utf8(e.stream);
  const source = utf8(e.source);
  const meta = encodeMeta(e.meta);
  const out = Buffer.allocUnsafe(headerLength(stream, source, meta));
  writeHeader(e, stream, source, meta, out);
  return out;
}

function headerLength(stream: Buffer, source: Buffer, meta: Buffer | null): number {
  return 2 + 2 + stream.length + 8 + 8 + 2 + source.length + 8 + (meta?.length ?? 0) + 4;
}

/** The metadata field of a version 2 envelope; null when there is none (version 1). */
function encodeMeta(meta: Envelope['meta']): Buffer | null {
  if (meta === undefined) return null;
  const pairs = Object.entries(meta).map(([k, v]) => [Buffer.from(k, 'utf8'), Buffer.from(v, 'utf8')] as const);
  if (pairs.length === 0) return null;
  if (pairs.length > U16_MAX)
    throw new TailsealError('ENTRY_MALFORMED', 'envelope metadata must have at most 65535 pairs');
  pairs.sort((a, b) => Buffer.compare(a[0], b[0]));
  const parts: Buffer[] = [Buffer.from([pairs.length >> 8, pairs.length & 0xff])];
  for (const [k, v] of pairs) {
    if (k.length === 0 || k.length > U16_MAX)
      throw new TailsealError('ENTRY_MALFORMED', 'envelope metadata keys must be 1..65535 bytes');
    if (v.length > U32_MAX) throw new TailsealError('ENTRY_MALFORMED', 'envelope metadata values must be under 4 GiB');
    const head = Buffer.allocUnsafe(2);
    head.writeUInt16BE(k.length);
    const vlen = Buffer.allocUnsafe(4);
    vlen.writeUInt32BE(v.length);
    parts.push(head, k, vlen, v);
  }
  return Buffer.concat(parts);
}

/** Writes the header fields into `out` (checked first); returns their length. */
function writeHeader(e: Envelope, stream: Buffer, source: Buffer, meta: Buffer | null, out: Buffer): number {
  if (stream.length === 0 || stream.length > U16_MAX)
    throw new TailsealError('ENTRY_MALFORMED', 'envelope stream name must be 1..65535 bytes');
  if (source.length > U16_MAX)
    throw new TailsealError('ENTRY_MALFORMED', 'envelope source must be at most 65535 bytes');
  if (e.payload.length > U32_MAX) throw new TailsealError('ENTRY_MALFORMED', 'envelope payload must be under 4 GiB');
  checkU64(e.seq, 'seq');
  checkU64(e.sealedAt, 'sealed_at');
  checkU64(e.offset, 'offset');
  let p = 0;
  p = out.writeUInt8(meta ? ENVELOPE_VERSION_META : ENVELOPE_VERSION, p);
  p = out.writeUInt8(KIND_CODES[e.kind], p);
  p = out.writeUInt16BE(stream.length, p);
  p += stream.copy(out, p);
  p = writeU64(out, e.seq, p);
  p = writeU64(out, e.sealedAt, p);
  p = out.writeUInt16BE(source.length, p);
  p += source.copy(out, p);
  p = writeU64(out, e.offset, p);
  if (meta) p += meta.copy(out, p);
  return out.writeUInt32BE(e.payload.length, p);
}

// Scratch space for the header while hashing (sealing runs once per decision; the hasher copies
// the bytes in at once, so one buffer serves every call). Grown for long names.
let headerScratch = Buffer.allocUnsafe(1024);

/** leaf_n: the RFC 9162 leaf hash of the envelope's canonical bytes. */
export function envelopeLeafHash(e: Envelope): Uint8Array {
  // = hashLeaf(encodeEnvelope(e)), hashed in parts so the payload is never copied.
  const stream = utf8(e.stream);
  const source = utf8(e.source);
  const meta = encodeMeta(e.meta);
  const len = headerLength(stream, source, meta);
  if (len > headerScratch.length) headerScratch = Buffer.allocUnsafe(len);
  writeHeader(e, stream, source, meta, headerScratch);
  return sha256(LEAF_PREFIX, headerScratch.subarray(0, len), e.payload);
}

const LEAF_PREFIX = Uint8Array.of(RFC6962_LEAF_HASH_PREFIX);

/** chain_n = SHA-256(chain_{n-1} || leaf_n). */
export function nextChain(previous: Uint8Array, leafHash: Uint8Array): Uint8Array {
  return sha256(previous, leafHash);
}

/** Parses a kind name from the stored JSON; anything else is malformed. */
export function parseKind(value: unknown): RecordKind {
  if (value === 'decision' || value === 'gap') return value;
  throw new TailsealError('ENTRY_MALFORMED', `unknown record kind ${JSON.stringify(value)}`);
}
