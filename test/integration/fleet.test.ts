// Issue 21's "Done when", on Ceph RGW with Object Lock: 20 real daemons (each its own origin and
// key, each its own prefix under one monitored prefix of one bucket, heartbeats every second) and
// a real `tailseal monitor` with `witness:` publishing to another Object Lock bucket. One daemon is
// stopped: its origin goes silent. One origin's history is rewritten and re-signed with its own key
// (its daemon stopped; the same decisions with one changed, the same object boundaries, beside the
// originals under new names): fork. One object of another origin gets a new version with one byte
// changed: the store's tampering is listed while the original (kept by Object Lock) still
// verifies; once the original version is removed (governance bypass), the origin is broken with
// ENTRY_ALTERED. The other 17 stay ok for the whole run. A green origin verifies with the
// witness's cosignatures, and a copy of its trail without its newest object fails TAIL_TRUNCATED.
//
// Measured here (2 cores, 24 GB): the 20 daemons have all delivered and been verified ~17 s after
// they are started, and use ~2 GB RSS together (~100 MB each); the whole file runs in ~60 s with
// Ceph's start. So every origin is a real daemon. The figures are printed as diagnostics each run.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { appendFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { after, before, describe } from 'node:test';
import { writeKeyPair, loadSignerKey } from '../../src/seal/keyfile.js';
import { parseObject } from '../../src/seal/gzip.js';
import { encodeObject } from '../../src/seal/encoder.js';
import { type SealRecord, type StreamHead, sealRecords, signHead } from '../../src/seal/sealer.js';
import type { S3Client } from '../../src/sinks/s3/client.js';
import type { StatusDocument } from '../../src/monitor/service.js';
import { CHAIN_START } from '../../src/trail/envelope.js';
import { CompactRange } from '../../src/trail/merkle.js';
import { parseCheckpoint } from '../../src/trail/checkpoint.js';
import { parseExtension } from '../../src/trail/object.js';
import {
  type DaemonProc,
  type Workspace,
  cli,
  decisionText,
  freePort,
  killDaemon,
  logsWith,
  makeWorkspace,
  startCli,
  startDaemon,
  stopDaemon,
} from '../helpers/daemon.js';
import { type S3Server, createBucket, s3ForSuite, verifyS3 } from '../helpers/s3-server.js';
import { getText, until } from '../helpers/poll.js';
import { noteText, tempDir, writeObject } from '../helpers/trail.js';

/** until, for a fleet's passes: polls every 100 ms for up to a minute by default. */
const untilSlow = <T>(read: () => Promise<T>, ok: (v: T) => boolean, what: string, timeoutMs = 60_000) =>
  until(read, ok, what, timeoutMs, 100);

const suite = s3ForSuite();
const it = suite.it;

const ORIGINS = 20;
const SILENT = 0; // stopped: silent
const FORKED = 1; // history rewritten: fork
const ALTERED = 2; // one object altered: broken
const GREEN = 3; // verified with the witness
const name = (i: number) => `pod-${String(i).padStart(2, '0')}`;
const originOf = (i: number) => `fleet.test/${name(i)}`;
/** The checkpoint origin: the daemon's origin and its stream. */
const checkpointOrigin = (i: number) => `${originOf(i)}/opa`;
/** Decisions each daemon seals: two rounds, so each trail has at least two objects with entries. */
const ROUND = 5;
/**
 * Heartbeats every 5 s: at 1 s, 20 writers' heartbeats kept a 2-core machine's RGW so busy that a
 * pass took longer than a short max_silence. The silent origin's max_silence is three heartbeats;
 * the others' (default) is long enough for a loaded machine and a full pass.
 */
const HEARTBEAT_S = 5;
const SILENCE_S = 15;

const md5 = (b: Buffer) => createHash('md5').update(b).digest('base64');

/** PUT with the integrity header S3 requires in an Object Lock bucket. */
async function put(c: S3Client, key: string, body: Buffer): Promise<void> {
  const res = await c.send('PUT', key, { body, headers: { 'content-md5': md5(body) } });
  assert.equal(res.status, 200, `PUT ${key}: ${res.body.toString()}`);
}

async function get(c: S3Client, key: string, versionId?: string): Promise<Buffer> {
  const res = await c.send('GET', key, versionId ? { query: { versionId } } : {});
  assert.equal(res.status, 200, `GET ${key}`);
  return res.body;
}

/** An origin's objects with entries (no heartbeats), in seq order: key and parsed object. */
async function dataObjects(c: S3Client, prefix: string) {
  const keys = (await c.listKeys(prefix)).filter((k) => /\/\d{20}-\d{20}\.ndjson\.gz$/.test(k));
  const objects = await Promise.all(keys.map(async (key) => ({ key, parsed: parseObject(await get(c, key)) })));
  return objects.sort((a, b) => a.parsed.entries[0]!.envelope.seq - b.parsed.entries[0]!.envelope.seq);
}

describe('a fleet of 20 writers, one monitor and witness, on Ceph RGW', () => {
  let s3: S3Server;
  let c: S3Client;
  const bucket = `tailseal-fleet-${Date.now().toString(36)}`;
  const witnessBucket = `${bucket}-witness`;
  const root = tempDir('tailseal-fleet-it-');
  const workspaces: Workspace[] = [];
  const daemons: DaemonProc[] = [];
  const procs: DaemonProc[] = [];
  const env = () => ({
    AWS_ACCESS_KEY_ID: s3.accessKey,
    AWS_SECRET_ACCESS_KEY: s3.secretKey,
    AWS_EC2_METADATA_DISABLED: 'true',
  });

  before(async () => {
    if (!suite.server) return; // every test is skipped
    s3 = suite.server;
    c = await createBucket(s3, bucket, true);
    await createBucket(s3, witnessBucket, true);
  });
  after(async () => {
    for (const p of [...daemons, ...procs])
      if (p.child.exitCode === null && p.child.signalCode === null) await killDaemon(p);
    for (const w of workspaces) w.cleanup();
    rmSync(root, { recursive: true, force: true });
    s3?.stop();
  });

  it('silent, fork and broken origins are told apart; the other 17 stay ok; the witness catches a truncation', async (t) => {
    // ---- 20 daemons, each its own origin, key and prefix under fleet/ ----
    const texts = Array.from({ length: ORIGINS }, (_, i) => decisionText(100 + i));
    for (let i = 0; i < ORIGINS; i++) {
      const w = makeWorkspace({
        sinksYaml: `  - name: s3
    type: s3
    bucket: ${bucket}
    prefix: fleet/${name(i)}/
    endpoint: ${s3.endpoint}
    path_style: true
    credentials: { access_key_id: "\${TEST_S3_KEY}", secret_access_key: "\${TEST_S3_SECRET}" }
    object_lock: { mode: GOVERNANCE, retention: 1d }
    retry: { initial_backoff: 50ms, max_backoff: 500ms }`,
      });
      workspaces.push(w);
      rmSync(w.keyFile);
      rmSync(w.pubFile);
      writeKeyPair(w.keyFile, originOf(i));
      writeFileSync(
        w.configFile,
        readFileSync(w.configFile, 'utf8')
          .replace('origin: tailseal.test/it', `origin: ${originOf(i)}`)
          .replace('heartbeat: 1h', `heartbeat: ${HEARTBEAT_S}s`)
          .replace('level: debug', 'level: info'),
      );
      appendFileSync(join(w.opaDir, 'opa.log'), texts[i]!(ROUND));
    }
    const started = Date.now();
    for (const w of workspaces)
      daemons.push(startDaemon(w, { TEST_S3_KEY: s3.accessKey, TEST_S3_SECRET: s3.secretKey }));

    // ---- the monitor, with the docs' config shape ----
    const witnessKey = join(root, 'witness.key');
    const k = cli(['keygen', '--witness', '--name', 'witness.test/fleet', '--out', witnessKey]);
    assert.equal(k.status, 0, k.stderr);
    const port = await freePort();
    const config = join(root, 'monitor.yaml');
    const s3Access = [`    endpoint: ${s3.endpoint}`, '    path_style: true'];
    writeFileSync(
      config,
      [
        `state_dir: ${join(root, 'monitor')}`,
        'stores:',
        '  - name: fleet',
        `    store: s3://${bucket}/fleet/`,
        ...s3Access,
        'keys:',
        ...workspaces.map((w, i) => `  - { match: "${originOf(i)}/*", files: [${w.pubFile}] }`),
        'interval: 200ms',
        // A full pass re-reads every object: what finds an object changed after it was verified.
        'full_pass_every: 20s',
        'max_silence:',
        '  default: 60s',
        '  origins:',
        `    - { match: "${checkpointOrigin(SILENT)}", after: ${SILENCE_S}s }`,
        'witness:',
        `  key_file: ${witnessKey}`,
        `  store: s3://${witnessBucket}/witnessed/`,
        ...s3Access.map((l) => l.slice(2)),
        'metrics:',
        `  listen: 127.0.0.1:${port}`,
        'log:',
        '  level: info',
        '',
      ].join('\n'),
    );
    const m = startCli(['monitor', '--config', config], env());
    procs.push(m);
    const seen: StatusDocument[] = [];
    const status = async () => {
      const s = JSON.parse(await getText(port, '/status')) as StatusDocument;
      seen.push(s);
      return s;
    };
    const of = (s: StatusDocument, i: number) => s.origins.find((o) => o.origin === checkpointOrigin(i));
    const allOk = (size: number) => (s: StatusDocument) =>
      s.origins.length === ORIGINS &&
      workspaces.every((_, i) => of(s, i)?.status === 'ok' && of(s, i)?.newest?.size === size);

    let s = await untilSlow(status, allOk(ROUND), 'every origin ok with its first round');
    const rss = daemons.reduce((n, d) => {
      const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${d.child.pid}/status`, 'utf8'))?.[1];
      return n + Number(kb ?? 0) * 1024;
    }, 0);
    t.diagnostic(
      `${ORIGINS} daemons: all delivered and verified ${((Date.now() - started) / 1000).toFixed(1)} s after start; ` +
        `RSS together ${(rss / 2 ** 20).toFixed(0)} MiB`,
    );

    // A second round: each trail has a newer object with entries (the witness test leaves it out).
    for (let i = 0; i < ORIGINS; i++) appendFileSync(join(workspaces[i]!.opaDir, 'opa.log'), texts[i]!(ROUND));
    s = await untilSlow(status, allOk(2 * ROUND), 'every origin ok with both rounds');
    s = await untilSlow(
      status,
      (x) => of(x, GREEN)?.cosigned?.size === 2 * ROUND,
      'the witness to cosign the green origin at its full size',
    );

    // ---- one origin's history rewritten and re-signed with its own key: fork ----
    assert.equal(await stopDaemon(daemons[FORKED]!), 0);
    const forked = await dataObjects(c, `fleet/${name(FORKED)}/`);
    assert.ok(forked.length >= 2, `${forked.length} objects with entries`);
    const signer = loadSignerKey(workspaces[FORKED]!.keyFile);
    let head: StreamHead = { name: 'opa', nextSeq: 0, chainHead: CHAIN_START, edge: CompactRange.empty() };
    let changed = false;
    for (const { key, parsed } of forked) {
      const firstSeq = head.nextSeq;
      const lines: Buffer[] = [];
      for (const { envelope: e } of parsed.entries) {
        // The same decisions, sealed at the same times; one of them says otherwise.
        let payload = Buffer.from(e.payload);
        if (!changed && e.kind === 'decision') {
          payload = Buffer.from(payload.toString('utf8').replace('decision_id', 'decision_iD'));
          changed = !payload.equals(e.payload);
        }
        const record: SealRecord = { kind: e.kind, source: e.source, offset: e.offset, payload, meta: e.meta };
        const sealed = sealRecords(head, [record], e.sealedAt);
        head = sealed.head;
        lines.push(...sealed.entries.map((x) => Buffer.from(x.line)));
      }
      const signedAt = parseExtension(parseCheckpoint(noteText(parsed.note!)).extensions)!.time;
      const note = signHead(originOf(FORKED), head, signedAt, signer);
      const o = encodeObject({ stream: 'opa', firstSeq, size: head.nextSeq, createdAt: signedAt, lines, note }, false);
      // Beside the original: the same folder, the name without .gz (written uncompressed).
      assert.equal(key.replace(/^.*\//, '').replace(/\.gz$/, ''), o.name.replace(/^.*\//, ''));
      await put(c, key.replace(/\.gz$/, ''), o.body);
    }
    assert.ok(changed, 'one decision was changed');
    s = await untilSlow(status, (x) => of(x, FORKED)?.status === 'fork', 'the rewritten origin to be a fork');
    assert.equal(of(s, FORKED)?.code, 'FORK');

    // ---- one object of another origin altered: a new version with one byte changed ----
    const [target] = await dataObjects(c, `fleet/${name(ALTERED)}/`);
    const plain = gunzipSync(await get(c, target!.key)).toString('utf8');
    const alteredText = plain.replace('decision_id', 'decision_iD');
    assert.equal(alteredText.length, plain.length);
    assert.notEqual(alteredText, plain);
    await put(c, target!.key, gzipSync(Buffer.from(alteredText, 'utf8')));
    // Object Lock kept the original, which is what is verified: the store's tampering is listed.
    s = await untilSlow(
      status,
      (x) => x.stores[0]?.problems.some((p) => p.code === 'STORE_TAMPERED') === true,
      'the new version to be listed as the store tampered',
    );
    const tampered = s.stores[0]!.problems.find((p) => p.code === 'STORE_TAMPERED')!;
    assert.deepEqual(
      tampered.tampering?.map((x) => [x.key, x.kind]),
      [[target!.key, 'version']],
    );
    assert.equal(of(s, ALTERED)?.status, 'ok', 'the original version still verifies');
    assert.equal(s.ok, false, 'a store problem: not ok');
    // Whoever may bypass governance retention removes the original: the altered bytes are what is left.
    const versions = (await c.listVersions(target!.key)).filter((v) => v.key === target!.key);
    assert.equal(versions.length, 2);
    const original = versions.find((v) => !v.isLatest)!;
    const del = await c.send('DELETE', target!.key, {
      query: { versionId: original.versionId },
      headers: { 'x-amz-bypass-governance-retention': 'true' },
    });
    assert.equal(del.status, 204, `DELETE the original version: ${del.body.toString()}`);
    // ---- one daemon stopped: silent within max_silence (and a pass); meanwhile a full pass comes ----
    assert.equal(await stopDaemon(daemons[SILENT]!), 0);
    s = await untilSlow(
      status,
      (x) => of(x, SILENT)?.status === 'silent',
      'the stopped origin to be silent',
      SILENCE_S * 1000 + 30_000,
    );
    assert.equal(of(s, SILENT)?.code, 'SILENT');

    s = await untilSlow(status, (x) => of(x, ALTERED)?.status === 'broken', 'the altered origin to be broken');
    assert.equal(of(s, ALTERED)?.code, 'ENTRY_ALTERED');
    assert.equal(of(s, ALTERED)?.object, target!.key);

    // ---- the witness: a green origin verifies with the cosignatures; a truncated copy fails ----
    const pub = workspaces[GREEN]!.pubFile;
    const witnessed = ['--witness-key', `${witnessKey}.pub`, '--witness-store', `s3://${witnessBucket}/witnessed/`];
    const v = verifyS3(s3, `s3://${bucket}/fleet/${name(GREEN)}/`, pub, ...witnessed);
    assert.equal(v.status, 0, v.stdout + v.stderr);
    assert.match(v.stdout, new RegExp(`WITNESSED ${checkpointOrigin(GREEN).replace(/[./]/g, '\\$&')}: `));
    // Its trail copied to a directory without its newest object (and no heartbeat after it).
    const green = await dataObjects(c, `fleet/${name(GREEN)}/`);
    assert.ok(green.length >= 2, `${green.length} objects with entries`);
    const copy = join(root, 'truncated');
    for (const { key } of green.slice(0, -1))
      writeObject(copy, key.slice(`fleet/${name(GREEN)}/`.length), await get(c, key));
    const cut = verifyS3(s3, copy, pub, ...witnessed, '--json');
    assert.equal(cut.status, 1, cut.stdout + cut.stderr);
    assert.equal((JSON.parse(cut.stdout) as { code: string }).code, 'TAIL_TRUNCATED');

    // ---- after the last pass: the three as found, the other 17 ok, and ok all along ----
    const passes = s.passes;
    s = await untilSlow(status, (x) => x.passes >= passes + 2, 'two more passes');
    assert.deepEqual(
      [SILENT, FORKED, ALTERED].map((i) => [of(s, i)?.status, of(s, i)?.code]),
      [
        ['silent', 'SILENT'],
        ['fork', 'FORK'],
        ['broken', 'ENTRY_ALTERED'],
      ],
    );
    const others = workspaces.map((_, i) => i).filter((i) => ![SILENT, FORKED, ALTERED].includes(i));
    assert.equal(others.length, 17);
    assert.deepEqual(
      others.map((i) => of(s, i)?.status),
      others.map(() => 'ok'),
    );
    const otherOrigins = new Set(others.map(checkpointOrigin));
    const notOk = seen.flatMap((x) => x.origins.filter((o) => otherOrigins.has(o.origin) && o.status !== 'ok'));
    assert.deepEqual(notOk, [], 'none of the 17 was ever seen otherwise');
    const changes = logsWith(m, 'Monitor: origin').filter((l) => otherOrigins.has(l.origin as string));
    assert.deepEqual(
      changes.map((l) => l.status),
      others.map(() => 'ok'),
      'each of the 17 logged once: ok',
    );

    const passLogs = logsWith(m, 'Monitor pass done.');
    t.diagnostic(
      `monitor: ${passLogs.length} passes (${passLogs.filter((l) => l.full).length} full), the longest ` +
        `${Math.max(...passLogs.map((l) => Number(l.duration_ms)))} ms`,
    );
    for (const d of daemons.filter((x) => x.child.exitCode === null)) assert.equal(await stopDaemon(d), 0);
    assert.equal(await stopDaemon(m), 0);
  });
});
