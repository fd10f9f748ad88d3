// Rotation with real renames and truncations while the real daemon runs: every decision line
// is sealed exactly once.
import assert from 'node:assert/strict';
import {
  appendFileSync,
  closeSync,
  copyFileSync,
  openSync,
  renameSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import {
  type DaemonProc,
  type Workspace,
  makeWorkspace,
  startDaemon,
  stopDaemon,
  storeEntries,
  storedDecisions,
  verifyStore,
  waitFor,
} from '../helpers/daemon.js';
import { decisionLine, prng } from '../helpers/opa-sample.js';

const rnd = prng(11);
let n = 0;
/** `count` fresh decision lines (each unique: its own decision_id and req_id). */
function lines(count: number): string[] {
  return Array.from({ length: count }, () => decisionLine(n++, rnd));
}
const text = (ls: string[]) => ls.map((l) => l + '\n').join('');

function assertExactlyOnce(w: Workspace, written: string[]): void {
  const stored = storedDecisions(w.storeDir);
  assert.equal(stored.length, written.length, 'as many entries as decision lines written');
  assert.deepEqual([...stored].sort(), [...written].sort(), 'each written line exactly once');
  const seqs = storeEntries(w.storeDir).map((e) => e.seq);
  assert.deepEqual(
    seqs,
    seqs.map((_, i) => i),
  );
}

describe('rotation', () => {
  let w: Workspace;
  let d: DaemonProc;
  afterEach(() => {
    d?.child.kill('SIGKILL');
    w?.cleanup();
  });

  it('rename-and-create: lines the writer appends to the renamed file are still read; new files are picked up', async () => {
    w = makeWorkspace();
    const log = join(w.opaDir, 'a.log');
    const written: string[] = [];
    d = startDaemon(w);
    // The writer holds its descriptor across the rename, as OPA's stderr redirection does.
    const fd = openSync(log, 'a');
    const first = lines(100);
    writeSync(fd, text(first));
    written.push(...first);
    await waitFor(() => storedDecisions(w.storeDir).length >= 1, 'reading to start');
    renameSync(log, join(w.opaDir, 'a.log.1'));
    const late = lines(20);
    writeSync(fd, text(late)); // lands in a.log.1
    written.push(...late);
    closeSync(fd);
    const next = lines(100);
    appendFileSync(log, text(next)); // a new a.log
    written.push(...next);
    const other = lines(7);
    appendFileSync(join(w.opaDir, 'brand-new.log'), text(other)); // a new file matching the glob
    written.push(...other);
    await waitFor(() => storedDecisions(w.storeDir).length === written.length, `${written.length} decisions`);
    assert.equal(await stopDaemon(d), 0);
    assertExactlyOnce(w, written);
    assert.equal(verifyStore(w).status, 0);
  });

  it('copytruncate: the file is read again from the start after truncation', async () => {
    w = makeWorkspace();
    const log = join(w.opaDir, 'b.log');
    const written: string[] = [];
    const first = lines(50);
    appendFileSync(log, text(first));
    written.push(...first);
    d = startDaemon(w);
    await waitFor(() => storedDecisions(w.storeDir).length === 50, 'the first 50 decisions');
    copyFileSync(log, join(w.opaDir, 'b.log.1')); // logrotate's copy (not matched by *.log)
    truncateSync(log, 0);
    await new Promise((r) => setTimeout(r, 200)); // a quiet period after the truncation
    const next = lines(30);
    appendFileSync(log, text(next));
    written.push(...next);
    await waitFor(() => storedDecisions(w.storeDir).length === 80, '80 decisions');
    assert.equal(await stopDaemon(d), 0);
    assertExactlyOnce(w, written);
    assert.equal(verifyStore(w).status, 0);
  });

  it('copytruncate where new content outgrows the old offset before the next poll', async () => {
    w = makeWorkspace();
    const log = join(w.opaDir, 'c.log');
    const written: string[] = [];
    const first = lines(5);
    appendFileSync(log, text(first));
    written.push(...first);
    d = startDaemon(w);
    await waitFor(() => storedDecisions(w.storeDir).length === 5, 'the first 5 decisions');
    // Truncate and write more than before in one step: size alone shows only growth; the
    // fingerprint of the first bytes shows that this is new content.
    const next = lines(40);
    truncateSync(log, 0);
    appendFileSync(log, text(next));
    written.push(...next);
    await waitFor(() => storedDecisions(w.storeDir).length === 45, '45 decisions');
    assert.equal(await stopDaemon(d), 0);
    assertExactlyOnce(w, written);
  });

  it('a file rotated while the daemon is stopped is finished, and the new one read from 0', async () => {
    w = makeWorkspace({ glob: '*.log*' });
    const log = join(w.opaDir, 'd.log');
    const written: string[] = [];
    const first = lines(30);
    appendFileSync(log, text(first));
    written.push(...first);
    d = startDaemon(w);
    await waitFor(() => storedDecisions(w.storeDir).length === 30, 'the first 30');
    assert.equal(await stopDaemon(d), 0);
    // While stopped: more lines into the old file, rename it (still matched by the glob), new file.
    const tail = lines(10);
    appendFileSync(log, text(tail));
    renameSync(log, join(w.opaDir, 'd.log.1'));
    const fresh = lines(15);
    appendFileSync(log, text(fresh));
    written.push(...tail, ...fresh);
    d = startDaemon(w);
    await waitFor(() => storedDecisions(w.storeDir).length === 55, '55 decisions');
    assert.equal(await stopDaemon(d), 0);
    assertExactlyOnce(w, written);
  });

  it('a file first seen empty, later replaced by a new file (often on the same inode) while stopped, is read from 0', async () => {
    w = makeWorkspace();
    const log = join(w.opaDir, 'e.log');
    writeFileSync(log, ''); // registered with an empty fingerprint
    d = startDaemon(w);
    await waitFor(() => d.logs.some((l) => l.includes('Tailing file.')), 'the empty file to be picked up');
    const first = lines(3);
    appendFileSync(log, text(first));
    await waitFor(() => storedDecisions(w.storeDir).length === 3, 'the first 3');
    assert.equal(await stopDaemon(d), 0);
    const before = statSync(log).ino;
    rmSync(log);
    const second = lines(8); // longer than the first file: a stale offset would skip its start
    writeFileSync(log, text(second));
    const reused = statSync(log).ino === before;
    d = startDaemon(w);
    await waitFor(
      () => storedDecisions(w.storeDir).length === 11,
      `11 decisions (inode ${reused ? 'reused' : 'not reused'})`,
    );
    assert.equal(await stopDaemon(d), 0);
    assertExactlyOnce(w, [...first, ...second]);
  });

  it('copytruncate that keeps the first bytes (a banner line over 1 KiB) and regrows past the offset', async () => {
    w = makeWorkspace();
    const log = join(w.opaDir, 'f.log');
    // OPA's start-up line, padded past the 1 KiB fingerprint: the new file starts the same way.
    const banner = JSON.stringify({
      level: 'info',
      msg: 'Initializing server.',
      pad: 'b'.repeat(1500),
      time: '2026-11-29T12:00:00Z',
    });
    const first = lines(5);
    appendFileSync(log, `${banner}\n${text(first)}`);
    d = startDaemon(w);
    await waitFor(() => storedDecisions(w.storeDir).length === 5, 'the first 5');
    // Truncated and rewritten with the same banner and more lines before the next poll: neither
    // the size nor the first KiB shows it; the bytes before the old offset do.
    const next = lines(40);
    truncateSync(log, 0);
    appendFileSync(log, `${banner}\n${text(next)}`);
    await waitFor(() => storedDecisions(w.storeDir).length === 45, '45 decisions');
    assert.equal(await stopDaemon(d), 0);
    assertExactlyOnce(w, [...first, ...next]);
  });

  it('two rotations inside one poll interval (a.log -> a.log.1 -> a.log.2, new a.log): all three read fully', async () => {
    w = makeWorkspace({ glob: 'g.log*' });
    const log = join(w.opaDir, 'g.log');
    const written: string[] = [];
    const gen1 = lines(20);
    appendFileSync(log, text(gen1));
    written.push(...gen1);
    d = startDaemon(w);
    await waitFor(() => storedDecisions(w.storeDir).length === 20, 'the first generation');
    // Two rotations back to back, faster than the 50 ms poll.
    const more1 = lines(5);
    appendFileSync(log, text(more1));
    renameSync(log, join(w.opaDir, 'g.log.1'));
    const gen2 = lines(12);
    appendFileSync(log, text(gen2));
    renameSync(join(w.opaDir, 'g.log.1'), join(w.opaDir, 'g.log.2'));
    renameSync(log, join(w.opaDir, 'g.log.1'));
    const gen3 = lines(9);
    appendFileSync(log, text(gen3));
    written.push(...more1, ...gen2, ...gen3);
    await waitFor(() => storedDecisions(w.storeDir).length === written.length, `${written.length} decisions`);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await stopDaemon(d), 0);
    assertExactlyOnce(w, written);
  });

  it('two different files with identical first KiB are both read fully (no cross-file dedupe)', async () => {
    w = makeWorkspace();
    const head = JSON.stringify({ level: 'info', msg: 'Initializing server.', pad: 'h'.repeat(1200) });
    const a = lines(6);
    const b = lines(9);
    writeFileSync(join(w.opaDir, 'h1.log'), `${head}\n${text(a)}`);
    writeFileSync(join(w.opaDir, 'h2.log'), `${head}\n${text(b)}`);
    d = startDaemon(w);
    await waitFor(() => storedDecisions(w.storeDir).length === 15, '15 decisions');
    assert.equal(await stopDaemon(d), 0);
    assertExactlyOnce(w, [...a, ...b]);
  });
});
