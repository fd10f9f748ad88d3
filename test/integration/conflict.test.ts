// A store that already holds different bytes under an object's name: the daemon reports a
// conflict, overwrites nothing, keeps the object in its outbox, and delivers once it can.
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  type DaemonProc,
  type Workspace,
  cli,
  logsWith,
  makeWorkspace,
  startDaemon,
  stopDaemon,
  storedDecisions,
  verifyStore,
  waitFor,
} from '../helpers/daemon.js';
import { decisionLine, prng } from '../helpers/opa-sample.js';

describe('write-once conflicts', () => {
  let w: Workspace;
  let d: DaemonProc;
  after(() => {
    d?.child.kill('SIGKILL');
    w?.cleanup();
  });

  it('never overwrites a different object of the same name, and keeps the batch until it can deliver', async () => {
    w = makeWorkspace();
    const name = '00000000000000000000-00000000000000000004.ndjson';
    const squatter = join(w.storeDir, 'opa', name);
    mkdirSync(join(w.storeDir, 'opa'), { recursive: true });
    writeFileSync(squatter, 'not what tailseal would write\n');
    const rnd = prng(5);
    const written = Array.from({ length: 5 }, (_, i) => decisionLine(i, rnd));
    appendFileSync(join(w.opaDir, 'opa.log'), written.join('\n') + '\n');
    d = startDaemon(w);
    await waitFor(() => logsWith(d, 'Delivery conflict').length > 0, 'the conflict error');
    const e = logsWith(d, 'Delivery conflict')[0]!;
    assert.equal(e.code, 'SINK_CONFLICT');
    assert.equal(e.level, 50, 'logged at error level');
    assert.equal(e.sink, 'local');
    assert.equal(readFileSync(squatter, 'utf8'), 'not what tailseal would write\n', 'not overwritten');

    // Parked: visible in `tailseal status`, and removing the cause alone does not resume it.
    await waitFor(
      () => cli(['status', '--config', w.configFile]).stdout.includes('PARKED sink local'),
      'the object to be parked',
    );
    const status = JSON.parse(cli(['status', '--config', w.configFile, '--json']).stdout) as {
      parked: { sink: string; code: string; firstSeq: number }[];
    };
    assert.deepEqual(
      status.parked.map((p) => [p.sink, p.code, p.firstSeq]),
      [['local', 'SINK_CONFLICT', 0]],
    );
    assert.equal(
      (status as unknown as { counters: Record<string, number> }).counters.sink_local_failures_conflict,
      1,
      'the conflict is counted',
    );
    rmSync(squatter);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(storedDecisions(w.storeDir).length, 0, 'a parked object waits for the operator');
    const rq = cli(['requeue', 'local', '--config', w.configFile]);
    assert.equal(rq.status, 0, rq.stderr);
    assert.match(rq.stdout, /re-queued 1 parked object/);
    await waitFor(
      () => storedDecisions(w.storeDir).length === 5,
      'delivery after the conflict is cleared and re-queued',
    );
    await waitFor(() => logsWith(d, 'Parked object re-queued').length > 0, 'the re-queue to be logged');
    assert.equal(await stopDaemon(d), 0);
    assert.deepEqual(storedDecisions(w.storeDir), written);
    assert.equal(verifyStore(w).status, 0);
  });
});
