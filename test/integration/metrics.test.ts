// Issue 9, observability: /metrics (Prometheus text), /healthz and /readyz on the status
// listener of a real daemon process, with real lines, a real failing sink and a real lock on
// the state database.
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { appendFileSync, chmodSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { metricSample } from '../helpers/metrics.js';
import {
  freePort,
  logsWith,
  makeWorkspace,
  startDaemon,
  stopDaemon,
  storedDecisions,
  waitFor,
} from '../helpers/daemon.js';
import { decisionLine, prng } from '../helpers/opa-sample.js';

async function get(port: number, path: string): Promise<{ status: number; body: string; type: string | null }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: await res.text(), type: res.headers.get('content-type') };
}

const sample = metricSample;

async function waitForAsync(cond: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    // Refused connections while the daemon is still starting count as "not yet".
    if (await cond().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe('metrics and health endpoints', () => {
  it('/metrics counts what was read, sealed, skipped, gapped and shipped; /healthz and /readyz answer 200', async () => {
    const port = await freePort();
    const w = makeWorkspace({ maxLineBytes: '4KiB', extraYaml: `metrics:\n  listen: 127.0.0.1:${port}\n` });
    const rnd = prng(41);
    const decisions = Array.from({ length: 12 }, (_, i) => decisionLine(i, rnd));
    const lines = [
      ...decisions,
      '{"level":"info","msg":"Server started"}',
      'not json at all',
      `{"decision_id":"big","x":"${'a'.repeat(5000)}"}`,
    ];
    writeFileSync(join(w.opaDir, 'opa.log'), lines.map((l) => `${l}\n`).join(''));
    const d = startDaemon(w);
    try {
      await waitFor(() => storedDecisions(w.storeDir).length === 12, '12 decisions');
      await waitForAsync(
        async () =>
          sample((await get(port, '/metrics')).body, 'tailseal_sink_objects_acked_total', { sink: 'local' })! >= 1,
        'an ack',
      );
      const m = await get(port, '/metrics');
      assert.equal(m.status, 200);
      assert.match(m.type ?? '', /^text\/plain; version=0\.0\.4/);
      const page = m.body;
      assert.equal(sample(page, 'tailseal_decisions_sealed_total', { input: 'opa', stream: 'opa' }), 12);
      assert.equal(sample(page, 'tailseal_lines_read_total', { input: 'opa' }), 15);
      assert.equal(sample(page, 'tailseal_lines_skipped_total', { input: 'opa', reason: 'not_decision' }), 1);
      assert.equal(sample(page, 'tailseal_lines_skipped_total', { input: 'opa', reason: 'not_json' }), 1);
      assert.equal(sample(page, 'tailseal_gap_records_total', { input: 'opa', reason: 'line_too_long' }), 1);
      assert.ok(sample(page, 'tailseal_bytes_read_total', { input: 'opa' })! > 5000);
      assert.equal(sample(page, 'tailseal_file_lag_bytes', { input: 'opa', path: join(w.opaDir, 'opa.log') }), 0);
      assert.ok(sample(page, 'tailseal_sink_upload_seconds_count', { sink: 'local' })! >= 1);
      assert.ok(sample(page, 'tailseal_sink_bytes_acked_total', { sink: 'local' })! > 0);
      assert.equal(sample(page, 'tailseal_sink_parked_objects', { sink: 'local' }), 0);
      assert.equal(sample(page, 'tailseal_outbox_limit_bytes'), 128 * 1024 * 1024); // the workspace's outbox.max_bytes
      assert.equal(sample(page, 'tailseal_backpressure'), 0);
      assert.equal(sample(page, 'tailseal_outbox_entries'), 0, 'everything shipped');
      assert.equal(sample(page, 'tailseal_checkpoint_size', { stream: 'opa' }), 13, '12 decisions + 1 gap record');
      assert.ok(sample(page, 'tailseal_checkpoint_age_seconds', { stream: 'opa' })! < 60);
      assert.equal(sample(page, 'tailseal_build_info', { node: process.version }), 1);
      const health = await get(port, '/healthz');
      assert.deepEqual([health.status, health.body], [200, 'ok\n']);
      const ready = await get(port, '/readyz');
      assert.equal(ready.status, 200, ready.body);
      assert.match(ready.body, /^ok state_db\nok input opa\nok sink local\n$/);
      assert.equal((await get(port, '/nope')).status, 404);
      assert.equal((await fetch(`http://127.0.0.1:${port}/metrics`, { method: 'POST' })).status, 405);
    } finally {
      assert.equal(await stopDaemon(d), 0);
    }
    w.cleanup();
  });

  it('/readyz fails naming the cause: a sink failing past sink_failing_after, a locked state database; and recovers', async () => {
    const port = await freePort();
    const dead = await freePort(); // nothing listens there
    const w = makeWorkspace({
      extraYaml: `metrics:\n  listen: 127.0.0.1:${port}\n  sink_failing_after: 1s\n`,
      sinksYaml: `  - name: local\n    type: file\n    dir: ${'STORE'}\n  - name: collector\n    type: http\n    url: http://127.0.0.1:${dead}/ingest\n    retry: { initial_backoff: 50ms, max_backoff: 200ms }`,
    });
    writeFileSync(w.configFile, readFileSync(w.configFile, 'utf8').replace('dir: STORE', `dir: ${w.storeDir}`));
    const rnd = prng(42);
    const log = join(w.opaDir, 'opa.log');
    writeFileSync(
      log,
      Array.from({ length: 5 }, (_, i) => decisionLine(i, rnd))
        .map((l) => `${l}\n`)
        .join(''),
    );
    const d = startDaemon(w);
    try {
      // 503 from the start (start-up in progress), then for the dead collector.
      const failing = async () => /FAIL sink collector: deliveries failing/.test((await get(port, '/readyz')).body);
      await waitForAsync(failing, '/readyz 503 for the dead collector');
      const r = await get(port, '/readyz');
      assert.match(
        r.body,
        /^FAIL sink collector: deliveries failing for \d+ s \(metrics\.sink_failing_after is 1 s\)$/m,
      );
      assert.match(r.body, /^ok sink local$/m);
      const page = (await get(port, '/metrics')).body;
      assert.ok(sample(page, 'tailseal_sink_failures_total', { sink: 'collector', class: 'retryable' })! >= 1);
      assert.ok(sample(page, 'tailseal_sink_retries_total', { sink: 'collector' })! >= 1);
      assert.ok(sample(page, 'tailseal_sink_cursor_lag_objects', { sink: 'collector' })! >= 1);
      assert.equal(sample(page, 'tailseal_outbox_entries'), 5, 'the 5 decisions wait for the collector');
      assert.equal((await get(port, '/healthz')).status, 200, 'alive although not ready');
      // The collector comes up: ready again once it has everything.
      const srv = createServer((sock) => {
        let buf = '';
        sock.on('data', (b) => {
          buf += b.toString('latin1');
          const h = buf.indexOf('\r\n\r\n');
          const len = Number(/content-length: (\d+)/i.exec(buf)?.[1] ?? -1);
          // A gzip'd object streams chunked (its length is not known up front): ends at the last chunk.
          const whole = len >= 0 ? buf.length >= h + 4 + len : buf.endsWith('\r\n0\r\n\r\n');
          if (h >= 0 && whole) {
            sock.end('HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
            buf = '';
          }
        });
      });
      await new Promise<void>((res) => srv.listen(dead, '127.0.0.1', () => res()));
      try {
        // Ready again at the first success; the collector is only closed once it has every
        // object (closing it at the first 200 would fail the objects still on their way).
        await waitForAsync(
          async () => (await get(port, '/readyz')).status === 200,
          '/readyz 200 once deliveries succeed',
        );
        await waitForAsync(
          async () =>
            sample((await get(port, '/metrics')).body, 'tailseal_sink_cursor_lag_objects', { sink: 'collector' }) === 0,
          'the collector has everything',
        );
      } finally {
        srv.close();
      }

      // Another process holds the database's write lock past the busy timeout.
      const other = new Database(join(w.stateDir, 'tailseal.db'));
      other.exec('BEGIN IMMEDIATE');
      appendFileSync(log, decisionLine(99, rnd) + '\n');
      try {
        await waitForAsync(
          async () => (await get(port, '/readyz')).status === 503,
          '/readyz 503 while commits fail',
          30_000,
        );
        const body = (await get(port, '/readyz')).body;
        assert.match(body, /^FAIL state_db: last commit failed: .*(locked|busy)/im);
        assert.match(body, /^FAIL input opa: reading paused: /m);
      } finally {
        other.exec('ROLLBACK');
        other.close();
      }
      await waitForAsync(
        async () => (await get(port, '/readyz')).status === 200,
        '/readyz 200 after the lock is gone',
        30_000,
      );
    } finally {
      assert.equal(await stopDaemon(d), 0);
    }
    w.cleanup();
  });

  it('a metrics port in use stops start-up with CONFIG_INVALID (exit 2) naming metrics.listen', async () => {
    const port = await freePort();
    const blocker = createServer();
    await new Promise<void>((res) => blocker.listen(port, '127.0.0.1', () => res()));
    const w = makeWorkspace({ extraYaml: `metrics:\n  listen: 127.0.0.1:${port}\n` });
    try {
      const d = startDaemon(w);
      assert.equal(await d.exited, 2);
      assert.match(
        d.logs.join('\n'),
        /CONFIG_INVALID: metrics: cannot listen on 127\.0\.0\.1:\d+: EADDRINUSE; another process uses that port; set another `metrics\.listen`/,
      );
    } finally {
      blocker.close();
      w.cleanup();
    }
  });

  it('the periodic audit verifies the trail in the sink, and reports an altered object at error level and as tailseal_audit_ok 0', async () => {
    const port = await freePort();
    const w = makeWorkspace({
      extraYaml: `metrics:\n  listen: 127.0.0.1:${port}\naudit:\n  interval: 300ms\n  full_interval: 2s\n`,
    });
    const rnd = prng(43);
    writeFileSync(
      join(w.opaDir, 'opa.log'),
      Array.from({ length: 8 }, (_, i) => decisionLine(i, rnd))
        .map((l) => `${l}\n`)
        .join(''),
    );
    const d = startDaemon(w);
    try {
      await waitFor(() => storedDecisions(w.storeDir).length === 8, '8 decisions');
      await waitFor(
        () =>
          logsWith(d, 'Integrity audit passed').some(
            (l) => JSON.stringify(l.streams) === '[{"stream":"opa","entries":8}]',
          ),
        'an audit that saw all 8 entries',
      );
      // Between full passes, passes read only new objects and continue the verified state.
      await waitFor(
        () =>
          logsWith(d, 'Integrity audit passed (new objects)').some(
            (l) => l.full === false && JSON.stringify(l.streams) === '[{"stream":"opa","entries":8}]',
          ),
        'an incremental pass',
      );
      let page = (await get(port, '/metrics')).body;
      assert.equal(sample(page, 'tailseal_audit_ok', { sink: 'local' }), 1);
      assert.equal(sample(page, 'tailseal_audit_entries', { sink: 'local', stream: 'opa' }), 8);
      assert.ok(
        Math.abs(
          sample(page, 'tailseal_audit_last_success_timestamp_seconds', { sink: 'local' })! - Date.now() / 1000,
        ) < 60,
      );
      // Someone with write access to the store changes one entry.
      const dir = join(w.storeDir, 'opa');
      const name = readdirSync(dir).find((n) => /^\d{20}-\d{20}\.ndjson$/.test(n))!;
      const file = join(dir, name);
      chmodSync(file, 0o644);
      writeFileSync(
        file,
        readFileSync(file, 'utf8').replace(/"offset":(\d+)/, (_, n: string) => `"offset":${Number(n) + 1}`),
      );
      await waitFor(() => logsWith(d, 'Integrity audit FAILED').length > 0, 'a failed audit', 20_000);
      const failed = logsWith(d, 'Integrity audit FAILED')[0]!;
      assert.equal(failed.level, 50);
      assert.equal(failed.code, 'ENTRY_ALTERED');
      assert.equal(failed.sink, 'local');
      assert.equal(failed.full, true, 'an object changed after it was audited is found by the full pass');
      page = (await get(port, '/metrics')).body;
      assert.equal(sample(page, 'tailseal_audit_ok', { sink: 'local' }), 0);
    } finally {
      assert.equal(await stopDaemon(d), 0);
    }
    w.cleanup();
  });
});
