// The real daemon ships to a file sink and to an `elasticsearch` sink whose cluster is a real
// Fluent Bit `elasticsearch` input (Bulk API), which writes each document it gets, with its
// `create` action as `@meta`, through a file output. The receiver is not running while OPA writes:
// the trail is sealed and stored regardless, the search sink retries, and once Fluent Bit is up
// every decision arrives exactly once, in the configured index with the deterministic _id, with
// the OPA fields, `@timestamp` and the `tailseal` seal of the entry the file sink stored.
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseObject } from '../../src/seal/gzip.js';
import { toHex } from '../../src/trail/hash.js';
import {
  type DaemonProc,
  type Workspace,
  freePort,
  logsWith,
  makeWorkspace,
  startDaemon,
  stopDaemon,
  storedDecisions,
  waitFor,
} from '../helpers/daemon.js';
import { type FluentBit, SKIP_NO_FLUENT_BIT, fluentBitBinary, startFluentBit } from '../helpers/fluent-bit.js';
import { decisionLine, otherLine, prng } from '../helpers/opa-sample.js';
import { tempDir } from '../helpers/trail.js';

const API_KEY = 'it-es-api-key-4f0c2b7d9e18a63c';
const DECISIONS = 400;
type Json = Record<string, unknown>;

/** Every stored decision entry: decision_id -> its stream, seq and chain value (hex). */
function storedSeals(storeDir: string): Map<string, { stream: string; seq: number; chain: string }> {
  const out = new Map<string, { stream: string; seq: number; chain: string }>();
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.ndjson(\.gz)?$/.test(e.name) && !e.name.startsWith('.'))
        for (const { envelope, chain } of parseObject(readFileSync(p)).entries) {
          if (envelope.kind !== 'decision') continue;
          const id = (JSON.parse(Buffer.from(envelope.payload).toString('utf8')) as Json).decision_id as string;
          out.set(id, { stream: envelope.stream, seq: envelope.seq, chain: toHex(chain) });
        }
    }
  };
  walk(storeDir);
  return out;
}

describe('elasticsearch sink with the real daemon into a real Fluent Bit', () => {
  const bin = fluentBitBinary();
  let w: Workspace | undefined;
  let fb: FluentBit | undefined;
  let fbDir: string | undefined;
  const daemons: DaemonProc[] = [];
  after(async () => {
    for (const d of daemons) d.child.kill('SIGKILL');
    await fb?.stop();
    w?.cleanup();
    if (fbDir) rmSync(fbDir, { recursive: true, force: true });
  });

  it(
    'every decision once, in its dated index with the deterministic _id, the fields and the seal',
    {
      skip: bin === undefined ? SKIP_NO_FLUENT_BIT : false,
    },
    async (t) => {
      if (bin === undefined) return t.diagnostic(SKIP_NO_FLUENT_BIT);
      const port = await freePort();
      process.env.TAILSEAL_IT_ES_API_KEY = API_KEY;
      w = makeWorkspace({
        sinksYaml: `  - name: local
    type: file
    dir: __STORE__
  - name: search
    type: elasticsearch
    url: http://127.0.0.1:${port}
    index: opa-it-%Y.%m.%d
    api_key: \${TAILSEAL_IT_ES_API_KEY}
    max_bulk_bytes: 16KiB
    retry:
      initial_backoff: 20ms
      max_backoff: 200ms`,
      });
      const ws = w;
      const config = readFileSync(ws.configFile, 'utf8').replace('__STORE__', ws.storeDir);
      writeFileSync(ws.configFile, config); // the file sink's dir is known once the workspace is

      // OPA writes while the search cluster is down: the trail is sealed and stored all the same.
      const rnd = prng(22);
      const lines: string[] = [];
      for (let i = 0; i < DECISIONS; i++) lines.push(otherLine(i), decisionLine(i, rnd));
      appendFileSync(join(ws.opaDir, 'opa.log'), lines.join('\n') + '\n');
      const d = startDaemon(ws);
      daemons.push(d);
      await waitFor(() => storedDecisions(ws.storeDir).length >= DECISIONS, 'every decision in the file sink', 30_000);
      await waitFor(
        () => logsWith(d, 'Delivery failed').some((l) => l.sink === 'search' && l.code === 'ECONNREFUSED'),
        'the search sink retrying while the cluster is down',
      );

      fbDir = tempDir('tailseal-it-fb-');
      fb = await startFluentBit(
        bin,
        fbDir,
        `[INPUT]\n    Name elasticsearch\n    Listen 127.0.0.1\n    Port ${port}\n    Tag es\n`,
        [port],
        [{ tag: 'es', format: 'plain' }],
      );
      const received = () => fb!.lines('es').map((l) => JSON.parse(l) as Json);
      await waitFor(() => received().length >= DECISIONS, `${DECISIONS} documents at Fluent Bit`, 60_000);
      assert.equal(await stopDaemon(d), 0);
      await new Promise((r) => setTimeout(r, 500)); // a last flush of Fluent Bit's file output, if any were late
      const docs = received();
      assert.equal(docs.length, DECISIONS, 'every decision exactly once');

      const seals = storedSeals(ws.storeDir);
      const originals = new Map(
        lines
          .filter((_, i) => i % 2 === 1)
          .map((l) => [(JSON.parse(l) as Json).decision_id as string, JSON.parse(l) as Json]),
      );
      const ids = new Set<string>();
      for (const doc of docs) {
        const { '@meta': meta, ...body } = doc as { '@meta': { create: { _index: string; _id: string } } } & Json;
        const id = body.decision_id as string;
        const original = originals.get(id);
        const seal = seals.get(id);
        assert.ok(original && seal, `decision ${id} was written and stored`);
        const ts = Date.parse(original.timestamp as string);
        const day = new Date(ts).toISOString().slice(0, 10).replaceAll('-', '.');
        assert.deepEqual(meta, {
          create: { _index: `opa-it-${day}`, _id: `${seal.stream}:${seal.seq}:${seal.chain.slice(0, 16)}` },
        });
        ids.add(meta.create._id);
        const { level, msg, time, type, ...event } = original;
        void [level, msg, time, type];
        const { '@timestamp': at, tailseal, ...rest } = body;
        assert.deepEqual(rest, event, 'the OPA event, every member as OPA wrote it');
        assert.equal(at, new Date(ts).toISOString());
        const s = tailseal as { stream: string; seq: number; chain: string; object: string };
        assert.deepEqual({ stream: s.stream, seq: s.seq, chain: s.chain }, seal);
        const m = /^opa\/(\d{20})-(\d{20})\.ndjson$/.exec(s.object);
        assert.ok(m && Number(m[1]) <= s.seq && s.seq <= Number(m[2]), `${s.object} holds seq ${s.seq}`);
      }
      assert.equal(ids.size, DECISIONS, 'distinct _ids');
      assert.ok(
        d.logs.every((l) => !l.includes(API_KEY)),
        'the API key is never logged',
      );
    },
  );
});
