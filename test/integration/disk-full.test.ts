// Issue 8, case 12: the state directory's filesystem fills up while tailseal commits. A real
// 4 MiB tmpfs (needs root and mount(8); skipped where that is not possible) filled to the last
// byte by a ballast file: reading pauses with an error log, nothing is sealed ahead of what is
// committed, and it recovers by itself once the ballast is removed. (A read-only remount is
// refused by the kernel while the database is open for writing, so "read-only" cannot be staged
// here; it fails the same commit path.)
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, closeSync, mkdirSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  logsWith,
  makeWorkspace,
  startDaemon,
  stopDaemon,
  storedDecisions,
  verifyStore,
  waitFor,
} from '../helpers/daemon.js';
import { decisionLine, prng } from '../helpers/opa-sample.js';

function tryMount(dir: string): boolean {
  mkdirSync(dir, { recursive: true });
  return spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', dir]).status === 0;
}

/** Fills the filesystem of `file` until the kernel says ENOSPC. */
function fill(file: string): void {
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  try {
    for (let i = 0; i < 1024; i++) writeSync(fd, chunk);
    assert.fail('the 4 MiB tmpfs never filled up');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
    // The last partial chunk: write single bytes until nothing fits.
    for (let i = 0; i < 65536; i++) {
      try {
        writeSync(fd, Buffer.from('a'));
      } catch {
        break;
      }
    }
  } finally {
    closeSync(fd);
  }
}

describe('state directory full (issue 8, case 12)', () => {
  const probe = makeWorkspace();
  const canMount = tryMount(join(probe.root, 'mnt'));
  if (canMount) spawnSync('umount', [join(probe.root, 'mnt')]);
  probe.cleanup();

  it(
    'disk full: reading pauses, nothing is sealed past the commit, and it recovers by itself when there is room',
    { skip: !canMount && 'needs root and mount(8) for a small tmpfs' },
    async () => {
      const w = makeWorkspace();
      // The state directory lives on its own small filesystem.
      const mnt = w.stateDir;
      assert.ok(tryMount(mnt));
      const rnd = prng(77);
      const log = join(w.opaDir, 'opa.log');
      const batch = (from: number, n: number) => Array.from({ length: n }, (_, i) => decisionLine(from + i, rnd));
      const written = batch(0, 20);
      writeFileSync(log, written.map((l) => `${l}\n`).join(''));
      const d = startDaemon(w);
      try {
        await waitFor(() => storedDecisions(w.storeDir).length === 20, 'the first 20');

        // Full: the next commits fail (SQLITE_FULL or ENOSPC on the outbox segment).
        const ballast = join(mnt, 'ballast');
        fill(ballast);
        const more = batch(100, 40);
        written.push(...more);
        appendFileSync(log, more.map((l) => `${l}\n`).join(''));
        await waitFor(() => logsWith(d, 'Reading paused').length > 0, 'reading paused on a full disk');
        assert.match(String(logsWith(d, 'Reading paused')[0]!.err), /full|ENOSPC|space/i);
        await new Promise((r) => setTimeout(r, 500));
        assert.equal(storedDecisions(w.storeDir).length, 20, 'nothing sealed while the disk is full');
        rmSync(ballast);
        await waitFor(() => storedDecisions(w.storeDir).length === 60, 'all 60 once there is room', 30_000);
        await waitFor(() => logsWith(d, 'Reading resumed').length > 0, 'reading resumed');
        // Commits keep working afterwards.
        const last = batch(200, 15);
        written.push(...last);
        appendFileSync(log, last.map((l) => `${l}\n`).join(''));
        await waitFor(() => storedDecisions(w.storeDir).length === 75, 'all 75');
      } finally {
        assert.equal(await stopDaemon(d), 0, d.logs.slice(-20).join('\n'));
        spawnSync('umount', [mnt]);
      }
      const stored = storedDecisions(w.storeDir);
      assert.deepEqual([...stored].sort(), [...written].sort(), 'every line once, byte for byte');
      const v = verifyStore(w);
      assert.equal(v.status, 0, v.stdout + v.stderr);
      w.cleanup();
    },
  );
});
