// The auditor's index (src/cli/index-db.ts, index-update.ts) over store directories: its schema
// migrations, a first build that verifies everything and later runs that read only new objects,
// leaf hashes and decision ids as a full pass sees them, a failing store or a crash mid-run that
// leaves the index as it was, and INDEX_STALE for an indexed object changed or removed since.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { INDEX_VERSION, ProveIndex } from '../../../src/cli/index-db.js';
import { updateIndex } from '../../../src/cli/index-update.js';
import { NODE_VERIFY } from '../../../src/seal/gzip.js';
import { fileStoreReader } from '../../../src/sinks/file/reader.js';
import type { ObjectReader } from '../../../src/trail/verify-trail.js';
import { verifyTrail } from '../../../src/trail/verify-trail.js';
import {
  type BuiltTrail,
  buildTrail,
  decisionLine,
  editObject,
  objectPath,
  tempDir,
  writeObject,
} from '../../helpers/trail.js';

const cleanups: (() => void)[] = [];
after(() => cleanups.forEach((c) => c()));

/** A trail of 3 + 2 entries, a heartbeat, then 4 more (reusing decision 1's id at seq 7). */
function trail(): BuiltTrail {
  const records = Array.from({ length: 9 }, (_, i) => decisionLine(i === 7 ? 1 : i, `-${i}`));
  const t = buildTrail({ records, plan: [3, 2, 'heartbeat', 4] });
  cleanups.push(t.cleanup);
  return t;
}

function indexFile(): string {
  const dir = tempDir('tailseal-index-');
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'audit.index');
}

/** Opens the index, runs one update over `reader`, closes it. */
async function update(file: string, t: BuiltTrail, reader: ObjectReader = fileStoreReader(t.dir)) {
  const idx = ProveIndex.open(file);
  try {
    return await updateIndex(idx, reader, [t.key.verifier]);
  } finally {
    idx.close();
  }
}

function counts(file: string) {
  const idx = ProveIndex.open(file);
  try {
    return idx.counts();
  } finally {
    idx.close();
  }
}

const ID1 = '00000000-0000-4000-8000-000000000001';

describe('the auditor index', () => {
  it('migrates a new file to the current version, reopens it, and refuses a newer or a broken one', () => {
    const file = indexFile();
    ProveIndex.open(file).close();
    ProveIndex.open(file).close();
    const db = new Database(file);
    assert.equal(db.pragma('user_version', { simple: true }), INDEX_VERSION);
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[])
      .map((r) => r.name)
      .sort();
    assert.deepEqual(tables, ['decisions', 'objects', 'streams']);
    db.pragma(`user_version = ${INDEX_VERSION + 1}`);
    db.close();
    assert.throws(() => ProveIndex.open(file), { code: 'STATE_VERSION' });
    const junk = indexFile();
    writeFileSync(junk, 'not an SQLite database, but long enough to be read as one by mistake '.repeat(20));
    assert.throws(() => ProveIndex.open(junk), { code: 'STATE_CORRUPT' });
  });

  it('builds once, then reads only new objects; leaves and decision ids are what a full pass sees', async () => {
    const t = trail();
    const last = t.objectNames.at(-1)!;
    const body = t.objects.at(-1)!.body;
    rmSync(objectPath(t.dir, last));
    const file = indexFile();
    const first = await update(file, t);
    assert.deepEqual([first.objectsRead, first.objectsSkipped, first.entriesIndexed], [3, 0, 5]);
    writeObject(t.dir, last, body);
    const second = await update(file, t);
    assert.deepEqual([second.objectsRead, second.objectsSkipped, second.entriesIndexed], [1, 3, 4]);
    const third = await update(file, t);
    assert.deepEqual([third.objectsRead, third.objectsSkipped, third.entriesIndexed], [0, 4, 0]);
    assert.deepEqual(counts(file), { objects: 4, decisions: 9, entries: 9 });

    const full: Uint8Array[] = [];
    await verifyTrail(fileStoreReader(t.dir), {
      verifiers: [t.key.verifier],
      ...NODE_VERIFY,
      onEntry: (_o, _e, leaf) => full.push(leaf),
    });
    const idx = ProveIndex.open(file);
    try {
      const [s] = idx.streams();
      const origin = `${t.origin}/${t.stream}`;
      assert.equal(s!.origin, origin);
      assert.deepEqual([s!.resume.size, s!.newest.size, s!.newest.note], [9, 9, t.latestNote]);
      assert.deepEqual(idx.leaves(s!.id, 9), full);
      assert.deepEqual(idx.leaves(s!.id, 4), full.slice(0, 4));
      assert.deepEqual(idx.findDecision(ID1), [
        { origin, seq: 1 },
        { origin, seq: 7 },
      ]);
      assert.deepEqual(idx.findDecision('no-such-id'), []);
      const at = idx.objectAt(s!.id, 6)!;
      assert.deepEqual([at.name, at.firstSeq, at.leaves.length], [last, 5, 4 * 32]);
    } finally {
      idx.close();
    }
  });

  it('a failing store leaves the index as it was: the first build, and a later run', async () => {
    const t = trail();
    editObject(t.dir, t.objectNames[1]!, (lines) => [lines[0]!.replace('-3', '-X'), ...lines.slice(1)]);
    const file = indexFile();
    await assert.rejects(update(file, t), { code: 'ENTRY_ALTERED' });
    assert.deepEqual(counts(file), { objects: 0, decisions: 0, entries: 0 });

    const u = trail();
    const last = u.objectNames.at(-1)!;
    editObject(u.dir, last, (lines) => [lines[1]!, lines[0]!, ...lines.slice(2)]);
    const later = indexFile();
    rmSync(objectPath(u.dir, last));
    await update(later, u);
    const before = counts(later);
    writeObject(u.dir, last, u.objects.at(-1)!.body);
    editObject(u.dir, last, (lines) => [lines[1]!, lines[0]!, ...lines.slice(2)]);
    await assert.rejects(update(later, u), { code: 'ENTRY_REORDERED' });
    assert.deepEqual(counts(later), before);
  });

  it('a process killed mid-run leaves the index as the last good run left it; the next run completes it', async () => {
    const t = trail();
    const later = t.objects.slice(1);
    for (const o of later) rmSync(objectPath(t.dir, o.name));
    const file = indexFile();
    await update(file, t);
    const before = counts(file);
    assert.deepEqual(before, { objects: 1, decisions: 3, entries: 3 });
    for (const o of later) writeObject(t.dir, o.name, o.body);
    // A child updates the index and is SIGKILLed by its own reader at its 5th read: the 3 new objects
    // were inspected, the first one's entries are written in the open transaction, the heartbeat is next.
    const lib = (p: string) => new URL(`../../../src/${p}`, import.meta.url).href;
    const script = `
      import { ProveIndex } from '${lib('cli/index-db.js')}';
      import { updateIndex } from '${lib('cli/index-update.js')}';
      import { fileStoreReader } from '${lib('sinks/file/reader.js')}';
      import { parseVerifierKey } from '${lib('trail/keys.js')}';
      const r = fileStoreReader(${JSON.stringify(t.dir)});
      let reads = 0;
      const reader = { list: () => r.list(), read: async (n, m) => {
        if (++reads === 5) process.kill(process.pid, 'SIGKILL');
        return r.read(n, m);
      } };
      const idx = ProveIndex.open(${JSON.stringify(file)});
      await updateIndex(idx, reader, [parseVerifierKey(${JSON.stringify(t.verifierKey)})]);
      console.log('not killed');
    `;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(child.signal, 'SIGKILL', child.stdout + child.stderr);
    assert.deepEqual(counts(file), before);
    const next = await update(file, t);
    assert.deepEqual([next.objectsRead, next.entriesIndexed], [3, 6]);
    assert.deepEqual(counts(file), { objects: 4, decisions: 9, entries: 9 });
  });

  it('an indexed object changed (its stamp) or removed since is INDEX_STALE, before anything is read', async () => {
    const t = trail();
    const file = indexFile();
    await update(file, t);
    const path = objectPath(t.dir, t.objectNames[0]!);
    utimesSync(path, new Date(), new Date(Date.now() + 5000));
    await assert.rejects(update(file, t), { code: 'INDEX_STALE', details: { object: t.objectNames[0] } });
    rmSync(objectPath(t.dir, t.objectNames[1]!));
    const reads: string[] = [];
    const r = fileStoreReader(t.dir);
    const counting: ObjectReader = { list: () => r.list(), read: (n, m) => (reads.push(n), r.read(n, m)) };
    await assert.rejects(update(file, t, counting), { code: 'INDEX_STALE' });
    assert.deepEqual(reads, []);
  });
});
