// A pass opens each new object's checkpoint note twice: when it reads the object to learn its
// origin and signed checkpoint, and again when verifyTrail verifies the origin. Ed25519
// verification (noble's, in the pure trail core) is most of a pass's CPU (a profile of 1,000
// origins x 20 objects: ~75%), so a signature found valid the first time is remembered for the
// second: a digest of (key, message, signature), ~50 bytes per new object until its pass ends.
// Only valid verdicts are kept, and the same bytes under the same key verify the same way again.
import { createHash } from 'node:crypto';
import type { NoteVerifier } from '../trail/keys.js';

export class ValidSignatures {
  private readonly valid = new Set<string>();

  /** `verifiers` remembering each signature they find valid. */
  recording(verifiers: readonly NoteVerifier[]): NoteVerifier[] {
    return verifiers.map((v) => ({
      name: v.name,
      keyId: v.keyId,
      verify: (msg, sig) => {
        const ok = v.verify(msg, sig);
        if (ok) this.valid.add(digest(v, msg, sig));
        return ok;
      },
    }));
  }

  /** `verifiers` that take a remembered signature as valid, and verify any other. */
  trusting(verifiers: readonly NoteVerifier[]): NoteVerifier[] {
    return verifiers.map((v) => ({
      name: v.name,
      keyId: v.keyId,
      verify: (msg, sig) => this.valid.has(digest(v, msg, sig)) || v.verify(msg, sig),
    }));
  }
}

function digest(v: NoteVerifier, msg: Uint8Array, sig: Uint8Array): string {
  return createHash('sha256').update(`${v.name}\n${v.keyId}\n${msg.length}\n`).update(msg).update(sig).digest('base64');
}
