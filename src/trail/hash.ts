// Hashing and byte encodings shared by the Merkle tree, the signed notes and the checkpoints.
// One place for SHA-256 and for the RFC 6962 domain separation, so no other file hashes by hand.
// Pure: SHA-256 is noble's, the codecs work on Uint8Array (no Buffer, no node:crypto), so the trail
// runs in a browser too. The daemon's sealer injects node:crypto where it measures faster (src/seal/hash.ts).
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { TailsealError, type TrailErrorCode } from './errors.js';

// HASH_SIZE is the output size of SHA-256, the only hash tailseal uses (RFC 9162 §2.1 with HASH = SHA-256).
export const HASH_SIZE = 32;

// RFC6962_LEAF_HASH_PREFIX is prepended to leaf data before hashing, so that a leaf can never be
// confused with an interior node (second-preimage protection).
// https://www.rfc-editor.org/rfc/rfc9162#section-2.1.1
export const RFC6962_LEAF_HASH_PREFIX = 0x00;

// RFC6962_NODE_HASH_PREFIX is prepended to the two child hashes of an interior node.
// https://www.rfc-editor.org/rfc/rfc9162#section-2.1.1
export const RFC6962_NODE_HASH_PREFIX = 0x01;

const LEAF_PREFIX = Uint8Array.of(RFC6962_LEAF_HASH_PREFIX);
const NODE_PREFIX = Uint8Array.of(RFC6962_NODE_HASH_PREFIX);

// One hasher reused for every digest: sealing hashes three or more times per decision, and a new
// noble hasher allocates a block buffer and a DataView each time (a measured share of the sealing
// CPU). PRISTINE is never updated; _cloneInto resets SCRATCH to the initial state in place.
// Hashing is synchronous, so the two cannot interleave.
const PRISTINE = nobleSha256.create();
const SCRATCH = nobleSha256.create();

// The digest is written into an array with an ArrayBuffer of its own, then copied out. noble's
// digestInto takes a DataView of its output; a 32-byte `new Uint8Array` lives on V8's heap, and
// asking for its .buffer moves it off the heap first: that alone was 8% of the backlog's CPU.
const DIGEST = new Uint8Array(new ArrayBuffer(HASH_SIZE));

// sha256 hashes the concatenation of `parts` incrementally, without copying them into one buffer.
export function sha256(...parts: Uint8Array[]): Uint8Array {
  const h = PRISTINE._cloneInto(SCRATCH);
  for (const part of parts) h.update(part);
  h.digestInto(DIGEST);
  return DIGEST.slice();
}

/** A SHA-256 over the concatenation of its parts (sha256 here; callers may inject a native one). */
export type Sha256 = (...parts: Uint8Array[]) => Uint8Array;

// sha256Hex is a SHA-256 hex digest for telling two byte strings apart (the verifier's "same
// object stored twice"), nothing the trail commits to. The Node.js side injects node:crypto's
// (VerifyOptions.digest), about ten times noble's speed over every byte a verify reads.
export function sha256Hex(data: Uint8Array): string {
  return bytesToHex(nobleSha256(data));
}

// hashLeaf is the RFC 9162 leaf hash SHA-256(0x00 || data).
// https://www.rfc-editor.org/rfc/rfc9162#section-2.1.1
export function hashLeaf(data: Uint8Array): Uint8Array {
  return sha256(LEAF_PREFIX, data);
}

// hashChildren is the RFC 9162 interior node hash SHA-256(0x01 || left || right).
// https://www.rfc-editor.org/rfc/rfc9162#section-2.1.1
export function hashChildren(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256(NODE_PREFIX, left, right);
}

/** hashChildren on another SHA-256 (node:crypto's on Node.js): the same node hash, computed by `hash`. */
export function nodeHasher(hash: Sha256): (left: Uint8Array, right: Uint8Array) => Uint8Array {
  return (left, right) => hash(NODE_PREFIX, left, right);
}

// EMPTY_ROOT is the root of the empty tree, SHA-256 of no bytes (RFC 9162 §2.1.1: MTH({}) = HASH()).
// Shared constant: never mutate it; copy it before handing it to code that might.
export const EMPTY_ROOT: Uint8Array = sha256();

// toHex encodes bytes as lowercase hex (the form used in test vectors and logs).
export function toHex(bytes: Uint8Array): string {
  return bytesToHex(bytes);
}

// fromHex decodes an even-length hex string; it throws a plain Error on bad input because hex only
// appears in trusted places (vectors, config digests), never in attacker-supplied notes.
export function fromHex(hex: string): Uint8Array {
  return hexToBytes(hex);
}

// toBase64 encodes bytes as standard padded base64 (RFC 4648 §4), the encoding of
// https://c2sp.org/signed-note and https://c2sp.org/tlog-checkpoint.
export function toBase64(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = bytes.length - i;
    const v = (bytes[i]! << 16) | ((n > 1 ? bytes[i + 1]! : 0) << 8) | (n > 2 ? bytes[i + 2]! : 0);
    out += B64[v >> 18]! + B64[(v >> 12) & 63]! + (n > 1 ? B64[(v >> 6) & 63]! : '=') + (n > 2 ? B64[v & 63]! : '=');
  }
  return out;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_VALUE = new Map([...B64].map((c, i) => [c, i]));
const B64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

// fromBase64Strict decodes standard padded base64 (RFC 4648 §4) and rejects every other spelling
// (missing padding, URL-safe alphabet, whitespace, non-zero trailing bits): the input must be exactly
// what toBase64 would produce. A lenient decoder would let two different strings carry the same
// bytes, which a verifier of signed text must not allow. `what` names the field in the error
// message; the input itself is never echoed, since it may be key material. The error code defaults
// to ENTRY_MALFORMED; parsers of notes, keys and checkpoints pass their own.
export function fromBase64Strict(s: string, what: string, code: TrailErrorCode = 'ENTRY_MALFORMED'): Uint8Array {
  const bad = () => new TailsealError(code, `${what}: not canonical standard base64`);
  if (!B64_RE.test(s)) throw bad();
  const pad = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
  const out = new Uint8Array((s.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < s.length; i += 4) {
    let v = 0;
    for (let j = 0; j < 4; j++) v = (v << 6) | (B64_VALUE.get(s[i + j]!) ?? 0);
    for (const shift of [16, 8, 0]) if (o < out.length) out[o++] = (v >> shift) & 0xff;
  }
  // Non-zero bits after the last byte would give a second spelling of the same bytes.
  if (toBase64(out) !== s) throw bad();
  return out;
}

// equalBytes reports whether a and b hold the same bytes. It does not exit early on the first
// difference (hashes and signatures compared here are public, but it costs nothing).
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}
