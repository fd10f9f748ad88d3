// SHA-256 on node:crypto, for the daemon's Node.js side. The trail core hashes with noble
// (src/trail/hash.ts, pure, runs anywhere); where node:crypto measures faster it is injected:
// the sealer's leaf hash (a whole decision: ~2 µs instead of ~6.5 µs for 700 bytes; noble stays
// faster for the 64-byte chain and tree hashes) and the verifier's same-object digest.
// test/unit/seal/hash.test.ts holds the two equal on leaves, chains and roots.
import { createHash } from 'node:crypto';
import type { Sha256 } from '../trail/hash.js';

/** SHA-256 of the concatenation of `parts` (the trail's Sha256 signature). */
export const nodeSha256: Sha256 = (...parts) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};

/** Hex SHA-256 of `data` (the verifier's "same object stored twice" digest). */
export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
