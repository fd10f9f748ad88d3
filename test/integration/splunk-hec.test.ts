// The real daemon ships decisions to a real Fluent Bit `splunk` input (HEC, with splunk_token)
// through a splunk_hec sink, beside a file sink holding the trail: every decision arrives exactly
// once with its time, sourcetype, index and indexed fields (the seal included, matching the
// trail), and a second splunk_hec sink with a wrong token gets Fluent Bit's 403 (HEC code 4),
// parks its objects with SINK_PERMANENT naming the fix, and never holds up the trail or the
// other sink. No log line or status holds either token.
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  type DaemonProc,
  type Workspace,
  cli,
  freePort,
  logsWith,
  makeWorkspace,
  startDaemon,
  stopDaemon,
  decisionText,
  verifyStore,
  waitFor,
} from '../helpers/daemon.js';
import { type FluentBit, SKIP_NO_FLUENT_BIT, fluentBitBinary, startFluentBit } from '../helpers/fluent-bit.js';
import { parseObject } from '../../src/seal/gzip.js';
import { toHex } from '../../src/trail/hash.js';

const TOKEN = 'it-hec-token-3f9a1c7e5b2d4086';
const WRONG = 'it-hec-wrong-token-8e21d0c4a9f7';
const N = 300;
const bin = fluentBitBinary();
if (!bin) console.log(`# SKIP splunk-hec: ${SKIP_NO_FLUENT_BIT}`);

type Json = Record<string, unknown>;

/** The decision entries of the trail in a file sink's folder, each with its chain value (hex). */
function trailDecisions(storeDir: string): { stream: string; seq: number; payload: string; chain: string }[] {
  let files: string[];
  try {
    files = readdirSync(storeDir, { recursive: true, encoding: 'utf8' });
  } catch {
    return [];
  }
  return files
    .filter((f) => /(^|\/)[^./][^/]*\.ndjson(\.gz)?$/.test(f))
    .flatMap((f) => parseObject(readFileSync(join(storeDir, f))).entries)
    .filter((x) => x.envelope.kind === 'decision')
    .map((x) => ({
      stream: x.envelope.stream,
      seq: x.envelope.seq,
      payload: Buffer.from(x.envelope.payload).toString('utf8'),
      chain: toHex(x.chain),
    }))
    .sort((a, b) => a.stream.localeCompare(b.stream) || a.seq - b.seq);
}

describe('splunk_hec sink into a real Fluent Bit HEC receiver', { skip: bin ? false : SKIP_NO_FLUENT_BIT }, () => {
  let w: Workspace | undefined;
  let fb: FluentBit | undefined;
  let d: DaemonProc | undefined;
  const fbDir = mkdtempSync(join(tmpdir(), 'tailseal-fb-'));
  after(async () => {
    d?.child.kill('SIGKILL');
    await fb?.stop();
    rmSync(fbDir, { recursive: true, force: true });
    w?.cleanup();
  });

  it('every decision once with time, sourcetype and fields; a wrong token parks with the fix', async () => {
    const port = await freePort();
    fb = await startFluentBit(
      bin!,
      fbDir,
      `[INPUT]\n    Name splunk\n    Listen 127.0.0.1\n    Port ${port}\n    splunk_token ${TOKEN}\n    Tag hec\n`,
      [port],
      [{ tag: 'hec', format: 'plain' }],
    );
    process.env.TAILSEAL_IT_HEC_TOKEN = TOKEN;
    process.env.TAILSEAL_IT_HEC_WRONG = WRONG;
    w = makeWorkspace({
      sinksYaml: `  - name: local
    type: file
    dir: STORE
    retry: { initial_backoff: 20ms, max_backoff: 200ms }
  - name: splunk
    type: splunk_hec
    url: http://127.0.0.1:${port}
    token: \${TAILSEAL_IT_HEC_TOKEN}
    index: opa_decisions
    max_batch_bytes: 64KiB
    retry: { initial_backoff: 20ms, max_backoff: 200ms }
  - name: splunk-wrong
    type: splunk_hec
    url: http://127.0.0.1:${port}
    token: \${TAILSEAL_IT_HEC_WRONG}
    retry: { initial_backoff: 20ms, max_backoff: 200ms }`,
    });
    // The workspace names its store folder only once it is made.
    writeFileSync(w.configFile, readFileSync(w.configFile, 'utf8').replace('dir: STORE', `dir: ${w.storeDir}`));

    const next = decisionText(22);
    const log = join(w.opaDir, 'opa.log');
    const written: string[] = [];
    const write = (n: number) => {
      const text = next(n);
      written.push(...text.split('\n').filter((l) => l !== ''));
      appendFileSync(log, text);
    };
    write(N / 2);
    d = startDaemon(w);
    write(N / 2);

    await waitFor(() => fb!.lines('hec').length >= N, `${N} events at Fluent Bit`, 60_000);
    await waitFor(() => trailDecisions(w!.storeDir).length >= N, 'the trail in the file sink', 30_000);
    // The wrong token: parked (not retried in a loop), the fix named, the trail not held up.
    await waitFor(
      () => cli(['status', '--config', w!.configFile]).stdout.includes('PARKED sink splunk-wrong'),
      'the wrong-token sink to park',
      30_000,
    );
    const status = cli(['status', '--config', w.configFile]).stdout;
    assert.match(
      status,
      /PARKED sink splunk-wrong: .*SINK_PERMANENT: sink splunk-wrong: POST http:\/\/127\.0\.0\.1:\d+\/services\/collector\/event .* answered HTTP 403: HEC code 4 "Invalid token"; invalid token: check `token`/,
    );
    assert.doesNotMatch(status, /PARKED sink (splunk|local):/);
    assert.equal(await stopDaemon(d), 0);
    await new Promise((r) => setTimeout(r, 500)); // Fluent Bit flushes every 0.2 s

    // Exactly once, in seq order per stream, each with what the issue lists.
    const trail = trailDecisions(w.storeDir);
    assert.equal(trail.length, N);
    const got = fb.lines('hec').map((l) => JSON.parse(l) as Json);
    assert.equal(got.length, N, 'every decision exactly once');
    const bySeq = new Map<string, Json>();
    for (const e of got) {
      const f = e.fields as Record<string, string>;
      const key = `${f['tailseal.stream']}/${f['tailseal.seq']}`;
      assert.ok(!bySeq.has(key), `${key} twice`);
      bySeq.set(key, e);
    }
    for (const entry of trail) {
      const e = bySeq.get(`${entry.stream}/${entry.seq}`);
      assert.ok(e, `${entry.stream}/${entry.seq} reached Fluent Bit`);
      const line = JSON.parse(entry.payload) as Json;
      const { level: _l, msg: _m, time: _t, type: _y, ...opaEvent } = line;
      assert.deepEqual(e.event, opaEvent);
      assert.equal(e.time, Date.parse(line.timestamp as string) / 1000);
      assert.equal(e.sourcetype, 'opa:decision');
      assert.equal(e.index, 'opa_decisions');
      assert.deepEqual(e.fields, {
        decision_id: line.decision_id,
        path: line.path,
        allow: String(line.result),
        'tailseal.stream': entry.stream,
        'tailseal.seq': String(entry.seq),
        'tailseal.chain': entry.chain,
      });
    }
    assert.deepEqual(
      trail.map((e) => e.payload),
      written,
    );
    assert.equal(verifyStore(w).status, 0);

    const refused = logsWith(d, 'Delivery refused permanently');
    assert.ok(refused.length >= 1, 'the wrong-token sink logged its parking');
    for (const l of refused) {
      assert.equal(l.sink, 'splunk-wrong');
      assert.equal(l.code, 'SINK_PERMANENT');
      assert.match(l.err as string, /HEC code 4 "Invalid token"; invalid token: check `token`/);
    }
    for (const text of [...d.logs, status, fb.output()])
      assert.ok(!text.includes(TOKEN) && !text.includes(WRONG), `a token leaked: ${text.slice(0, 300)}`);
  });
});
