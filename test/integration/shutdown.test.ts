// A hung remote never holds up shutdown: SIGTERM with an upload stuck on a collector that does
// not answer still exits 0 within the grace period (plus a little), and the object is sent again
// after the restart.
import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  type DaemonProc,
  type Workspace,
  logsWith,
  makeWorkspace,
  startDaemon,
  stopDaemon,
  waitFor,
} from '../helpers/daemon.js';
import { FaultServer } from '../helpers/fault-server.js';
import { decisionLine, prng } from '../helpers/opa-sample.js';

describe('shutdown with a hung remote', () => {
  let w: Workspace;
  let d: DaemonProc | undefined;
  let srv: FaultServer;
  after(async () => {
    d?.child.kill('SIGKILL');
    await srv?.close();
    w?.cleanup();
  });

  it('SIGTERM exits 0 promptly while an upload hangs, and the object is delivered after restart', async () => {
    srv = await FaultServer.start();
    srv.set({ kind: 'slow', delayMs: 60_000 });
    w = makeWorkspace({
      sinksYaml: `  - name: collector
    type: http
    url: ${srv.url}/objects
    timeout: { connect: 1s, request: 60s }
    retry: { initial_backoff: 20ms, max_backoff: 200ms }`,
    });
    const rnd = prng(1);
    appendFileSync(
      join(w.opaDir, 'opa.log'),
      Array.from({ length: 10 }, (_, i) => decisionLine(i, rnd)).join('\n') + '\n',
    );
    d = startDaemon(w);
    await waitFor(
      () =>
        srv.requests.some(
          (r) => r.url === '/objects' && String(r.headers['x-tailseal-object']).includes('00000000000000000000-'),
        ),
      'an upload to be in progress',
    );
    const t0 = Date.now();
    assert.equal(await stopDaemon(d), 0, 'clean exit');
    const took = Date.now() - t0;
    assert.ok(took < 5000 + 4000, `stopped in ${took} ms (grace 5 s)`);
    assert.ok(logsWith(d, 'tailseal stopped').length === 1);

    srv.set({ kind: 'ok' });
    d = startDaemon(w);
    await waitFor(
      () =>
        srv
          .accepted()
          .some((r) => String(r.headers['x-tailseal-object']).includes('00000000000000000000-00000000000000000009')),
      'the object delivered after restart',
    );
    assert.equal(await stopDaemon(d), 0);
    d = undefined;
  });
});
