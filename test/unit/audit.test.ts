// The audit's shutdown: stop() ends a pass between two objects instead of waiting for the whole
// trail to be read (a large store must not hold SIGTERM past the grace period).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '../../src/log.js';
import { Auditor } from '../../src/verify/audit.js';
import type { ObjectReader } from '../../src/verify/verify-trail.js';

describe('integrity audit', () => {
  it('stop() aborts a pass between objects, without a verdict', async () => {
    let reads = 0;
    const slow: ObjectReader = {
      list: async () => Array.from({ length: 50 }, (_, i) => `opa/${String(i).padStart(20, '0')}-${String(i).padStart(20, '0')}.ndjson`),
      read: async () => {
        reads++;
        await new Promise((r) => setTimeout(r, 100));
        return Buffer.from('{"v":1}\n');
      },
    };
    const verdicts: unknown[] = [];
    const auditor = new Auditor(() => [{ name: 'slow', reader: () => slow, upTo: () => new Map() }], () => [], 60_000, 60_000, createLogger('silent'), (r: unknown) => verdicts.push(r));
    const pass = auditor.runOnce();
    await new Promise((r) => setTimeout(r, 30));
    const t0 = Date.now();
    await auditor.stop();
    const results = await pass;
    assert.ok(Date.now() - t0 < 1000, 'stopped within one object read');
    assert.ok(reads <= 2, `read ${reads} of 50 objects`);
    assert.deepEqual(results, []);
    assert.deepEqual(verdicts, [], 'an aborted pass reports nothing (not a failure)');
  });
});
