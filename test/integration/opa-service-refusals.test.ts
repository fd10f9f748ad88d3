// The opa_service input's refusals (issue 15, items 3-4): requests that are not OPA's (a web
// page's, a DNS-rebound one, a forged text/plain one) are refused, authentication comes before
// routing, and a flood of refusals is counted by reason without flooding the log.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import {
  type DaemonProc,
  type Workspace,
  freePort,
  logsWith,
  makeWorkspace,
  receiversListening,
} from '../helpers/daemon.js';
import { startDaemon, stopDaemon, storedDecisions, waitFor } from '../helpers/daemon.js';
import { metricSample } from '../helpers/metrics.js';
import { event } from '../helpers/opa-upload.js';

const TOKEN = 'refuse-0b9e2d4c7a1f3e58-secret';
/** Must never reach the log: refusal lines carry no body bytes. */
const BODY_MARKER = 'BODY-MARKER-8c1d';

interface Sent {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
}

function send(port: number, s: Sent): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const body = Buffer.from(s.body ?? '');
    const headers = { 'content-length': String(body.length), ...s.headers };
    const options = { host: '127.0.0.1', port, method: s.method ?? 'POST', path: s.path ?? '/logs', headers };
    const req = request({ ...options, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const json = { 'content-type': 'application/json' };
const auth = { authorization: `Bearer ${TOKEN}` };
const LONG = `/x${'A'.repeat(15_000)}`;
const forged = JSON.stringify([event('forged-1')]);

describe('opa_service: refusing what is not OPA', () => {
  let w: Workspace;
  let d: DaemonProc;
  let port: number;
  let metrics: number;
  const logBytes = () => d.logs.reduce((n, l) => n + l.length + 1, 0);
  const page = async () => (await fetch(`http://127.0.0.1:${metrics}/metrics`)).text();
  before(async () => {
    [port, metrics] = [await freePort(), await freePort()];
    w = makeWorkspace({
      inputsYaml: `  - name: up\n    type: opa_service\n    listen: 127.0.0.1:${port}\n    token: ${TOKEN}`,
      extraYaml: `metrics:\n  listen: 127.0.0.1:${metrics}\n`,
    });
    d = startDaemon(w);
    await receiversListening(d);
  });
  after(async () => {
    await stopDaemon(d);
    w.cleanup();
  });

  const both = { ...json, ...auth };
  const cases: { desc: string; sent: Sent; status: number; code: string }[] = [
    {
      desc: 'a body that is not JSON',
      status: 400,
      code: 'bad_body',
      sent: { headers: both, body: `[{"decision_id":"${BODY_MARKER}",}]` },
    },
    {
      desc: 'a web page (Origin), even with the token',
      status: 403,
      code: 'origin',
      sent: { headers: { ...both, origin: 'http://evil.example' }, body: forged },
    },
    {
      desc: 'a DNS-rebound name as Host',
      status: 403,
      code: 'host',
      sent: { headers: { ...both, host: 'evil.example:8282' }, body: forged },
    },
    {
      desc: 'no token on an unknown long path (401, not 404)',
      status: 401,
      code: 'unauthorized',
      sent: { method: 'GET', path: LONG },
    },
    { desc: 'no token, GET (401, not 405)', status: 401, code: 'unauthorized', sent: { method: 'GET' } },
    {
      desc: 'a wrong token',
      status: 401,
      code: 'unauthorized',
      sent: { headers: { ...json, authorization: 'Bearer guess' }, body: forged },
    },
    {
      desc: 'an unknown long path with the token',
      status: 404,
      code: 'not_found',
      sent: { method: 'GET', path: LONG, headers: auth },
    },
    {
      desc: 'a partition that is not a short name',
      status: 404,
      code: 'not_found',
      sent: { path: `/logs/${'p'.repeat(200)}`, headers: both, body: forged },
    },
    { desc: 'GET with the token', status: 405, code: 'method', sent: { method: 'GET', headers: auth } },
    {
      desc: 'a text/plain "simple" request with the token',
      status: 415,
      code: 'content_type',
      sent: { headers: { 'content-type': 'text/plain', ...auth }, body: forged },
    },
    { desc: 'no Content-Type', status: 415, code: 'content_type', sent: { headers: auth, body: forged } },
  ];
  for (const [i, c] of cases.entries()) {
    it(`refuses ${c.desc}: ${c.status} ${c.code}, counted, logged briefly without the body`, async () => {
      const labels = { input: 'up', reason: c.code };
      const before = metricSample(await page(), 'tailseal_opa_service_refused_total', labels) ?? 0;
      const bytes = logBytes();
      const r = await send(port, c.sent);
      assert.equal(r.status, c.status, r.body);
      assert.equal((JSON.parse(r.body) as { code: string }).code, c.code);
      assert.equal(metricSample(await page(), 'tailseal_opa_service_refused_total', labels), before + 1);
      // The first 10 refusals are logged (then at most 10 per 10 s).
      const logged = () => logsWith(d, 'Refused a decision-log upload.').some((l) => l.code === c.code);
      if (i < 10) await waitFor(logged, 'the refusal line');
      assert.ok(logBytes() - bytes < 1024, `${logBytes() - bytes} log bytes for one refusal`);
      assert.ok(!d.logs.some((l) => l.includes(BODY_MARKER)), 'body bytes in the log');
    });
  }

  it("takes OPA's own request (JSON, gzip, the token, a loopback Host); nothing forged was sealed", async () => {
    const { upload } = await import('../helpers/opa-upload.js');
    const r = await upload(`http://localhost:${port}/logs`, [event('real-1')], { token: TOKEN });
    assert.equal(r.status, 200, r.body);
    await waitFor(() => storedDecisions(w.storeDir).length === 1, 'the real decision');
    assert.ok(!storedDecisions(w.storeDir).some((p) => p.includes('forged-1')));
  });

  it('a flood of 3,000 refused requests with 15 KB URLs is counted, and adds little to the log', async () => {
    const bytes = logBytes();
    for (let i = 0; i < 30; i++) {
      const batch = await Promise.all(Array.from({ length: 100 }, () => send(port, { method: 'GET', path: LONG })));
      assert.ok(batch.every((r) => r.status === 401));
    }
    const unauthorized = { input: 'up', reason: 'unauthorized' };
    assert.ok(metricSample(await page(), 'tailseal_opa_service_refused_total', unauthorized)! >= 3000);
    const added = logBytes() - bytes;
    // At most 10 lines per 10 s, each with the path cut to 128 characters.
    assert.ok(added < 20_000, `the flood added ${added} log bytes`);
    assert.ok(!d.logs.some((l) => l.includes('A'.repeat(200))), 'a whole URL in the log');
  });
});

describe('opa_service without a token', () => {
  it('warns at start, and still refuses what a web page can send', async () => {
    const port = await freePort();
    const w = makeWorkspace({ inputsYaml: `  - name: open\n    type: opa_service\n    listen: 127.0.0.1:${port}` });
    const d = startDaemon(w);
    try {
      await receiversListening(d);
      const warning = logsWith(d, 'No token configured for this opa_service input');
      assert.equal(warning.length, 1);
      assert.equal(warning[0]!.level, 40);
      assert.equal((await send(port, { headers: { 'content-type': 'text/plain' }, body: forged })).status, 415);
      const fromPage = await send(port, { headers: { ...json, origin: 'http://evil.example' }, body: forged });
      assert.equal(fromPage.status, 403);
      assert.equal((await send(port, { headers: json, body: JSON.stringify([event('local-1')]) })).status, 200);
    } finally {
      await stopDaemon(d);
      w.cleanup();
    }
  });
});
