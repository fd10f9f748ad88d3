// What a reader offers beyond list and read is asked for at runtime: a store without retention
// fails --min-retention as such, and one that keeps no versions reports no tampering.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isTailsealError } from '../../../src/errors.js';
import type { NoteVerifier } from '../../../src/trail/keys.js';
import {
  type ObjectReader,
  type TamperingReporter,
  readsRetention,
  reportsTampering,
  storeTampering,
  verifyTrail,
} from '../../../src/trail/verify-trail.js';
import type { StoreTampering } from '../../../src/trail/tampering.js';
import { sealTrail } from '../../helpers/trail.js';

function plainReader(): { reader: ObjectReader; verifier: NoteVerifier } {
  const t = sealTrail({ plan: [2] });
  const byName = new Map(t.objects.map((o) => [o.name, o]));
  const reader: ObjectReader = {
    list: async () => [...byName.keys()].sort(),
    read: async (name) => byName.get(name)!.body,
  };
  return { reader, verifier: t.key.verifier };
}

describe('object reader capabilities', () => {
  it('a reader without retention fails --min-retention: the store has none to check', async () => {
    const { reader, verifier } = plainReader();
    assert.equal(readsRetention(reader), false);
    await assert.rejects(
      verifyTrail(reader, { verifiers: [verifier], minRetentionMs: 1000 }),
      (err) => isTailsealError(err, 'RETENTION_MISSING') && /this store has no retention to check/.test(err.message),
    );
    // Without --min-retention the same store verifies.
    assert.equal((await verifyTrail(reader, { verifiers: [verifier] }))[0]!.entries, 2);
  });

  it('tampering is what a versioned store reports, and nothing for one without versions', () => {
    const { reader } = plainReader();
    assert.equal(reportsTampering(reader), false);
    assert.deepEqual(storeTampering(reader), []);
    const over: StoreTampering = {
      key: 'opa/x.ndjson',
      kind: 'version',
      versionId: 'v2',
      lastModified: '2026-01-01T00:00:00.000Z',
    };
    const versioned: ObjectReader & TamperingReporter = { ...reader, tampering: () => [over] };
    assert.equal(reportsTampering(versioned), true);
    assert.deepEqual(storeTampering(versioned), [over]);
  });
});
