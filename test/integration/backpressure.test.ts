// A sink that keeps failing: the outbox fills to its limit, reading pauses (backpressure) with
// a log line saying so, nothing is dropped, and everything ships once the sink recovers.
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  type DaemonProc,
  type Workspace,
  logsWith,
  makeWorkspace,
  startDaemon,
  stopDaemon,
  storedDecisions,
  verifyStore,
  waitFor,
} from '../helpers/daemon.js';
import { decisionLine, prng } from '../helpers/opa-sample.js';

describe('backpressure', () => {
  let w: Workspace;
  let d: DaemonProc;
  after(() => {
    d?.child.kill('SIGKILL');
    w?.cleanup();
  });

  it('pauses reading when the outbox is full and resumes when the sink recovers', async () => {
    w = makeWorkspace({ outboxMaxBytes: '64KiB', readChunkBytes: '16KiB' });
    // Break the sink: its stream folder is a regular file, so every put fails.
    mkdirSync(w.storeDir, { recursive: true });
    writeFileSync(join(w.storeDir, 'opa'), 'not a directory');
    const rnd = prng(3);
    const written = Array.from({ length: 1000 }, (_, i) => decisionLine(i, rnd)); // ~600 KB
    appendFileSync(join(w.opaDir, 'opa.log'), written.join('\n') + '\n');
    d = startDaemon(w);
    await waitFor(() => logsWith(d, 'Outbox is full').length > 0, 'the backpressure warning');
    await waitFor(
      () => logsWith(d, 'Delivery keeps failing').length > 0 || logsWith(d, 'Delivery failed').length > 0,
      'delivery errors to be logged',
    );
    const failure = [...logsWith(d, 'Delivery keeps failing'), ...logsWith(d, 'Delivery failed')][0]!;
    assert.equal(failure.sink, 'local');
    assert.equal(storedDecisions(w.storeDir).length, 0, 'nothing reached the broken sink');

    // Repair the sink: the outbox drains, reading resumes, and every line arrives once.
    rmSync(join(w.storeDir, 'opa'));
    await waitFor(() => storedDecisions(w.storeDir).length === 1000, 'all 1000 decisions after recovery', 30_000);
    await waitFor(() => logsWith(d, 'Outbox has room again').length > 0, 'the resume to be logged');
    assert.equal(await stopDaemon(d), 0);
    assert.deepEqual(storedDecisions(w.storeDir), written);
    assert.equal(verifyStore(w).status, 0);
  });
});
