// The real daemon exports every sealed decision as an OpenTelemetry log record (OTLP/HTTP,
// protobuf, gzip) into a real Fluent Bit `opentelemetry` input, beside a file sink that keeps the
// trail. The decisions come from a container log under the kubelet's layout, so the resource
// carries the pod. Fluent Bit's file output keeps the body (`{"log": <body>}`); its stdout output
// prints each record's OTLP attributes (its record metadata) and the resource (group attributes),
// which is where the attributes are checked: every decision exactly once, with its seal.
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseObject } from '../../src/seal/gzip.js';
import { consoleLineToEvent } from '../../src/sinks/decisions/events.js';
import { toHex } from '../../src/trail/hash.js';
import { type DaemonProc, type Workspace, makeWorkspace, startDaemon, stopDaemon, waitFor } from '../helpers/daemon.js';
import { type FluentBit, SKIP_NO_FLUENT_BIT, fluentBitBinary, startFluentBit } from '../helpers/fluent-bit.js';
import { decisionLine, prng } from '../helpers/opa-sample.js';

const N = 300;
const POD = 'payments_opa-5f7c9d_3c1e2a4b-0d6f-4e8a-9b7c-1a2b3c4d5e6f';

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** seq -> chain (hex) of every decision in the file sink's store. */
function storedChains(storeDir: string): Map<number, { stream: string; chain: string; payload: string }> {
  const out = new Map<number, { stream: string; chain: string; payload: string }>();
  for (const f of readdirSync(storeDir, { recursive: true }) as string[]) {
    if (!/\.ndjson(\.gz)?$/.test(f) || f.split('/').pop()!.startsWith('.')) continue;
    for (const { envelope: e, chain } of parseObject(readFileSync(join(storeDir, f))).entries)
      if (e.kind === 'decision')
        out.set(e.seq, { stream: e.stream, chain: toHex(chain), payload: Buffer.from(e.payload).toString('utf8') });
  }
  return out;
}

const bin = fluentBitBinary();

describe('otlp sink into a real Fluent Bit', { skip: bin ? false : SKIP_NO_FLUENT_BIT }, () => {
  let w: Workspace | undefined;
  let fb: FluentBit | undefined;
  let d: DaemonProc | undefined;
  after(async () => {
    if (d) await stopDaemon(d).catch(() => d?.child.kill('SIGKILL'));
    await fb?.stop();
    w?.cleanup();
  });

  const cases = [
    { encoding: 'protobuf', gzip: true },
    { encoding: 'json', gzip: false },
  ];
  for (const c of cases)
    it(`${c.encoding}${c.gzip ? ' + gzip' : ''}: every decision once, body = the OPA event, OPA fields, seal and pod as attributes`, async () => {
      if (d) await stopDaemon(d);
      await fb?.stop();
      w?.cleanup();
      const port = await freePort();
      w = makeWorkspace({ glob: 'var/log/pods/*/opa/*.log' });
      const rnd = prng(c.gzip ? 22 : 23);
      const lines = Array.from({ length: N }, (_, i) => decisionLine(i, rnd));
      // The kubelet's layout: /var/log/pods/<namespace>_<pod>_<uid>/<container>/0.log (plain JSON lines here).
      const podDir = join(w.opaDir, 'var', 'log', 'pods', POD, 'opa');
      mkdirSync(podDir, { recursive: true });
      fb = await startFluentBit(
        bin!,
        w.root,
        `[INPUT]\n    Name opentelemetry\n    Listen 127.0.0.1\n    Port ${port}\n    Tag otlp\n\n` +
          `[OUTPUT]\n    Name stdout\n    Match otlp\n`,
        [port],
        [{ tag: 'otlp', format: 'plain' }],
      );
      const sinks = `  - name: local
    type: file
    dir: ${w.storeDir}
  - name: search
    type: otlp
    endpoint: http://127.0.0.1:${port}
    resource:
      service.name: opa-payments
    encoding: ${c.encoding}
    gzip: ${c.gzip}
    max_batch_bytes: 64KiB
    retry:
      initial_backoff: 20ms
      max_backoff: 200ms`;
      const config = readFileSync(w.configFile, 'utf8');
      const start = config.indexOf('sinks:\n') + 'sinks:\n'.length;
      const end = config.indexOf('shutdown:');
      writeFileSync(w.configFile, `${config.slice(0, start)}${sinks}\n${config.slice(end)}`);

      d = startDaemon(w);
      for (let i = 0; i < N; i += 50) appendFileSync(join(podDir, '0.log'), `${lines.slice(i, i + 50).join('\n')}\n`);
      await waitFor(() => fb!.lines('otlp').length >= N, `${N} records in Fluent Bit`, 60_000);
      await waitFor(() => storedChains(w!.storeDir).size === N, 'the trail', 30_000);
      assert.equal(await stopDaemon(d), 0);
      d = undefined;

      // Bodies (file output): exactly the OPA events, each once.
      const bodies = fb.lines('otlp').map((l) => (JSON.parse(l) as { log: string }).log);
      assert.equal(bodies.length, N);
      assert.deepEqual([...bodies].sort(), lines.map((l) => consoleLineToEvent(l)).sort());

      // Attributes (stdout): one record line per decision, carrying its seal and OPA fields.
      await waitFor(() => (fb!.output().match(/^\[\d+\] otlp: \[\[/gm) ?? []).length >= N, 'stdout records', 10_000);
      const out = fb.output();
      const records = out.split('\n').filter((l) => /^\[\d+\] otlp: \[\[/.test(l));
      assert.equal(records.length, N);
      const trail = storedChains(w.storeDir);
      const seen = new Set<number>();
      for (const r of records) {
        const meta = r.slice(0, r.indexOf('}}], {'));
        const get = (k: string) => new RegExp(`"${k.replace(/\./g, '\\.')}"=>("?)([^",}]*)\\1`).exec(meta)?.[2];
        const seq = Number(get('tailseal.seq'));
        assert.ok(!seen.has(seq), `seq ${seq} once`);
        seen.add(seq);
        const entry = trail.get(seq);
        assert.ok(entry, `seq ${seq} is in the trail`);
        assert.equal(get('tailseal.chain'), entry.chain, `seq ${seq}: chain`);
        assert.equal(get('tailseal.stream'), entry.stream);
        assert.match(get('tailseal.object') ?? '', new RegExp(`^${entry.stream}/\\d{20}-\\d{20}\\.ndjson$`));
        const event = JSON.parse(entry.payload) as { decision_id: string; path: string; result: unknown };
        assert.equal(get('opa.decision_id'), event.decision_id, `seq ${seq}: decision_id`);
        assert.equal(get('opa.path'), event.path);
        assert.match(r, /"severity_number"=>9/);
      }
      assert.equal(seen.size, N);
      // The resource (group attributes): host, the pod from the path, the configured service.name.
      const groups = out.split('\n').filter((l) => l.startsWith('{"resource"=>'));
      assert.ok(groups.length >= 1);
      for (const g of groups) {
        assert.ok(g.includes(`"host.name"=>"${hostname()}"`), g);
        assert.ok(g.includes('"k8s.namespace.name"=>"payments"'), g);
        assert.ok(g.includes('"k8s.pod.name"=>"opa-5f7c9d"'), g);
        assert.ok(g.includes('"k8s.container.name"=>"opa"'), g);
        assert.ok(g.includes('"service.name"=>"opa-payments"'), g);
      }
    });
});
