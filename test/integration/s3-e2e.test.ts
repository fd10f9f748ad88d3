// End to end with the s3 sink on a real S3 server with Object Lock: the store goes away while
// OPA keeps writing and the daemon is kill -9'd; after recovery every decision is in the bucket
// exactly once, the file sink never stopped, and `verify --store s3://...` passes.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { parseObject } from '../../src/seal/gzip.js';
import { decisionLine, prng } from '../helpers/opa-sample.js';
import { RUN, docCommand } from '../docs/commands.js';
import { CLI } from '../helpers/paths.js';
import {
  type DaemonProc,
  type Workspace,
  killDaemon,
  logsWith,
  makeWorkspace,
  startDaemon,
  stopDaemon,
  storedDecisions,
  waitFor,
} from '../helpers/daemon.js';
import { type S3Server, createBucket, s3Client, s3ForSuite, verifyS3, versionCount } from '../helpers/s3-server.js';
import { type TcpProxy, tcpProxy } from '../helpers/tcp-proxy.js';

// Started here, at load, so that a skip is known when the tests are declared. Without a server,
// `it` declares each test skipped with the reason (a skipped describe would not be counted).
const suite = s3ForSuite();
const it = suite.it;

describe('s3 end to end', () => {
  let s3: S3Server;
  let proxy: TcpProxy;
  let w: Workspace;
  let d: DaemonProc | undefined;
  const bucket = `tailseal-e2e-${Date.now().toString(36)}`;
  const rnd = prng(99);
  const written: string[] = [];
  const write = (n: number) => {
    const ls = Array.from({ length: n }, () => decisionLine(written.length + 1, rnd));
    ls.forEach((l) => written.push(l));
    appendFileSync(join(w.opaDir, 'opa.log'), ls.join('\n') + '\n');
  };

  before(async () => {
    if (!suite.server) return; // every test is skipped
    s3 = suite.server;
    await createBucket(s3, bucket, true);
    proxy = await tcpProxy(Number(new URL(s3.endpoint).port));
  });
  after(async () => {
    d?.child.kill('SIGKILL');
    await proxy?.close();
    w?.cleanup();
    s3?.stop();
  });

  /** A doc command line (`tailseal` is this build's CLI) run asynchronously in `cwd`: the proxy is in-process. */
  function sh(command: string, cwd: string): Promise<{ code: number | null; out: string }> {
    const [bin, ...args] = command.split(' ');
    assert.equal(bin, 'tailseal', command);
    return new Promise((res) => {
      const child = spawn(process.execPath, [CLI, ...args], { cwd });
      let out = '';
      child.stdout.on('data', (b) => (out += b));
      child.stderr.on('data', (b) => (out += b));
      child.on('close', (code) => res({ code, out }));
    });
  }

  /** Decision payloads in the bucket, and how many object versions each key has. */
  async function bucketDecisions(): Promise<{ decisions: string[]; maxVersions: number }> {
    const c = s3Client(s3, bucket);
    const decisions: string[] = [];
    let maxVersions = 0;
    for (const key of await c.listKeys('prod/')) {
      const body = (await c.send('GET', key)).body;
      decisions.push(
        ...parseObject(body)
          .entries.filter((e) => e.envelope.kind === 'decision')
          .map((e) => Buffer.from(e.envelope.payload).toString()),
      );
      maxVersions = Math.max(maxVersions, await versionCount(c, key));
    }
    return { decisions, maxVersions };
  }

  it('delivers everything exactly once after an outage with a kill -9 in it', async () => {
    w = makeWorkspace({
      sinksYaml: `  - name: local
    type: file
    dir: STORE
    retry: { initial_backoff: 20ms, max_backoff: 200ms }
  - name: s3
    type: s3
    bucket: ${bucket}
    prefix: prod/
    endpoint: http://127.0.0.1:${proxy.port}
    path_style: true
    credentials: { access_key_id: "\${TEST_S3_KEY}", secret_access_key: "\${TEST_S3_SECRET}" }
    object_lock: { mode: GOVERNANCE, retention: 1d }
    timeout: { connect: 1s, request: 5s }
    retry: { initial_backoff: 50ms, max_backoff: 300ms }`,
    });
    writeFileSync(w.configFile, readFileSync(w.configFile, 'utf8').replace('dir: STORE', `dir: ${w.storeDir}`));
    process.env.TEST_S3_KEY = s3.accessKey;
    process.env.TEST_S3_SECRET = s3.secretKey;

    write(200);
    d = startDaemon(w);
    await waitFor(() => storedDecisions(w.storeDir).length === 200, '200 decisions in the file sink');
    await waitFor(() => logsWith(d!, 'Object acknowledged.').some((l) => l.sink === 's3'), 'a first s3 delivery');

    await proxy.down(); // the S3 store goes away
    write(300);
    await waitFor(() => storedDecisions(w.storeDir).length === 500, 'the file sink keeps receiving during the outage');
    await waitFor(() => logsWith(d!, 'Delivery failed').some((l) => l.sink === 's3'), 'the s3 failure to be logged');
    await killDaemon(d);

    d = startDaemon(w); // starts although S3 is still unreachable
    await waitFor(() => logsWith(d!, 'tailseal running.').length > 0, 'start-up although S3 is unreachable');
    assert.ok(logsWith(d, 'Sink is not reachable at start-up').some((l) => l.sink === 's3'));
    write(100);
    await waitFor(() => storedDecisions(w.storeDir).length === 600, '600 in the file sink');
    await proxy.up();
    await waitFor(() => logsWith(d!, 'Object acknowledged.').some((l) => l.sink === 's3'), 'deliveries to resume');
    const deadline = Date.now() + 60_000;
    let got = await bucketDecisions();
    while (got.decisions.length < 600 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      got = await bucketDecisions();
    }
    assert.equal(await stopDaemon(d), 0);
    d = undefined;
    got = await bucketDecisions();
    assert.equal(got.decisions.length, 600, 'every decision in the bucket');
    assert.deepEqual([...got.decisions].sort(), [...written].sort(), 'exactly once, byte for byte');
    assert.equal(got.maxVersions, 1, 'no object was written twice');

    const pub = w.pubFile;
    // Directly, with the standard AWS_* variables and flags (the server is another process).
    const v = verifyS3(s3, `s3://${bucket}/prod/`, pub);
    assert.equal(v.status, 0, v.stdout + v.stderr);
    assert.match(v.stdout, /OK stream opa .*: 600 entries/);
    const kept = verifyS3(s3, `s3://${bucket}/prod/`, pub, '--min-retention', '1d');
    assert.equal(kept.status, 0, kept.stdout + kept.stderr);
    const short = verifyS3(s3, `s3://${bucket}/prod/`, pub, '--min-retention', '30d');
    assert.equal(short.status, 1);
    assert.match(short.stdout, /^FAIL RETENTION_MISSING: object prod\/opa\/.* is retained \(GOVERNANCE\) only until /);
    assert.match(
      short.stdout,
      /, 1(\.\d+)?d after it was sealed \(.*\): less than the required 30d$/m,
      'in the unit given',
    );
    // Through the sink's own settings (the proxy runs in this process: spawn asynchronously).
    const viaSink = await new Promise<{ code: number | null; out: string }>((res) => {
      const child = spawn(process.execPath, [
        CLI,
        'verify',
        '--store',
        `s3://${bucket}/prod/`,
        '--config',
        w.configFile,
        '--sink',
        's3',
        '--public-key',
        pub,
      ]);
      let out = '';
      child.stdout.on('data', (b) => (out += b));
      child.stderr.on('data', (b) => (out += b));
      child.on('close', (code) => res({ code, out }));
    });
    assert.equal(viaSink.code, 0, viaSink.out);
    assert.match(viaSink.out, /OK stream opa .*: 600 entries/);
  });

  it('a lost state directory is rebuilt from the bucket: the chain continues, nothing is sealed twice (recovery.sink: s3)', async () => {
    rmSync(w.stateDir, { recursive: true });
    writeFileSync(
      w.configFile,
      readFileSync(w.configFile, 'utf8') + 'recovery:\n  on_state_loss: chain_tail\n  sink: s3\n',
    );
    write(50);
    d = startDaemon(w);
    const deadline = Date.now() + 60_000;
    let got = await bucketDecisions();
    while (got.decisions.length < 650 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      got = await bucketDecisions();
    }
    assert.ok(
      logsWith(d, 'State database was lost; continuing the chain').some((l) => l.sink === 's3' && l.size === 600),
    );
    assert.equal(await stopDaemon(d), 0);
    d = undefined;
    assert.deepEqual(
      [...got.decisions].sort(),
      [...written].sort(),
      'the 50 new decisions once, none of the 600 again',
    );
    assert.equal(got.maxVersions, 1);
    const v = verifyS3(s3, `s3://${bucket}/prod/`, w.pubFile, '--verbose');
    assert.equal(v.status, 0, v.stdout + v.stderr);
    assert.match(v.stdout, /OK stream opa .*: 651 entries.*1 gap record\(s\): 1 state_reset/);
    assert.match(
      v.stdout,
      /"reason":"state_reset","cause":"missing","policy":"chain_tail","from_sink":"s3","trail_size":600/,
    );
  });

  // docs/operations.md's commands, from its text: only the bucket, prefix, sink name and file paths are
  // substituted (the config is the workspace's tailseal.yaml, run in its directory).
  it('the documented check-sink and verify --store s3://... --config --sink --min-retention commands', async () => {
    const check = docCommand(RUN.checkSink).replace('<name>', 's3').replace('<file>', 'tailseal.yaml');
    const ready = await sh(check, w.root);
    assert.equal(ready.code, 0, ready.out);
    const doc = docCommand(RUN.verifyS3);
    const [, retention] = /--min-retention (\S+)$/.exec(doc) ?? [];
    assert.ok(retention, `the doc's verify ends with --min-retention: ${doc}`);
    const verify = doc
      .replace('s3://opa-decisions-audit/prod/cluster-a/', `s3://${bucket}/prod/`)
      .replace('--sink archive', '--sink s3')
      .replace('signer.key.pub', 'keys/signer.key.pub');
    assert.notEqual(verify, doc, 'the doc command is the one substituted');
    // The sink keeps objects 1d: the doc's retention fails on the first object, and names why.
    const long = await sh(verify, w.root);
    assert.equal(long.code, 1, long.out);
    assert.match(long.out, new RegExp(`^FAIL RETENTION_MISSING: .*less than the required ${retention}$`, 'm'));
    const kept = await sh(verify.replace(`--min-retention ${retention}`, '--min-retention 1d'), w.root);
    assert.equal(kept.code, 0, kept.out);
    assert.match(kept.out, /^OK stream opa .*: 651 entries/m);
  });
});
