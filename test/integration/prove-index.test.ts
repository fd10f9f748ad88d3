// The auditor's index (`tailseal index`, `prove --index`) on a real daemon's file-sink store: a
// second run reads only the objects written since the first; prove gives the same bytes with and
// without the index; an old object altered after indexing fails with INDEX_STALE, whether its
// stamp (size, mtime) shows it or only the entry read back does.
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { after, describe, it } from 'node:test';
import { RUN, docCommand } from '../docs/commands.js';
import {
  type DaemonProc,
  type Workspace,
  cli,
  docArgs,
  makeWorkspace,
  startDaemon,
  stopDaemon,
  storeEntries,
  storedDecisions,
  waitFor,
} from '../helpers/daemon.js';
import { decisionLine, prng } from '../helpers/opa-sample.js';

const REUSED = '4a3b2c1d-0020';

/** Every object file of the store, relative to it. */
function objects(dir: string, root = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? objects(join(dir, e.name), root)
      : /\.ndjson(\.gz)?$/.test(e.name)
        ? [relative(root, join(dir, e.name))]
        : [],
  );
}

const indexFile = (w: Workspace) => ({ 'audit.index': join(w.root, 'audit.index') });

type IndexJson = { ok: boolean; objects_read: number; objects_skipped: number; entries_indexed: number; code?: string };

describe('the auditor index on a real run', () => {
  let w: Workspace | undefined;
  let d: DaemonProc | undefined;
  after(() => {
    d?.child.kill('SIGKILL');
    w?.cleanup();
  });

  it('reads only new objects, proves byte-identically, and refuses a store changed under it', async () => {
    w = makeWorkspace();
    const ws = w;
    const store = ['--store', ws.storeDir, '--public-key', ws.pubFile];
    const index = ['--index', join(ws.root, 'audit.index')];
    const rnd = prng(21);
    const lines = Array.from({ length: 90 }, (_, i) => decisionLine(i, rnd));
    const reuse = (i: number) => lines[i]!.replace(/"decision_id":"[^"]+"/, `"decision_id":"${REUSED}"`);
    lines[5] = reuse(5);
    lines[70] = reuse(70);
    const log = join(ws.opaDir, 'opa.log');
    appendFileSync(log, lines.slice(0, 45).join('\n') + '\n');
    d = startDaemon(ws);
    await waitFor(() => storedDecisions(ws.storeDir).length === 45, 'the first 45 decisions stored');
    const saved = cli(['checkpoint', '--config', ws.configFile]);
    assert.equal(saved.status, 0, saved.stderr);
    const savedFile = join(ws.root, 'saved.checkpoint');
    writeFileSync(savedFile, saved.stdout);

    // First build: every object is read (the daemon may add a heartbeat meanwhile: at least those before).
    const firstObjects = objects(ws.storeDir);
    const first = cli(docArgs(docCommand(RUN.indexStore), ws, indexFile(ws)));
    assert.equal(first.status, 0, first.stdout + first.stderr);
    const read1 = Number(
      /^OK indexed \d+ new entries: read (\d+) object\(s\), 0 already indexed;/.exec(first.stdout)?.[1],
    );
    assert.ok(read1 >= firstObjects.length, first.stdout);

    appendFileSync(log, lines.slice(45).join('\n') + '\n');
    await waitFor(() => storedDecisions(ws.storeDir).length === 90, 'all 90 decisions stored');
    assert.equal(await stopDaemon(d), 0);
    const all = objects(ws.storeDir);

    // Again: only what was written since is read; a third run reads nothing.
    const second = JSON.parse(cli(['index', ...store, ...index, '--json']).stdout) as IndexJson;
    assert.equal(second.ok, true);
    assert.equal(second.objects_skipped, read1);
    assert.equal(second.objects_read, all.length - read1);
    assert.ok(second.objects_read > 0 && second.entries_indexed >= 45, JSON.stringify(second));
    const third = JSON.parse(cli(['index', ...store, ...index, '--json']).stdout) as IndexJson;
    assert.deepEqual([third.objects_read, third.objects_skipped, third.entries_indexed], [0, all.length, 0]);

    // prove with and without the index: byte-identical bundles (both occurrences of the reused id).
    const entries = storeEntries(ws.storeDir);
    const stream = entries[0]!.stream;
    const id = /"decision_id":"([^"]+)"/.exec(lines[30]!)![1]!;
    const seq = String(entries.find((e) => Buffer.from(e.payload).toString('utf8') === lines[30])!.seq);
    for (const args of [
      ['--decision-id', REUSED],
      ['--decision-id', id],
      ['--stream', stream, '--seq', seq],
      ['--consistency', '--old', savedFile],
    ]) {
      const plain = cli(['prove', ...store, ...args]);
      const indexed = cli(['prove', ...store, ...args, ...index]);
      assert.equal(plain.status, 0, plain.stdout + plain.stderr);
      assert.equal(indexed.status, 0, indexed.stdout + indexed.stderr);
      assert.equal(indexed.stdout, plain.stdout, args.join(' '));
    }
    const both = JSON.parse(cli(docArgs(docCommand(RUN.proveIndexed), ws, indexFile(ws))).stdout) as {
      proofs: unknown[];
    };
    assert.equal(both.proofs.length, 2);
    const none = cli(['prove', ...store, '--decision-id', 'no-such-id', ...index]);
    assert.equal(none.status, 1);
    assert.match(none.stderr, /NOT_FOUND/);

    // One byte of an old object changed, its mtime put back: the index cannot see it, the entry read back does.
    const holder = join(ws.storeDir, objects(ws.storeDir).sort()[0]!);
    const text = readFileSync(holder, 'utf8');
    const at = text.indexOf(REUSED);
    assert.ok(at >= 0, 'the reused id is in the first object');
    const { atime, mtime } = statSync(holder);
    writeFileSync(holder, text.slice(0, at) + 'X' + text.slice(at + 1));
    utimesSync(holder, atime, mtime);
    const stale = cli(['prove', ...store, '--decision-id', REUSED, ...index]);
    assert.equal(stale.status, 1, stale.stdout + stale.stderr);
    assert.match(stale.stdout, /^FAIL INDEX_STALE: /);
    // Its mtime changed too: the index update itself refuses, before reading anything.
    utimesSync(holder, atime, new Date(mtime.getTime() + 1000));
    const changed = JSON.parse(cli(['index', ...store, ...index, '--json']).stdout) as IndexJson;
    assert.deepEqual([changed.ok, changed.code], [false, 'INDEX_STALE']);
    // A full verify names the break itself.
    const verify = cli(['verify', ...store]);
    assert.equal(verify.status, 1);
    assert.match(verify.stdout, /ENTRY_ALTERED/);
  });
});
