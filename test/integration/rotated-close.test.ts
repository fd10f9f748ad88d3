// A rotated file ending in a partial line (OPA killed mid-write, then logrotate) is closed once
// rotate_wait has passed, whether it is still on disk or deleted, and the fragment is sealed then
// as a partial_line_at_close gap record: re-reading the same unfinished bytes is not activity.
import assert from 'node:assert/strict';
import { appendFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import {
  type DaemonProc,
  type Workspace,
  cli,
  decisionText,
  logsWith,
  makeWorkspace,
  startDaemon,
  stopDaemon,
  storeEntries,
  storedDecisions,
  verifyStore,
  waitFor,
} from '../helpers/daemon.js';

const text = decisionText(1316);

describe('a rotated file ending in a partial line', () => {
  let w: Workspace | undefined;
  let d: DaemonProc | undefined;
  afterEach(() => {
    d?.child.kill('SIGKILL');
    w?.cleanup();
  });

  for (const deleted of [false, true]) {
    const how = deleted ? 'deleted' : 'renamed away';
    it(`is closed after rotate_wait with a partial_line_at_close gap record (${how})`, async () => {
      w = makeWorkspace({ rotateWait: '300ms' });
      const log = join(w.opaDir, 'p.log');
      const fragment = '{"decision_id":"cut-off-mid-wri';
      const first = text(20);
      appendFileSync(log, first + fragment);
      d = startDaemon(w);
      await waitFor(() => storedDecisions(w!.storeDir).length === 20, 'the 20 complete lines');
      // logrotate's rename-and-create; the old file out of the glob's reach, or deleted.
      renameSync(log, join(w.opaDir, 'p.log.1'));
      appendFileSync(log, text(5));
      if (deleted) rmSync(join(w.opaDir, 'p.log.1'));
      await waitFor(() => storedDecisions(w!.storeDir).length === 25, 'the new file');
      const gaps = () => storeEntries(w!.storeDir).filter((e) => e.kind === 'gap');
      // rotate_wait is 300 ms: the bound only absorbs a loaded machine, never reached when it works.
      await waitFor(() => gaps().length === 1, 'the partial_line_at_close gap record', 15_000);
      const g = gaps()[0]!;
      assert.equal(g.source, log, 'named by the path it was tailed under');
      assert.equal(g.offset, Buffer.byteLength(first), "from the fragment's first byte");
      const p = JSON.parse(Buffer.from(g.payload).toString('utf8')) as Record<string, unknown>;
      assert.equal(p.reason, 'partial_line_at_close');
      assert.equal(p.length, Buffer.byteLength(fragment));
      assert.equal(logsWith(d, 'Finished rotated file.').filter((l) => l.path === log).length, 1);
      assert.equal(await stopDaemon(d), 0);
      assert.equal(verifyStore(w).status, 0);
    });
  }
});

interface StatusFile {
  path: string;
  ident: string;
  found_at: string | null;
  offset: number;
  size: number | null;
  lag_bytes: number | null;
}

describe('tailseal status after a rotation', () => {
  let w: Workspace | undefined;
  let d: DaemonProc | undefined;
  afterEach(() => {
    d?.child.kill('SIGKILL');
    w?.cleanup();
  });

  for (const deleted of [false, true]) {
    const how = deleted ? 'deleted' : 'renamed';
    it(`measures the rotated file by its own identity, not the new file at its path (${how})`, async () => {
      // A long rotate_wait keeps the old generation open and unfinished while status looks.
      w = makeWorkspace({ rotateWait: '10m' });
      const log = join(w.opaDir, 's.log');
      const old = text(20);
      appendFileSync(log, old);
      d = startDaemon(w);
      await waitFor(() => storedDecisions(w!.storeDir).length === 20, 'the first generation');
      renameSync(log, join(w.opaDir, 's.log.1'));
      appendFileSync(log, text(60)); // bigger than the old offset: a wrong lag would show
      if (deleted) rmSync(join(w.opaDir, 's.log.1'));
      await waitFor(() => storedDecisions(w!.storeDir).length === 80, 'the new file');
      const status = () => cli(['status', '--config', w!.configFile, '--json']).stdout;
      const files = () => (JSON.parse(status()) as { files: StatusFile[] }).files;
      // The new generation's row shows once its offset is committed with its decisions.
      await waitFor(() => files().length === 2, 'both generations in the state database');
      const byOffset = files().sort((a, b) => a.offset - b.offset);
      const [rotated, current] = [byOffset[0]!, byOffset[1]!];
      assert.equal(rotated.offset, Buffer.byteLength(old));
      assert.equal(rotated.path, log, 'the name it was tailed under');
      if (deleted) {
        assert.equal(rotated.found_at, null);
        assert.equal(rotated.size, null);
        assert.equal(rotated.lag_bytes, null, "not the new file's size minus the old offset");
      } else {
        assert.equal(rotated.found_at, join(w.opaDir, 's.log.1'));
        assert.equal(rotated.size, Buffer.byteLength(old));
        assert.equal(rotated.lag_bytes, 0);
      }
      assert.notEqual(rotated.ident, current.ident);
      assert.equal(current.found_at, log);
      assert.equal(current.lag_bytes, 0);
      const textOut = cli(['status', '--config', w.configFile]).stdout;
      const want = deleted ? 'not at its path or beside it any more' : `now ${join(w.opaDir, 's.log.1')}, 0 bytes`;
      assert.ok(textOut.includes(`file ${log}: offset ${rotated.offset}, ${want}`), textOut);
      assert.equal(await stopDaemon(d), 0);
    });
  }
});
