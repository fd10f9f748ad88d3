// The file source in process, built by its factory from a host's SourceDeps: it owns its registry (the
// host's state handle), offers its capabilities (sources/capabilities.ts) and uses the host's PathGuard
// when the host has one. Real files in a temp dir; the registry and the consumer are fakes.
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, beforeEach, describe, it } from 'node:test';
import { isTailsealError } from '../../../../src/errors.js';
import { createLogger } from '../../../../src/log.js';
import {
  type PathGuard,
  admits,
  commitsSliced,
  countsRefusals,
  expiresFinished,
  guardsPaths,
  placesAfterStateLoss,
  releases,
  reportsFileProblems,
  reportsHealth,
  reportsLag,
} from '../../../../src/sources/capabilities.js';
import { type FileInputConfig, createFileSource, fileInputSchema } from '../../../../src/sources/file/index.js';
import type { FileSource } from '../../../../src/sources/file/file-source.js';
import type { Source, SourceDeps } from '../../../../src/sources/source.js';
import { FakeConsumer, FakeRegistry } from '../../../helpers/source-fakes.js';

const root = mkdtempSync(join(tmpdir(), 'tailseal-file-source-'));
after(() => rmSync(root, { recursive: true, force: true }));

const decision = (id: string) =>
  `{"msg":"Decision Log","type":"openpolicyagent.org/decision_logs","decision_id":"${id}"}`;

let n = 0;
let dir: string;
let registry: FakeRegistry;
let consumer: FakeConsumer;
const log = createLogger('silent');

beforeEach(() => {
  dir = join(root, `case-${++n}`);
  mkdirSync(dir);
  registry = new FakeRegistry();
  consumer = new FakeConsumer(registry);
});

/** A file input over `dir`/*.log that reads only when woken (no watcher, timers far off). */
function config(extra: Record<string, unknown> = {}): FileInputConfig {
  return fileInputSchema.parse({
    name: 'in',
    type: 'file',
    paths: [join(dir, '*.log')],
    watch: false,
    poll_interval: '1h',
    scan_interval: '1h',
    ...extra,
  });
}

async function started(deps: SourceDeps, c = config()): Promise<FileSource> {
  const src = createFileSource(c, deps);
  await src.start();
  await src.idle();
  return src;
}

describe('file source: built from the host', () => {
  it('takes the host state handle as its registry, and refuses a handle that is none', () => {
    assert.throws(
      () => createFileSource(config(), { consumer, log, state: {} }),
      (err: unknown) => isTailsealError(err) && err.code === 'STATE_UNAVAILABLE',
    );
    assert.throws(() => createFileSource(config(), { consumer, log, state: undefined }), /state database/);
    const src = createFileSource(config(), { consumer, log, state: { files: registry } });
    assert.equal(src.name, 'in');
  });

  it('reads what its files hold, committing positions the registry keeps', async () => {
    const file = join(dir, 'a.log');
    writeFileSync(file, `${decision('1')}\n${decision('2')}\n`);
    const src = await started({ consumer, log, state: { files: registry } });
    try {
      assert.deepEqual(
        consumer.records().map((r) => [r.source, r.offset, r.payload]),
        [
          [file, 0, decision('1')],
          [file, decision('1').length + 1, decision('2')],
        ],
      );
      const row = [...registry.rows.values()];
      assert.equal(row.length, 1);
      assert.equal(row[0]!.offset, decision('1').length + decision('2').length + 2);
      assert.deepEqual(src.lag(), [{ path: file, bytes: 0 }]);
      appendFileSync(file, 'partial');
      src.wake();
      await src.idle();
      assert.deepEqual(src.lag(), [{ path: file, bytes: 'partial'.length }], 'lag: bytes past the committed offset');
    } finally {
      await src.close();
    }
  });

  it("uses the host's PathGuard: a protected file is not read and is reported as the file's problem", async () => {
    const mine = join(dir, 'tailseal-own.log');
    const theirs = join(dir, 'opa.log');
    writeFileSync(mine, `${decision('secret')}\n`);
    writeFileSync(theirs, `${decision('ok')}\n`);
    const host: SourceDeps & PathGuard = {
      consumer,
      log,
      state: { files: registry },
      protect: () => ({ files: [mine], dirs: [] }),
    };
    const src = await started(host);
    try {
      assert.deepEqual(
        consumer.records().map((r) => r.payload),
        [decision('ok')],
      );
      assert.deepEqual(
        src.fileProblems().map((p) => [p.path, p.code]),
        [[mine, 'FILE_PROTECTED']],
      );
      const health = src.health();
      assert.equal(health.ok, false);
      assert.match(health.detail!, /tailseal-own\.log \(FILE_PROTECTED\)/);
    } finally {
      await src.close();
    }
    // Without a PathGuard the host has nothing protected: the same file is read.
    const other = new FakeRegistry();
    const c2 = new FakeConsumer(other);
    const plain = await started({ consumer: c2, log, state: { files: other } });
    try {
      assert.deepEqual(
        c2
          .records()
          .map((r) => r.payload)
          .sort(),
        [decision('ok'), decision('secret')].sort(),
      );
    } finally {
      await plain.close();
    }
  });

  it('backpressure: a refusing consumer stops reading; a wake after it takes batches again resumes at the offset', async () => {
    const file = join(dir, 'a.log');
    writeFileSync(file, `${decision('1')}\n`);
    consumer.mode = 'refuse';
    const src = await started({ consumer, log, state: { files: registry } });
    try {
      assert.equal(consumer.committed.length, 0);
      assert.ok(consumer.refused.length >= 1);
      assert.deepEqual(src.health(), { ok: true }, 'backpressure is not an error');
      consumer.mode = 'accept';
      src.wake();
      await src.idle();
      assert.deepEqual(
        consumer.records().map((r) => [r.offset, r.payload]),
        [[0, decision('1')]],
      );
    } finally {
      await src.close();
    }
  });

  it('a failing commit pauses reading (health says why) and nothing advances; the next wake retries', async () => {
    const file = join(dir, 'a.log');
    writeFileSync(file, `${decision('1')}\n`);
    consumer.mode = 'throw';
    const src = await started({ consumer, log, state: { files: registry } });
    try {
      const h = src.health();
      assert.equal(h.ok, false);
      assert.match(h.detail!, /reading paused: state database failing/);
      assert.equal([...registry.rows.values()][0]!.offset, 0);
      consumer.mode = 'accept';
      src.wake();
      await src.idle();
      assert.deepEqual(src.health(), { ok: true });
      assert.deepEqual(
        consumer.records().map((r) => [r.offset, r.payload]),
        [[0, decision('1')]],
      );
    } finally {
      await src.close();
    }
  });
});

describe('file source: release on reload (Releaser)', () => {
  it('removed with unmatched: drop, the unread bytes of its files are sealed as out_of_scope gap records', async () => {
    const file = join(dir, 'a.log');
    writeFileSync(file, `${decision('1')}\n`);
    const src = await started({ consumer, log, state: { files: registry } }, config({ unmatched: 'drop' }));
    appendFileSync(file, `${decision('2')}\n`);
    await src.release(undefined);
    const gaps = consumer.gaps();
    assert.equal(gaps.length, 1);
    assert.equal(gaps[0]!.reason, 'out_of_scope');
    assert.equal(gaps[0]!.offset, decision('1').length + 1);
    assert.equal(gaps[0]!.length, decision('2').length + 1);
    assert.equal([...registry.rows.values()][0]!.done, true);
    await src.close(); // safe after release
  });

  it('a successor of the same kind that still covers a file leaves it at its committed offset', async () => {
    const file = join(dir, 'a.log');
    writeFileSync(file, `${decision('1')}\n`);
    const src = await started({ consumer, log, state: { files: registry } }, config({ unmatched: 'drop' }));
    appendFileSync(file, `${decision('2')}\n`);
    const before = consumer.committed.length;
    await src.release(config({ unmatched: 'drop' }));
    assert.equal(consumer.committed.length, before, 'nothing sealed: the successor reads on');
    const row = [...registry.rows.values()][0]!;
    assert.equal(row.offset, decision('1').length + 1);
    assert.equal(row.done, false);
  });
});

describe('capability guards', () => {
  const bare: Source = { name: 'bare', start: async () => {}, wake: () => {}, close: async () => {} };

  it('find what the file source offers, and nothing on a source with the core contract only', () => {
    const src = createFileSource(config(), { consumer, log, state: { files: registry } });
    const guards = [placesAfterStateLoss, releases, reportsHealth, reportsLag, reportsFileProblems, expiresFinished];
    assert.deepEqual(
      guards.map((g) => g(src)),
      guards.map(() => true),
    );
    assert.deepEqual(
      guards.map((g) => g(bare)),
      guards.map(() => false),
    );
  });

  it('find what a consumer and a host offer', () => {
    const plain = { commit: () => true };
    assert.equal(admits(plain), false);
    assert.equal(commitsSliced(plain), false);
    const rich = { commit: () => true, admit: () => 'ok' as const, commitSliced: async () => true };
    assert.equal(admits(rich), true);
    assert.equal(commitsSliced(rich), true);
    const host: SourceDeps = { consumer, log, state: { files: registry } };
    assert.equal(guardsPaths(host), false);
    assert.equal(countsRefusals(host), false);
    const richHost = { ...host, protect: () => ({ files: [], dirs: [] }), refused: () => {} };
    assert.equal(guardsPaths(richHost), true);
    assert.equal(countsRefusals(richHost), true);
  });
});
