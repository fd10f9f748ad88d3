// Issue 15, item 6: a FIFO in the watched directory, a symlink swapped between regular files and
// a FIFO, and links to character devices. The file was checked with stat and opened later, so a
// swap in between left the reader blocked in open() for good: the input stopped silently and
// SIGTERM hung. Now files are opened non-blocking and the descriptor is checked (fstat): the
// other files are read, each special file is reported, and SIGTERM exits promptly.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { logsWith, makeWorkspace, startDaemon, storedDecisions, waitFor } from '../helpers/daemon.js';
import { decisionLine, prng } from '../helpers/opa-sample.js';

/** Points `link` at `target` in one step (rename over it), as an attacker would swap it. */
function swapLink(link: string, target: string): void {
  const tmp = `${link}.swap`;
  symlinkSync(target, tmp);
  renameSync(tmp, link);
}

describe('FIFOs and devices in the watched directory (issue 15, item 6)', () => {
  it('never blocks: the other files are read, special files are reported, SIGTERM exits promptly', async (t) => {
    if (spawnSync('mkfifo', ['--version']).status !== 0) return t.skip('mkfifo is not available');
    const w = makeWorkspace({ rotateWait: '0ms' });
    const rnd = prng(606);
    const log = join(w.opaDir, 'a.log');
    const first = decisionLine(1, rnd);
    writeFileSync(log, `${first}\n`);
    const fifo = join(w.opaDir, 'pipe.log');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    // Targets outside the glob: a FIFO, and (new inodes each time, so each one is opened anew) files.
    const hiddenFifo = join(w.root, 'fifo');
    assert.equal(spawnSync('mkfifo', [hiddenFifo]).status, 0);
    symlinkSync('/dev/zero', join(w.opaDir, 'zero.log'));
    if (existsSync('/dev/tty')) symlinkSync('/dev/tty', join(w.opaDir, 'tty.log'));
    const swapped = join(w.opaDir, 'swapped.log');
    swapLink(swapped, hiddenFifo);
    const d = startDaemon(w);
    let stopped = false;
    try {
      await waitFor(() => storedDecisions(w.storeDir).length === 1, 'a.log read');
      // Swap the link between fresh regular files and the FIFO while the input discovers and opens
      // it (the watcher reports every swap): before, an open landing on the FIFO blocked for good.
      const deadline = Date.now() + 4000;
      for (let i = 0; Date.now() < deadline; i++) {
        const file = join(w.root, `target-${i}`);
        writeFileSync(file, '');
        swapLink(swapped, file);
        await new Promise((r) => setImmediate(r));
        swapLink(swapped, hiddenFifo);
        await new Promise((r) => setTimeout(r, i % 4));
      }
      // The input still reads.
      const more = [decisionLine(2, rnd), decisionLine(3, rnd)];
      appendFileSync(log, more.map((l) => `${l}\n`).join(''));
      await waitFor(() => storedDecisions(w.storeDir).length === 3, 'lines appended after the swaps read', 15_000);
      assert.deepEqual(storedDecisions(w.storeDir), [first, ...more]);
      await waitFor(() => logsWith(d, 'A file matching').some((l) => l.path === fifo), 'the FIFO reported');
      const zero = join(w.opaDir, 'zero.log');
      const reported = logsWith(d, 'A file matching').filter((l) => l.path === fifo || l.path === zero);
      const want = [
        [fifo, 'FILE_NOT_REGULAR'],
        [zero, 'FILE_NOT_REGULAR'],
      ];
      assert.deepEqual(reported.map((l) => [l.path, l.code]).sort(), want.sort(), 'each special file once');
      // Prompt exit: bounded well below any test timeout (before, it never came).
      const started = Date.now();
      d.child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const hung = new Promise<string>((r) => (timer = setTimeout(() => r('hung'), 10_000)));
      const code = await Promise.race([d.exited, hung]);
      clearTimeout(timer);
      stopped = code !== 'hung';
      assert.equal(code, 0, 'SIGTERM exits 0 within 10 s');
      assert.ok(Date.now() - started < 10_000);
    } finally {
      if (!stopped) {
        d.child.kill('SIGKILL');
        await d.exited;
      }
    }
    w.cleanup();
  });
});
