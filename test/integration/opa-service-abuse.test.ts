// The opa_service input against abuse (issue 15, items 1-2): uploads whose stored size is many
// times their body (a gzip'd array of empty objects), large legal uploads that must not stall the
// event loop, and many bodies at once. A real daemon process, real HTTP on 127.0.0.1.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import {
  type DaemonProc,
  type Workspace,
  freePort,
  makeWorkspace,
  receiversListening,
  retryingHttpSinkYaml,
} from '../helpers/daemon.js';
import { startDaemon, stopDaemon, waitFor } from '../helpers/daemon.js';
import { event, upload } from '../helpers/opa-upload.js';
import { metricSample } from '../helpers/metrics.js';

const TOKEN = 'abuse-5d1c0e7b9a3f4c21-secret';

function input(name: string, port: number, extra = ''): string {
  return `  - name: ${name}
    type: opa_service
    listen: 127.0.0.1:${port}
    token: ${TOKEN}${extra}`;
}

/** A GET on 127.0.0.1 that resolves with its status and how long it took (ms). */
function timedGet(port: number, path: string): Promise<{ status: number; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0 }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function metricsPage(port: number): Promise<string> {
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}

/** 2,000,000 empty objects: 6 MB decoded, under 6 KB gzip'd; ~220 stored bytes each, as entries. */
const BOMB = gzipSync(`[${Array.from({ length: 2_000_000 }, () => '{}').join(',')}]`, { level: 9 });

describe('opa_service: uploads whose stored size dwarfs their body', () => {
  let w: Workspace;
  let d: DaemonProc;
  let port: number;
  let other: number;
  let metrics: number;
  before(async () => {
    [port, other, metrics] = [await freePort(), await freePort(), await freePort()];
    w = makeWorkspace({
      inputsYaml: `${input('big', port)}\n${input('small', other)}`,
      outboxMaxBytes: '256MiB',
      extraYaml: `metrics:\n  listen: 127.0.0.1:${metrics}\n`,
    });
    d = startDaemon(w);
    await receiversListening(d, 2);
  });
  after(async () => {
    await stopDaemon(d);
    w.cleanup();
  });

  it('refuses the empty-objects bomb quickly with 413 too_many_events, and seals nothing of it', async () => {
    assert.ok(BOMB.length < 8192, `bomb is ${BOMB.length} bytes`);
    const t0 = Date.now();
    const r = await upload(`http://127.0.0.1:${port}/logs`, BOMB, { token: TOKEN, raw: true });
    const ms = Date.now() - t0;
    assert.equal(r.status, 413, r.body);
    assert.equal((JSON.parse(r.body) as { code: string }).code, 'too_many_events');
    assert.ok(ms < 5000, `answered after ${ms} ms`);
    const page = await metricsPage(metrics);
    const refused = { input: 'big', reason: 'too_many_events' };
    assert.equal(metricSample(page, 'tailseal_opa_service_refused_total', refused), 1);
    assert.equal(metricSample(page, 'tailseal_decisions_sealed_total', { input: 'big', stream: 'big' }) ?? 0, 0);
  });

  it('seals a large legal upload in slices: /healthz and another input answer promptly meanwhile', async () => {
    // 6,000 OPA-shaped events of 8 KB: 48 MB decoded, ~0.5 MB gzip'd, as OPA sends with a raised
    // upload_size_limit_bytes (sealing that in one go blocked the loop for over a second).
    const pad = 'x'.repeat(8000);
    const events = Array.from({ length: 6000 }, () => event(randomUUID(), { input: { pad } }));
    const body = gzipSync(JSON.stringify(events));
    let done = false;
    const big = upload(`http://127.0.0.1:${port}/logs`, body, { token: TOKEN, raw: true }).finally(() => (done = true));
    let worst = 0;
    let probes = 0;
    let smallMs = -1;
    while (!done) {
      const h = await timedGet(metrics, '/healthz');
      assert.equal(h.status, 200);
      worst = Math.max(worst, h.ms);
      probes++;
      if (smallMs < 0 && probes === 5) {
        const t0 = performance.now();
        const s = await upload(`http://127.0.0.1:${other}/logs`, [event('while-big')], { token: TOKEN });
        assert.equal(s.status, 200, s.body);
        smallMs = performance.now() - t0;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    const r = await big;
    assert.equal(r.status, 200, r.body);
    assert.deepEqual(JSON.parse(r.body), { accepted: 6000 });
    assert.ok(probes >= 5, `only ${probes} health probes while the upload ran`);
    const second = `another input's upload ${Math.round(smallMs)} ms`;
    console.log(`# ${probes} /healthz probes, slowest ${Math.round(worst)} ms; ${second}`);
    assert.ok(worst < 600, `a /healthz took ${Math.round(worst)} ms while the upload was processed`);
    assert.ok(smallMs >= 0 && smallMs < 1000, `an upload to another input took ${Math.round(smallMs)} ms`);
  });
});

describe('opa_service: admission against the outbox in stored bytes', () => {
  it('refuses an upload larger than the outbox (413) or its room (503); the outbox stays under its max', async () => {
    const [port, metrics, sinkPort] = [await freePort(), await freePort(), await freePort()];
    const w = makeWorkspace({
      inputsYaml: input('up', port, '\n    retry_after: 3s\n    opa_upload_size_limit_bytes: 256'),
      outboxMaxBytes: '1MiB',
      extraYaml: `metrics:\n  listen: 127.0.0.1:${metrics}\n`,
      // Nothing listens: the outbox keeps what it takes.
      sinksYaml: retryingHttpSinkYaml(sinkPort),
    });
    const d = startDaemon(w);
    try {
      await receiversListening(d);
      const url = `http://127.0.0.1:${port}/logs`;
      assert.equal((await upload(url, [event('first')], { token: TOKEN })).status, 200);
      // 9,000 bare events: 500 KB raw, but ~2.7 MB as entry lines.
      const bare = Array.from({ length: 9000 }, () => ({ decision_id: randomUUID() }));
      const r = await upload(url, bare, { token: TOKEN });
      assert.equal(r.status, 413, r.body);
      assert.equal((JSON.parse(r.body) as { code: string }).code, 'outbox_too_small');
      // 1,500 of them (~450 KB stored) fit; the next 1,500 do not fit beside them: 503.
      assert.equal((await upload(url, bare.slice(0, 1500), { token: TOKEN })).status, 200);
      assert.equal((await upload(url, bare.slice(1500, 3000), { token: TOKEN })).status, 200);
      const full = await upload(url, bare.slice(3000, 4500), { token: TOKEN });
      assert.equal(full.status, 503, full.body);
      assert.equal(full.headers['retry-after'], '3');
      assert.equal((JSON.parse(full.body) as { code: string }).code, 'outbox_full');
      const page = await metricsPage(metrics);
      const used = metricSample(page, 'tailseal_outbox_bytes')!;
      assert.ok(used > 0 && used <= 1024 * 1024, `outbox holds ${used} bytes, max 1 MiB`);
      assert.equal(metricSample(page, 'tailseal_opa_service_refused_total', { input: 'up', reason: 'outbox_full' }), 1);
    } finally {
      await stopDaemon(d);
      w.cleanup();
    }
  });
});

/**
 * Starts an identity upload of `body` and sends all of it but its last byte, so the receiver
 * holds the rest decoded; `finish()` sends that byte. Resolves `answer` with the response.
 */
interface Answer {
  status: number;
  body: string;
  headers: Record<string, unknown>;
}

function heldUpload(port: number, body: Buffer): { answer: Promise<Answer>; finish: () => void } {
  const headers = {
    'content-type': 'application/json',
    'content-length': body.length,
    authorization: `Bearer ${TOKEN}`,
  };
  const req = request({ host: '127.0.0.1', port, path: '/logs', method: 'POST', agent: false, headers });
  const answer = new Promise<Answer>((resolve, reject) => {
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      const text = () => Buffer.concat(chunks).toString('utf8');
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text(), headers: res.headers }));
    });
    req.on('error', reject);
  });
  answer.catch(() => undefined);
  req.write(body.subarray(0, body.length - 1));
  return { answer, finish: () => req.end(body.subarray(body.length - 1)) };
}

describe('opa_service: one budget of decoded bytes for all requests', () => {
  it('bodies beyond max_inflight_decoded_bytes get 503 + Retry-After; all of it is free again after', async () => {
    const [port, metrics] = [await freePort(), await freePort()];
    const w = makeWorkspace({
      inputsYaml: input(
        'up',
        port,
        `
    max_body_bytes: 4MiB
    max_decoded_bytes: 4MiB
    opa_upload_size_limit_bytes: 4000
    max_inflight_decoded_bytes: 8MiB
    retry_after: 2s`,
      ),
      outboxMaxBytes: '256MiB',
      extraYaml: `metrics:\n  listen: 127.0.0.1:${metrics}\n`,
    });
    const d = startDaemon(w);
    try {
      await receiversListening(d);
      // 12 bodies of 3.9 MB held open at once: 47 MB, six times the budget. Two fit in it.
      const pad = 'y'.repeat(3_900_000);
      const body = (id: string) => Buffer.from(JSON.stringify([event(id, { input: { pad } })]));
      const held = Array.from({ length: 12 }, (_, i) => heldUpload(port, body(`par-${i}`)));
      const answered: Answer[] = [];
      for (const h of held) void h.answer.then((a) => answered.push(a));
      await waitFor(() => answered.length >= 10, '10 of the 12 refused while two hold the budget', 30_000);
      for (const a of answered) {
        assert.equal(a.status, 503, a.body);
        assert.equal(a.headers['retry-after'], '2');
        assert.equal((JSON.parse(a.body) as { code: string }).code, 'busy');
      }
      for (const h of held) h.finish();
      const all = await Promise.all(held.map((h) => h.answer));
      assert.deepEqual(
        all.map((a) => a.status).sort((a, b) => a - b),
        [200, 200, ...Array<number>(10).fill(503)],
      );
      // Everything given back: one after another, all 12 are taken.
      for (let i = 0; i < 12; i++) {
        const r = await upload(`http://127.0.0.1:${port}/logs`, body(`seq-${i}`), { token: TOKEN });
        assert.equal(r.status, 200, r.body);
      }
      const page = await metricsPage(metrics);
      assert.equal(metricSample(page, 'tailseal_opa_service_refused_total', { input: 'up', reason: 'busy' }), 10);
    } finally {
      await stopDaemon(d);
      w.cleanup();
    }
  });
});
