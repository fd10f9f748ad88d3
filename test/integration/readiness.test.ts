// /readyz during start-up (issue 15 item 8a): 503 until every configured input and sink has
// started, while /healthz and /metrics already answer; 200 once start-up is done.
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { after, describe, it } from 'node:test';
import { request } from 'undici';
import { freePort, logsWith, makeWorkspace, startDaemon, stopDaemon, waitFor } from '../helpers/daemon.js';
import { addSink, noObjectLock, s3SinkYaml, startFakeS3 } from '../helpers/fake-s3.js';

const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const c of cleanups) await c();
});

async function get(port: number, path: string): Promise<{ status: number; body: string }> {
  const res = await request(`http://127.0.0.1:${port}${path}`, { headersTimeout: 5000, bodyTimeout: 5000 });
  return { status: res.statusCode, body: await res.body.text() };
}

describe('/readyz during start-up', () => {
  it('is 503 while a sink is still starting (its bucket answers late), 200 once all have started', async () => {
    // The s3 sink's start-up check (GET ?object-lock) is held until the test lets it through.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const s3 = await startFakeS3(async (req, res: ServerResponse) => {
      if (req.url?.includes('object-lock')) {
        await held;
        return noObjectLock(res);
      }
      res.writeHead(req.method === 'HEAD' ? 404 : 200).end();
    });
    cleanups.push(() => s3.close());
    const port = await freePort();
    const w = makeWorkspace({ extraYaml: `metrics:\n  listen: 127.0.0.1:${port}\n` });
    cleanups.push(() => w.cleanup());
    addSink(w, s3SinkYaml(s3.endpoint, { id: 'AKIDEXAMPLE', secret: 'secret' })); // after the file sink
    const d = startDaemon(w);
    try {
      const asked = () => s3.requests.some((r) => r.url.includes('object-lock'));
      await waitFor(asked, 'the s3 sink to ask for its bucket lock');
      const ready = await get(port, '/readyz');
      assert.equal(ready.status, 503, ready.body);
      assert.match(ready.body, /^FAIL startup: still starting: starting sinks and inputs$/m);
      assert.match(ready.body, /^FAIL sink s3: not started yet$/m);
      assert.match(ready.body, /^FAIL input opa: not started yet$/m);
      assert.equal((await get(port, '/healthz')).status, 200, 'the health endpoint answers during start-up');
      assert.equal((await get(port, '/metrics')).status, 200, 'the metrics endpoint answers during start-up');
      release();
      await waitFor(() => logsWith(d, 'tailseal running').length > 0, 'start-up to finish');
      const after = await get(port, '/readyz');
      assert.equal(after.status, 200, after.body);
      assert.doesNotMatch(after.body, /startup|not started/);
    } finally {
      release();
      assert.equal(await stopDaemon(d), 0, d.logs.join('\n'));
    }
  });
});
