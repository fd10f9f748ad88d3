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
import { TailsealError } from './errors.js';
import { HASH_SIZE, RFC6962_LEAF_HASH_PREFIX, type Sha256, sha256 } from './hash.js';

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

const ENCODER = new TextEncoder();

// The stream and source of consecutive envelopes are nearly always the same: keep their UTF-8
// bytes instead of encoding them again for every entry (this runs once per sealed decision).
const utf8Cache = new Map<string, Uint8Array>();
function utf8(s: string): Uint8Array {
  let b = utf8Cache.get(s);
  if (b === undefined) {
    if (utf8Cache.size >= 1024) utf8Cache.clear();
    b = ENCODER.encode(s);
    utf8Cache.set(s, b);
  }
  return b;
}

/** Writes a safe integer as u64 big-endian without a BigInt (also on the hot path). */
function writeU64(out: DataView, v: number, p: number): number {
  out.setUint32(p, Math.floor(v / 0x1_0000_0000));
  out.setUint32(p + 4, v % 0x1_0000_0000);
  return p + 8;
}

/** The canonical bytes of an envelope (the layout above). */
export function encodeEnvelope(e: Envelope): Uint8Array {
  const stream = utf8(e.stream);
  const source = utf8(e.source);
  const meta = encodeMeta(e.meta);
  const len = headerLength(stream, source, meta);
  const out = new Uint8Array(len + e.payload.length);
  writeHeader(e, stream, source, meta, out);
  out.set(e.payload, len);
  return out;
}

function headerLength(stream: Uint8Array, source: Uint8Array, meta: Uint8Array | null): number {
  return 2 + 2 + stream.length + 8 + 8 + 2 + source.length + 8 + (meta?.length ?? 0) + 4;
}

/** Byte order of UTF-8 strings (memcmp, shorter first on a common prefix). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** The metadata field of a version 2 envelope; null when there is none (version 1). */
function encodeMeta(meta: Envelope['meta']): Uint8Array | null {
  if (meta === undefined) return null;
  const pairs = Object.entries(meta).map(([k, v]) => [ENCODER.encode(k), ENCODER.encode(v)] as const);
  if (pairs.length === 0) return null;
  if (pairs.length > U16_MAX)
    throw new TailsealError('ENTRY_MALFORMED', 'envelope metadata must have at most 65535 pairs');
  pairs.sort((a, b) => compareBytes(a[0], b[0]));
  let len = 2;
  for (const [k, v] of pairs) {
    if (k.length === 0 || k.length > U16_MAX)
      throw new TailsealError('ENTRY_MALFORMED', 'envelope metadata keys must be 1..65535 bytes');
    if (v.length > U32_MAX) throw new TailsealError('ENTRY_MALFORMED', 'envelope metadata values must be under 4 GiB');
    len += 2 + k.length + 4 + v.length;
  }
  const out = new Uint8Array(len);
  const view = new DataView(out.buffer);
  view.setUint16(0, pairs.length);
  let p = 2;
  for (const [k, v] of pairs) {
    view.setUint16(p, k.length);
    out.set(k, p + 2);
    p += 2 + k.length;
    view.setUint32(p, v.length);
    out.set(v, p + 4);
    p += 4 + v.length;
  }
  return out;
}

/** Writes the header fields into `out` (checked first); returns their length. */
function writeHeader(
  e: Envelope,
  stream: Uint8Array,
  source: Uint8Array,
  meta: Uint8Array | null,
  out: Uint8Array,
): number {
  if (stream.length === 0 || stream.length > U16_MAX)
    throw new TailsealError('ENTRY_MALFORMED', 'envelope stream name must be 1..65535 bytes');
  if (source.length > U16_MAX)
    throw new TailsealError('ENTRY_MALFORMED', 'envelope source must be at most 65535 bytes');
  if (e.payload.length > U32_MAX) throw new TailsealError('ENTRY_MALFORMED', 'envelope payload must be under 4 GiB');
  checkU64(e.seq, 'seq');
  checkU64(e.sealedAt, 'sealed_at');
  checkU64(e.offset, 'offset');
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  let p = 0;
  out[p++] = meta ? ENVELOPE_VERSION_META : ENVELOPE_VERSION;
  out[p++] = KIND_CODES[e.kind];
  view.setUint16(p, stream.length);
  out.set(stream, p + 2);
  p += 2 + stream.length;
  p = writeU64(view, e.seq, p);
  p = writeU64(view, e.sealedAt, p);
  view.setUint16(p, source.length);
  out.set(source, p + 2);
  p += 2 + source.length;
  p = writeU64(view, e.offset, p);
  if (meta) {
    out.set(meta, p);
    p += meta.length;
  }
  view.setUint32(p, e.payload.length);
  return p + 4;
}

// Scratch space for the header while hashing (sealing runs once per decision; the hasher copies
// the bytes in at once, so one buffer serves every call). Grown for long names.
let headerScratch = new Uint8Array(1024);

/**
 * leaf_n: the RFC 9162 leaf hash of the envelope's canonical bytes. `hash` is the SHA-256 to use
 * (the trail's noble one unless the caller injects a faster one, e.g. the sealer node:crypto's).
 */
export function envelopeLeafHash(e: Envelope, hash: Sha256 = sha256): Uint8Array {
  // = hashLeaf(encodeEnvelope(e)), hashed in parts so the payload is never copied.
  const stream = utf8(e.stream);
  const source = utf8(e.source);
  const meta = encodeMeta(e.meta);
  const len = headerLength(stream, source, meta);
  if (len > headerScratch.length) headerScratch = new Uint8Array(len);
  writeHeader(e, stream, source, meta, headerScratch);
  return hash(LEAF_PREFIX, headerScratch.subarray(0, len), e.payload);
}

const LEAF_PREFIX = Uint8Array.of(RFC6962_LEAF_HASH_PREFIX);

/** chain_n = SHA-256(chain_{n-1} || leaf_n); `hash` as in envelopeLeafHash. */
export function nextChain(previous: Uint8Array, leafHash: Uint8Array, hash: Sha256 = sha256): Uint8Array {
  return hash(previous, leafHash);
}

/** Parses a kind name from the stored JSON; anything else is malformed. */
export function parseKind(value: unknown): RecordKind {
  if (value === 'decision' || value === 'gap') return value;
  throw new TailsealError('ENTRY_MALFORMED', `unknown record kind ${JSON.stringify(value)}`);
}
