// The audit's shutdown: stop() ends a pass between two objects instead of waiting for the whole
// trail to be read (a large store must not hold SIGTERM past the grace period).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { createLogger } from '../../../src/log.js';
import { type AuditResult, Auditor } from '../../../src/runtime/audit.js';
import { objectReadLimit } from '../../../src/runtime/read-limits.js';
import type { ObjectReader } from '../../../src/trail/verify-trail.js';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileStoreReader } from '../../../src/sinks/file/reader.js';
import { buildTrail, objectPath } from '../../helpers/trail.js';

describe('integrity audit', () => {
  it('stop() aborts a pass between objects, without a verdict', async () => {
    let reads = 0;
    const slow: ObjectReader = {
      list: async () =>
        Array.from(
          { length: 50 },
          (_, i) => `opa/${String(i).padStart(20, '0')}-${String(i).padStart(20, '0')}.ndjson`,
        ),
      read: async () => {
        reads++;
        await new Promise((r) => setTimeout(r, 100));
        return Buffer.from('{"v":1}\n');
      },
    };
    const verdicts: unknown[] = [];
    const auditor = new Auditor(
      () => [{ name: 'slow', reader: () => slow, upTo: () => new Map() }],
      () => [],
      60_000,
      60_000,
      createLogger('silent'),
      (r: unknown) => verdicts.push(r),
    );
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

  it('reads each object with its limit: a gzip bomb fails the pass with ENTRY_MALFORMED', async () => {
    const bomb = gzipSync(Buffer.alloc(8 * 1024 * 1024)); // 8 KiB that inflate to 8 MiB
    const limits: number[] = [];
    const store: ObjectReader = {
      list: async () => ['opa/00000000000000000000-00000000000000000000.ndjson.gz'],
      read: async (_name, maxBytes) => (limits.push(maxBytes), bomb),
    };
    const verdicts: AuditResult[] = [];
    const auditor = new Auditor(
      () => [{ name: 'bomb', reader: () => store, upTo: () => new Map() }],
      () => [],
      60_000,
      60_000,
      createLogger('silent'),
      (r) => verdicts.push(r),
      () => 1024 * 1024,
    );
    await auditor.runOnce();
    await auditor.stop();
    assert.deepEqual(limits, [1024 * 1024]);
    assert.equal(verdicts[0]?.error?.code, 'ENTRY_MALFORMED');
    assert.match(verdicts[0]!.error!.message, /uncompresses to more than 1048576 bytes/);
  });

  it('agrees with verify on a byte-identical copy: a warning in full and incremental passes, no failure', async () => {
    const t = buildTrail({ plan: [2, 3] });
    try {
      const verdicts: AuditResult[] = [];
      const warnings: unknown[] = [];
      const log = createLogger('silent');
      log.warn = ((obj: unknown) => void warnings.push(obj)) as typeof log.warn;
      const target = { name: 'file', reader: () => fileStoreReader(t.dir), upTo: () => new Map() };
      // Every pass after the first is incremental (full interval 1 h).
      const report = (r: AuditResult) => verdicts.push(r);
      const auditor = new Auditor(
        () => [target],
        () => [t.key.verifier],
        60_000,
        3_600_000,
        log,
        report,
      );
      await auditor.runOnce();
      mkdirSync(join(t.dir, 'audit'));
      copyFileSync(objectPath(t.dir, t.objectNames[0]!), join(t.dir, 'audit', 'copy.ndjson'));
      await auditor.runOnce();
      await auditor.stop();
      const summary = verdicts.map((v) => [v.ok, v.full, v.error?.code]);
      assert.deepEqual(summary, [
        [true, true, undefined],
        [true, false, undefined],
      ]);
      assert.deepEqual(verdicts[1]!.duplicates, [{ object: 'audit/copy.ndjson', sameAs: t.objectNames[0] }]);
      assert.equal(warnings.length, 1);
    } finally {
      t.cleanup();
    }
  });

  it('the daemon limit: 4 x (checkpoint.max_bytes + the largest batch an input makes)', () => {
    const MiB = 1024 * 1024;
    const file = { type: 'file', read_chunk_bytes: MiB, max_line_bytes: MiB } as const;
    const opa = { type: 'opa_service', max_decoded_bytes: 64 * MiB } as const;
    type LimitConfig = Parameters<typeof objectReadLimit>[0];
    const cfg = (inputs: unknown[]) => ({ checkpoint: { max_bytes: 8 * MiB }, inputs }) as LimitConfig;
    assert.equal(objectReadLimit(cfg([file])), 40 * MiB);
    assert.equal(objectReadLimit(cfg([file, opa])), 288 * MiB);
  });
});
