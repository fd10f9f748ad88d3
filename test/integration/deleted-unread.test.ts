// A file that appears and is deleted before tailseal could open it (here: while it is busy with
// a large backlog) leaves a `deleted_unread` gap record (at least the size the watcher saw),
// instead of vanishing without a trace.
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { logsWith, makeWorkspace, startDaemon, stopDaemon, storeEntries, waitFor } from '../helpers/daemon.js';
import { decisionLine, prng } from '../helpers/opa-sample.js';
import { writeCorpus } from '../bench/corpus.js';

describe('a file deleted before it was opened', () => {
  it('is sealed as a deleted_unread gap record of at least the size the watcher saw', async () => {
    const w = makeWorkspace();
    const backlog = writeCorpus(join(w.opaDir, 'big.log'), 80_000, 61);
    const d = startDaemon(w);
    try {
      await waitFor(() => logsWith(d, 'Tailing file.').length === 1, 'reading the backlog to start');
      // While the backlog is being read: a short-lived file the watcher sees but the tailer,
      // busy with big.log, does not open before it is gone.
      const rnd = prng(62);
      const body = Array.from({ length: 3 }, (_, i) => `${decisionLine(i, rnd)}\n`).join('');
      const gone = join(w.opaDir, 'short-lived.log');
      writeFileSync(gone, body);
      // Deleted once the watcher has reported it (what the gap record rests on); on a loaded
      // machine that can take a while, and a file nobody saw leaves nothing to report.
      await waitFor(
        () => logsWith(d, 'File seen by the watcher.').some((l) => l.path === gone),
        'the watcher to see the short-lived file',
      );
      rmSync(gone);
      await waitFor(
        () => storeEntries(w.storeDir).filter((e) => e.kind === 'decision').length >= backlog.decisions,
        'the backlog',
        60_000,
      );
      const gaps = () => storeEntries(w.storeDir).filter((e) => e.kind === 'gap');
      // Either it was opened in time after all (then read) or it is a gap: never nothing.
      const read = storeEntries(w.storeDir).filter((e) => e.source === gone && e.kind === 'decision').length;
      if (read === 0) {
        await waitFor(() => gaps().length === 1, 'the gap record');
        const g = gaps()[0]!;
        assert.equal(g.source, gone);
        // The size the watcher saw is a lower bound: the file may have grown before it went.
        const p = JSON.parse(Buffer.from(g.payload).toString('utf8')) as Record<string, unknown>;
        assert.deepEqual(
          { ...p, file: undefined },
          { reason: 'deleted_unread', length: null, from: 0, at_least: Buffer.byteLength(body), file: undefined },
        );
        assert.match(p.file as string, /^\d+:\d+$/, 'the inode it was');
        assert.ok(logsWith(d, 'File was deleted before tailseal could open it').length === 1);
      } else {
        assert.equal(read, 3, 'read whole when it was opened before the delete');
      }
    } finally {
      assert.equal(await stopDaemon(d), 0);
    }
    w.cleanup();
  });
});
