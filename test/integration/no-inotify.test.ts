// Without file events (watch: false: network filesystems, overlay mounts, an exhausted inotify
// limit), directory scans and stat polling alone still see new files, growth, rename rotation,
// truncation and deletion.
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { makeWorkspace, startDaemon, stopDaemon, storedDecisions, verifyStore, waitFor } from '../helpers/daemon.js';
import { decisionLine, prng } from '../helpers/opa-sample.js';

describe('polling only (watch: false)', () => {
  it('sees new files, growth, rename, truncation and deletion within the poll and scan intervals', async () => {
    const w = makeWorkspace({ glob: '*.log*' });
    writeFileSync(
      w.configFile,
      readFileSync(w.configFile, 'utf8').replace(
        '    poll_interval: 50ms\n',
        '    poll_interval: 50ms\n    watch: false\n    scan_interval: 200ms\n',
      ),
    );
    const rnd = prng(41);
    let n = 0;
    const batch = (k: number) => Array.from({ length: k }, () => decisionLine(n++, rnd));
    const text = (ls: string[]) => ls.map((l) => `${l}\n`).join('');
    const written: string[] = [];
    const d = startDaemon(w);
    try {
      await waitFor(() => d.logs.some((l) => l.includes('tailseal running.')), 'start-up');
      assert.ok(!d.logs.some((l) => l.includes('File watcher')), 'no watcher in use');
      const a = join(w.opaDir, 'a.log');
      const first = batch(10);
      appendFileSync(a, text(first)); // a new file: found by a directory scan
      written.push(...first);
      await waitFor(() => storedDecisions(w.storeDir).length === 10, 'the new file');
      const grow = batch(5);
      appendFileSync(a, text(grow)); // growth: found by the poll
      written.push(...grow);
      await waitFor(() => storedDecisions(w.storeDir).length === 15, 'the growth');
      renameSync(a, join(w.opaDir, 'a.log.1')); // rename rotation, then a new a.log
      const next = batch(7);
      appendFileSync(a, text(next));
      written.push(...next);
      await waitFor(() => storedDecisions(w.storeDir).length === 22, 'the rotated-in file');
      truncateSync(a, 0); // copytruncate
      const after = batch(4);
      appendFileSync(a, text(after));
      written.push(...after);
      await waitFor(() => storedDecisions(w.storeDir).length === 26, 'the truncated file read again');
      rmSync(join(w.opaDir, 'a.log.1')); // deletion of a finished file
      await waitFor(
        () => d.logs.some((l) => l.includes('Finished rotated file.')),
        'the rotated file finished',
        10_000,
      );
    } finally {
      assert.equal(await stopDaemon(d), 0);
    }
    const stored = storedDecisions(w.storeDir);
    assert.deepEqual([...stored].sort(), [...written].sort());
    assert.equal(verifyStore(w).status, 0);
    w.cleanup();
  });
});
