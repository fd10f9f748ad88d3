// Issue 16 items 10 and 11: uploads OPA re-sends after a lost answer, with mask rules on. The
// rules used to run before duplicates were removed: a retry was masked, quarantined and counted
// again, `decisions` went negative ("It is not possible to decrease a counter") and the batch's
// metrics were lost. And opa_service never fed tailseal_lines_read_total / _bytes_read_total.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type DaemonProc, type Workspace, cli, freePort, makeWorkspace } from '../helpers/daemon.js';
import { receiversListening, startDaemon, stopDaemon, storeEntries, verifyStore, waitFor } from '../helpers/daemon.js';
import { metricSample } from '../helpers/metrics.js';
import { event, upload } from '../helpers/opa-upload.js';
import { type TcpProxy, tcpProxy } from '../helpers/tcp-proxy.js';

const N = 20;

/** Event i: dropped (i % 4 == 0), failing the rules (2), masked (1 and 3: the upsert applies). */
function events(): object[] {
  return Array.from({ length: N }, (_, i) => {
    const inputs = [{ method: 'DELETE' }, { secret: `s-${i}` }, { user: 'str' }, { method: 'GET' }];
    return event(`retry-${i}`, { input: inputs[i % 4] });
  });
}

describe('opa_service: retried uploads with mask rules, and read counters', () => {
  let w: Workspace;
  let d: DaemonProc;
  let proxy: TcpProxy;
  let metricsPort: number;
  let plainUrl: string;
  let noTombUrl: string;
  /** The persistent counters (`tailseal status --json`). */
  const counters = (): Record<string, number> =>
    (JSON.parse(cli(['status', '--config', w.configFile, '--json']).stdout) as { counters: Record<string, number> })
      .counters;
  const scrape = async () => (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  before(async () => {
    const [masked, plain, noTomb] = [await freePort(), await freePort(), await freePort()];
    noTombUrl = `http://127.0.0.1:${noTomb}/logs`;
    metricsPort = await freePort();
    plainUrl = `http://127.0.0.1:${plain}/logs`;
    proxy = await tcpProxy(masked);
    const inputs = `  - name: masked
    type: opa_service
    listen: 127.0.0.1:${masked}
    mask:
      rules:
        - { drop: /input/method, equals: "DELETE" }
        - { erase: /input/secret }
        - { upsert: /input/user/name, value: "x" }
  - name: plain
    type: opa_service
    listen: 127.0.0.1:${plain}
  - name: notomb
    type: opa_service
    listen: 127.0.0.1:${noTomb}
    mask:
      tombstones: false
      rules: [{ drop: /input/method, equals: "DELETE" }]`;
    w = makeWorkspace({ inputsYaml: inputs, extraYaml: `metrics:\n  listen: 127.0.0.1:${metricsPort}\n` });
    d = startDaemon(w);
    await receiversListening(d, 3);
  });
  after(async () => {
    await proxy.close();
    await stopDaemon(d);
    w.cleanup();
  });

  it('opa_service counts uploaded events and decoded bytes as lines and bytes read', async () => {
    const body = JSON.stringify([event('plain-1'), event('plain-2'), event('plain-3')]);
    assert.equal((await upload(plainUrl, body)).status, 200);
    const page = await scrape();
    assert.equal(metricSample(page, 'tailseal_lines_read_total', { input: 'plain' }), 3);
    assert.equal(metricSample(page, 'tailseal_bytes_read_total', { input: 'plain' }), Buffer.byteLength(body));
  });

  it('answers lost after the commit: each retry is a duplicate, masked and counted once', async () => {
    const body = JSON.stringify(events());
    const url = `http://127.0.0.1:${proxy.port}/logs`;
    proxy.dropAnswers(true);
    for (let i = 0; i < 2; i++) await assert.rejects(upload(url, body), 'the answer is lost after the commit');
    proxy.dropAnswers(false);
    assert.deepEqual(JSON.parse((await upload(url, body)).body), { accepted: N });

    const page = await scrape();
    const m = (name: string, labels: Record<string, string>) =>
      metricSample(page, name, { input: 'masked', ...labels });
    assert.equal(m('tailseal_decisions_sealed_total', { stream: 'masked' }), N / 2);
    assert.equal(m('tailseal_gap_records_total', { reason: 'dropped' }), N / 4);
    assert.equal(m('tailseal_gap_records_total', { reason: 'mask_failed' }), N / 4);
    assert.equal(m('tailseal_lines_read_total', {}), 3 * N, 'every upload was read');
    assert.deepEqual(
      d.logs.filter((l) => l.includes('Could not update the metrics')),
      [],
    );

    const c = counters();
    const got = [c.decisions, c.decisions_duplicate, c.decisions_dropped, c.decisions_quarantined];
    const want = [N / 2 + 3, 2 * N, N / 4, N / 4];
    assert.deepEqual(got, want, 'decisions (3 of them plain), duplicates, dropped, quarantined');
    assert.equal(c.gap_dropped, N / 4);
    assert.equal(c.gap_mask_failed, N / 4);
    const quarantined = readFileSync(join(w.stateDir, 'quarantine', 'masked.ndjson'), 'utf8')
      .trim()
      .split('\n');
    assert.equal(quarantined.length, N / 4, 'each failing decision quarantined once');
    const kinds = () =>
      storeEntries(w.storeDir)
        .filter((e) => e.stream === 'masked')
        .map((e) => e.kind);
    await waitFor(() => kinds().length === N, 'N entries in the store');
    assert.equal(kinds().filter((k) => k === 'gap').length, N / 2, 'one gap record per dropped or failing event');
    assert.equal(verifyStore(w).status, 0);
  });

  it('a decision dropped without a tombstone is known when it is re-sent: dropped once, then a duplicate', async () => {
    const before = counters();
    const body = JSON.stringify([event('nt-drop', { input: { method: 'DELETE' } }), event('nt-keep')]);
    for (let i = 0; i < 2; i++) assert.equal((await upload(noTombUrl, body)).status, 200);
    const after = counters();
    const delta = (k: string) => (after[k] ?? 0) - (before[k] ?? 0);
    assert.deepEqual([delta('decisions'), delta('decisions_dropped'), delta('decisions_duplicate')], [1, 1, 2]);
  });
});
