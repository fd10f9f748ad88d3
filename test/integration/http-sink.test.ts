// The real daemon ships to an HTTP collector and to an OPA decision-log service. The collector
// is down (connection refused) while OPA writes, the daemon is killed with -9 during the outage
// and restarted, then the collector comes back answering 429 (Retry-After) and a 503 burst
// first. Every decision arrives exactly once (by object name), the collected objects verify
// with `tailseal verify`, the OPA service gets every decision as an OPA event, and no log line
// holds a credential.
import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseObject } from '../../src/seal/gzip.js';
import {
  type DaemonProc,
  type Workspace,
  cli,
  killDaemon,
  logsWith,
  makeWorkspace,
  startDaemon,
  stopDaemon,
  waitFor,
} from '../helpers/daemon.js';
import { FaultServer, type RecordedRequest } from '../helpers/fault-server.js';
import { decisionLine, otherLine, prng } from '../helpers/opa-sample.js';
import { tempDir, writeObject } from '../helpers/trail.js';

const TOKEN = 'it-collector-token-7c41e9d0b2a64f15';
const PASSWORD = 'it-opa-password-0e5fa3c98d17';

/** The collector's view: each object name it accepted, and every body it accepted for it. */
function collected(srv: FaultServer): Map<string, Buffer[]> {
  const out = new Map<string, Buffer[]>();
  for (const r of srv.accepted()) {
    const name = r.headers['idempotency-key'] as string;
    out.set(name, [...(out.get(name) ?? []), r.body]);
  }
  return out;
}

/** Decision payloads held by the collected objects (one body per name), in seq order. */
function collectedDecisions(srv: FaultServer): string[] {
  const entries = [...collected(srv).values()].flatMap((bodies) =>
    parseObject(bodies[0]!).entries.map((e) => e.envelope),
  );
  return entries
    .filter((e) => e.kind === 'decision')
    .sort((a, b) => a.seq - b.seq)
    .map((e) => Buffer.from(e.payload).toString('utf8'));
}

/** The largest tree size the daemon has signed so far (debug log "Checkpoint signed."). */
const signedSize = (d: DaemonProc): number =>
  Math.max(0, ...logsWith(d, 'Checkpoint signed.').map((l) => l.size as number));

const refusedByCollector = (d: DaemonProc): boolean =>
  logsWith(d, 'Delivery failed').some((l) => l.sink === 'collector' && l.code === 'ECONNREFUSED');

describe('http and opa sinks with the real daemon', () => {
  let w: Workspace | undefined;
  let collector: FaultServer | undefined;
  let opaSvc: FaultServer | undefined;
  const daemons: DaemonProc[] = [];
  after(async () => {
    for (const d of daemons) d.child.kill('SIGKILL');
    await collector?.close();
    await opaSvc?.close();
    w?.cleanup();
  });

  it('outage + kill -9 + 429/503: every decision exactly once, verifiable, no secret in the logs', async () => {
    collector = await FaultServer.start();
    opaSvc = await FaultServer.start();
    await collector.down();
    process.env.TAILSEAL_IT_COLLECTOR_TOKEN = TOKEN;
    process.env.TAILSEAL_IT_OPA_PASSWORD = PASSWORD;
    w = makeWorkspace({
      sinksYaml: `  - name: collector
    type: http
    url: ${collector.url}/ingest
    auth:
      bearer_token: \${TAILSEAL_IT_COLLECTOR_TOKEN}
    headers:
      X-Tenant: it
    timeout:
      connect: 1s
      request: 2s
    retry:
      initial_backoff: 20ms
      max_backoff: 200ms
  - name: opa-service
    type: opa
    url: ${opaSvc.url}
    resource: /logs
    upload_size_limit_bytes: 4KiB
    auth:
      username: tailseal
      password: \${TAILSEAL_IT_OPA_PASSWORD}
    retry:
      initial_backoff: 20ms
      max_backoff: 200ms`,
    });
    const ws = w;
    const log = join(ws.opaDir, 'opa.log');
    const rnd = prng(2026);
    const written: string[] = [];
    const writeBurst = (count: number) => {
      const ls: string[] = [];
      for (let k = 0; k < count; k++) {
        const line = decisionLine(written.length, rnd);
        ls.push(otherLine(written.length), line);
        written.push(line);
      }
      appendFileSync(log, ls.join('\n') + '\n');
    };

    // 1. The collector is down while OPA writes; the daemon seals and keeps everything.
    writeBurst(300);
    const d1 = startDaemon(ws);
    daemons.push(d1);
    await waitFor(
      () => signedSize(d1) >= 300 && refusedByCollector(d1),
      'the first 300 decisions signed while the collector refuses connections',
    );
    // 2. kill -9 during the outage; more decisions arrive while tailseal is down.
    await killDaemon(d1);
    writeBurst(200);
    const d2 = startDaemon(ws);
    daemons.push(d2);
    await waitFor(
      () => signedSize(d2) >= 500 && refusedByCollector(d2),
      'all 500 signed after the restart, collector still refusing',
    );
    assert.equal(collector.requests.length, 0);

    // 3. The collector comes back on the same port, first throttling, then a 503 burst.
    collector.enqueue(
      { kind: 'status', status: 429, retryAfter: '1' },
      { kind: 'status', status: 503 },
      { kind: 'status', status: 503 },
      { kind: 'status', status: 503 },
    );
    await collector.up();
    await waitFor(() => collectedDecisions(collector!).length >= 500, '500 decisions at the collector', 30_000);
    // 4. Live traffic once it is healthy.
    writeBurst(100);
    await waitFor(() => collectedDecisions(collector!).length >= 600, '600 decisions at the collector', 30_000);
    await waitFor(
      () => new Set(eventsAt(opaSvc!).map((e) => e.decision_id)).size >= 600,
      '600 decisions at the OPA service',
      30_000,
    );
    assert.equal(await stopDaemon(d2), 0);

    // Exactly once, by object name; a name sent twice carries identical bytes.
    const objects = collected(collector);
    for (const [name, bodies] of objects) {
      for (const b of bodies) assert.deepEqual(b, bodies[0], `${name}: every accepted copy is identical`);
      assert.match(name, /^opa\/(\d{20}-\d{20}|heartbeat-\d{20}-\d+)\.ndjson\.gz$/);
    }
    assert.deepEqual(collectedDecisions(collector), written, 'every decision once, in order');
    for (const r of collector.accepted()) {
      assert.equal(r.headers.authorization, `Bearer ${TOKEN}`, 'the ${ENV} token was used');
      assert.equal(r.headers['x-tenant'], 'it');
      assert.equal(r.headers['x-tailseal-object'], r.headers['idempotency-key']);
      assert.equal(r.url, '/ingest');
    }

    // Retry-After was honoured: the next attempt came at least 1 s after the 429 was answered.
    const reqs = collector.requests;
    const throttled = reqs.findIndex((r) => r.status === 429);
    assert.ok(throttled >= 0 && reqs[throttled + 1], 'a 429 and a request after it');
    const waited = reqs[throttled + 1]!.arrivedAt - reqs[throttled]!.answeredAt!;
    assert.ok(waited >= 990, `waited ${waited.toFixed(0)} ms after Retry-After: 1`);
    assert.ok(
      logsWith(d2, 'Delivery ').some(
        (l) => l.sink === 'collector' && l.code === 'SINK_RETRYABLE' && (l.retry_in_ms as number) >= 1000,
      ),
    );
    assert.equal(reqs.filter((r) => r.status === 503).length, 3, 'the 503 burst happened and was retried through');

    // The collected objects, written as <dir>/<name>, pass `tailseal verify`.
    const dir = tempDir('tailseal-collected-');
    try {
      for (const [name, bodies] of objects) writeObject(dir, name, bodies[0]!);
      const v = cli(['verify', '--store', dir, '--public-key', ws.pubFile]);
      assert.equal(v.status, 0, v.stdout + v.stderr);
      assert.match(v.stdout, /^OK stream opa .*600 entries/m);
    } finally {
      (await import('node:fs')).rmSync(dir, { recursive: true, force: true });
    }

    // The OPA service got every decision as its OPA event (duplicates, if any, identical).
    const byId = new Map<string, Record<string, unknown>>();
    for (const e of eventsAt(opaSvc)) {
      const id = e.decision_id as string;
      if (byId.has(id)) assert.deepEqual(e, byId.get(id));
      byId.set(id, e);
    }
    assert.equal(byId.size, written.length);
    written.forEach((line, seq) => {
      const want = JSON.parse(line) as Record<string, unknown>;
      for (const k of ['level', 'msg', 'time', 'type']) delete want[k];
      const got = { ...byId.get(want.decision_id as string)! };
      const seal = got.tailseal as { stream: string; seq: number; object: string };
      delete got.tailseal;
      assert.deepEqual(got, want);
      assert.equal(seal.stream, 'opa');
      assert.equal(seal.seq, seq);
    });
    for (const r of opaSvc.accepted()) {
      assert.ok(r.body.length <= 4096, `chunk of ${r.body.length} bytes`);
      assert.equal(r.headers.authorization, `Basic ${Buffer.from(`tailseal:${PASSWORD}`).toString('base64')}`);
    }

    // No credential in any log line of either run.
    const allLogs = daemons.flatMap((d) => d.logs).join('\n');
    assert.ok(allLogs.length > 0);
    for (const secret of [TOKEN, PASSWORD, Buffer.from(`tailseal:${PASSWORD}`).toString('base64')]) {
      assert.equal(allLogs.split(secret).length - 1, 0, 'a secret appears in the daemon logs');
    }
  });
});

function eventsAt(srv: FaultServer): Record<string, unknown>[] {
  return srv
    .accepted()
    .flatMap((r: RecordedRequest) => JSON.parse(r.decoded!.toString('utf8')) as Record<string, unknown>[]);
}
