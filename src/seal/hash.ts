// SHA-256 on node:crypto, for the daemon's Node.js side. The trail core hashes with noble
// (src/trail/hash.ts, pure, runs anywhere); where node:crypto measures faster it is injected:
// the sealer's leaf, chain and tree hashes and the verifier's same-object digest.
// test/unit/seal/hash.test.ts holds the two equal on leaves, chains and roots.
import { createHash, hash } from 'node:crypto';
import { type Sha256, nodeHasher } from '../trail/hash.js';

// The parts are copied into one scratch buffer and hashed with the one-shot crypto.hash: one
// call into OpenSSL instead of a Hash object, an update per part and a digest. Measured on the
// bench VM: 0.74 µs instead of 1.1 µs (createHash) and 1.3 µs (noble) for a 65-byte tree node,
// 1.25 µs instead of 1.5 µs for a 760-byte leaf. Larger inputs (rare 64 KiB decisions) stream
// through a Hash object rather than growing the scratch. Hashing is synchronous, so calls never
// share the scratch.
const SCRATCH = Buffer.allocUnsafeSlow(16 * 1024);
// The first bytes of SCRATCH as views, one per length up to 256: chain links (64 bytes) and tree
// nodes (65) take no new view per hash. With the byte-by-byte copy of small parts below, a small
// hash went from 524-555 to 429-498 ns (micro, bench VM).
const SMALL_VIEWS = Array.from({ length: 257 }, (_, n) => SCRATCH.subarray(0, n));

/** SHA-256 of the concatenation of `parts` (the trail's Sha256 signature). */
export const nodeSha256: Sha256 = (...parts) => {
  let len = 0;
  for (const p of parts) len += p.length;
  if (len > SCRATCH.length) {
    const h = createHash('sha256');
    for (const p of parts) h.update(p);
    return h.digest();
  }
  let o = 0;
  for (const p of parts) {
    const n = p.length;
    // Hashes and the leaf's prefix and header byte by byte: cheaper than a call to set() for a few bytes.
    if (n <= 64) for (let i = 0; i < n; i++) SCRATCH[o + i] = p[i]!;
    else SCRATCH.set(p, o);
    o += n;
  }
  return digestBytes(hash('sha256', len < SMALL_VIEWS.length ? SMALL_VIEWS[len]! : SCRATCH.subarray(0, len), 'binary'));
};

// The digest comes back as a 32-character latin1 ('binary') string, copied into a small on-heap
// array: crypto.hash's 'buffer' output allocates an ArrayBuffer of its own (a backing store outside
// V8's heap) for every digest, about 0.5 µs of the 0.9 µs a 65-byte hash took; this way 0.5 µs.
function digestBytes(latin1: string): Uint8Array {
  const out = new Uint8Array(latin1.length);
  for (let i = 0; i < out.length; i++) out[i] = latin1.charCodeAt(i);
  return out;
}

/** The RFC 9162 interior node hash SHA-256(0x01 || left || right) on node:crypto (trail/hash.ts hashChildren). */
export const nodeHashChildren = nodeHasher(nodeSha256);

/** Hex SHA-256 of `data` (the verifier's "same object stored twice" digest). */
export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
