// --min-retention compares exactly (retain-until against the signed checkpoint time, no slack)
// and says how long an object is kept in the unit the user gave.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isTailsealError } from '../../../src/errors.js';
import type { NoteVerifier } from '../../../src/trail/keys.js';
import { type ObjectReader, type RetentionReader, verifyTrail } from '../../../src/trail/verify-trail.js';
import { sealTrail } from '../../helpers/trail.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** A two-object trail in memory, each object retained until its signing time + `keptMs`. */
function lockedStore(keptMs: number): { reader: ObjectReader & RetentionReader; verifier: NoteVerifier } {
  const t = sealTrail({ plan: [2, 3], gzip: true });
  const byName = new Map(t.objects.map((o) => [o.name, o]));
  const reader: ObjectReader & RetentionReader = {
    list: async () => [...byName.keys()].sort(),
    read: async (name) => byName.get(name)!.body,
    // Stored (Last-Modified) two seconds after signing, as an upload is.
    retention: async (name) => {
      const signed = byName.get(name)!.createdAt;
      return { mode: 'COMPLIANCE', retainUntil: signed + keptMs, storedAt: signed + 2000 };
    },
  };
  return { reader, verifier: t.key.verifier };
}

async function check(keptMs: number, min: string, minMs: number): Promise<string | null> {
  const { reader, verifier } = lockedStore(keptMs);
  try {
    await verifyTrail(reader, { verifiers: [verifier], minRetentionMs: minMs, minRetentionText: min });
    return null;
  } catch (err) {
    assert.ok(isTailsealError(err, 'RETENTION_MISSING'), String(err));
    return err.message;
  }
}

describe('--min-retention', () => {
  it('is exact: 1d retention passes 1d and fails 1d + 1 ms and 25h (no hidden hour of slack)', async () => {
    assert.equal(await check(DAY, '1d', DAY), null);
    assert.equal(await check(DAY, '24h', DAY), null);
    const oneMsMore = (await check(DAY, '86400001ms', DAY + 1))!;
    assert.match(oneMsMore, /86400000ms after it was sealed .*less than the required 86400001ms$/);
    const hourMore = (await check(DAY, '25h', 25 * HOUR))!;
    assert.match(hourMore, /, 24h after it was sealed \(.*\): less than the required 25h$/);
  });

  it('says how long an object is kept in the unit the user gave, never rounded up to the requirement', async () => {
    assert.match((await check(26 * HOUR, '2d', 2 * DAY))!, /, 1\.083d after it was sealed .*than the required 2d$/);
    assert.match((await check(HOUR, '1d', DAY))!, /, 0\.041d after it was sealed .*less than the required 1d$/);
    assert.match((await check(DAY - 1, '1d', DAY))!, /, 0\.999d after it was sealed/);
    const whole = (await check(90 * 60_000, '2h', 2 * HOUR))!;
    assert.match(whole, /is retained \(COMPLIANCE\) only until \S+Z, 1\.5h after it was sealed \(\S+Z, stored \S+Z\)/);
  });
});
