// copytruncate seals a truncated_unread gap record only when bytes may have been unread: a gap
// record claims possible loss, so one that covers nothing misleads an auditor. Nothing was
// unread when everything tailseal saw was sealed and logrotate's copy beside the file ends at
// the offset with the same bytes; without such a copy (compressed, elsewhere, or longer) the
// loss is possible and the gap record stays.
import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, truncateSync, writeFileSync } from 'node:fs';
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

const text = decisionText(1717);

type Copy = 'exact' | 'none' | 'longer';
type Gap = Record<string, unknown>;
type Counters = Record<string, number>;

describe('copytruncate gap records', () => {
  let w: Workspace | undefined;
  let d: DaemonProc | undefined;
  afterEach(() => {
    d?.child.kill('SIGKILL');
    w?.cleanup();
  });

  /**
   * Writes `before` (all of it sealed before the rotation), rotates by copytruncate with the copy
   * `copy` (glob *.log does not match opa.log.1), writes 5 lines more; returns the gap records.
   */
  async function rotate(before: string, sealed: number, copy: Copy): Promise<{ gaps: Gap[]; counters: Counters }> {
    w = makeWorkspace();
    const log = join(w.opaDir, 'opa.log');
    appendFileSync(log, before);
    d = startDaemon(w);
    await waitFor(() => storedDecisions(w!.storeDir).length === sealed, `the first ${sealed} decisions`);
    const rotated = join(w.opaDir, 'opa.log.1');
    if (copy === 'exact') copyFileSync(log, rotated);
    // Lines the writer appended after tailseal's last look, only in the copy (a race made certain).
    if (copy === 'longer') writeFileSync(rotated, before + text(3));
    truncateSync(log, 0);
    await waitFor(() => logsWith(d!, 'File was truncated').length === 1, 'the truncation to be seen');
    appendFileSync(log, text(5));
    await waitFor(() => storedDecisions(w!.storeDir).length === sealed + 5, 'the lines after the truncation');
    assert.equal(await stopDaemon(d), 0);
    assert.equal(verifyStore(w).status, 0);
    const status = cli(['status', '--config', w.configFile, '--json']).stdout;
    const { counters } = JSON.parse(status) as { counters: Counters };
    assert.equal(counters.files_truncated, 1);
    const gaps = storeEntries(w.storeDir)
      .filter((e) => e.kind === 'gap')
      .map((e) => ({ offset: e.offset, ...(JSON.parse(Buffer.from(e.payload).toString('utf8')) as Gap) }));
    return { gaps, counters };
  }

  it('everything was sealed and the copy ends at the offset: no gap record', async () => {
    const { gaps, counters } = await rotate(text(20), 20, 'exact');
    assert.deepEqual(gaps, []);
    assert.equal(counters.gap_truncated_unread, undefined);
    const msg = 'File was truncated (copytruncate rotation) after all it held was sealed';
    assert.equal(logsWith(d!, msg).length, 1);
  });

  it('no copy beside the file (compressed or moved away): bytes may have been unread, a gap record', async () => {
    const before = text(20);
    const { gaps, counters } = await rotate(before, 20, 'none');
    const want = [['truncated_unread', Buffer.byteLength(before), null, 0]];
    assert.deepEqual(
      gaps.map((g) => [g.reason, g.offset, g.length, g.at_least]),
      want,
    );
    assert.equal(counters.gap_truncated_unread, 1);
  });

  it('the copy is longer than the offset (written after the last look): a gap record', async () => {
    const before = text(20);
    const { gaps } = await rotate(before, 20, 'longer');
    const want = [['truncated_unread', Buffer.byteLength(before), null]];
    assert.deepEqual(
      gaps.map((g) => [g.reason, g.offset, g.length]),
      want,
    );
  });

  it('a partial line was seen unread: a gap record of at least its bytes, copy or not', async () => {
    const complete = text(20);
    const fragment = '{"decision_id":"cut-off';
    const { gaps } = await rotate(complete + fragment, 20, 'exact');
    const want = [['truncated_unread', Buffer.byteLength(complete), null, Buffer.byteLength(fragment)]];
    assert.deepEqual(
      gaps.map((g) => [g.reason, g.offset, g.length, g.at_least]),
      want,
    );
  });
});
