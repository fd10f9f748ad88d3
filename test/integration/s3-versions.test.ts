// Writing over an Object Lock bucket with the daemon's own credentials (s3:PutObject,
// s3:DeleteObject): a newer version over one object and a delete marker over another. The locked
// originals stay; verify, the audit and lost-state recovery read them, and report the changes as
// STORE_TAMPERED (verify: exit 3) naming the keys, versions, times and owner.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import type { S3Client } from '../../src/sinks/s3/client.js';
import { decisionLine, prng } from '../helpers/opa-sample.js';
import {
  type DaemonProc,
  type Workspace,
  killDaemon,
  logsWith,
  makeWorkspace,
  startDaemon,
  stopDaemon,
  waitFor,
} from '../helpers/daemon.js';
import { CLI } from '../helpers/paths.js';
import { type S3Server, createBucket, s3ForSuite, verifyS3 } from '../helpers/s3-server.js';

// Started here, at load, so that a skip is known when the tests are declared. Without a server,
// `it` declares each test skipped with the reason (a skipped describe would not be counted).
const suite = s3ForSuite();
const it = suite.it;

describe('s3 versions written over the trail', () => {
  let s3: S3Server;
  let c: S3Client;
  let w: Workspace;
  let d: DaemonProc | undefined;
  const bucket = `tailseal-versions-${Date.now().toString(36)}`;
  const rnd = prng(7);
  let decisions = 0;
  const write = (n: number) => {
    const ls = Array.from({ length: n }, () => decisionLine(++decisions, rnd));
    appendFileSync(join(w.opaDir, 'opa.log'), ls.join('\n') + '\n');
  };
  // Data objects (not heartbeats), in seq order (names are zero-padded).
  const keys = async () => (await c.listKeys('prod/')).filter((k) => /\/\d+-\d+\.ndjson\.gz$/.test(k)).sort();
  const verify = (...extra: string[]) => verifyS3(s3, `s3://${bucket}/prod/`, w.pubFile, ...extra);
  /** `tailseal report --format json` on the bucket: exit status and the document. */
  const report = () => {
    const env = { ...process.env, AWS_ACCESS_KEY_ID: s3.accessKey, AWS_SECRET_ACCESS_KEY: s3.secretKey };
    const store = ['--store', `s3://${bucket}/prod/`, '--endpoint', s3.endpoint, '--path-style'];
    const args = [CLI, 'report', ...store, '--public-key', w.pubFile, '--format', 'json'];
    const r = spawnSync(process.execPath, args, {
      encoding: 'utf8',
      env: { ...env, AWS_EC2_METADATA_DISABLED: 'true' },
    });
    assert.equal(r.stderr.includes('USAGE'), false, r.stderr);
    return { status: r.status, doc: JSON.parse(r.stdout) as any };
  };

  before(async () => {
    if (!suite.server) return; // every test is skipped
    s3 = suite.server;
    c = await createBucket(s3, bucket, true);
  });
  after(async () => {
    d?.child.kill('SIGKILL');
    w?.cleanup();
    s3?.stop();
  });

  let replaced = { key: '', versionId: '' };
  let deleted = { key: '', versionId: '' };

  it('verify reads the locked originals and reports the later version and delete marker (exit 3)', async () => {
    w = makeWorkspace({
      sinksYaml: `  - name: s3
    type: s3
    bucket: ${bucket}
    prefix: prod/
    endpoint: ${s3.endpoint}
    path_style: true
    credentials: { access_key_id: "\${TEST_S3_KEY}", secret_access_key: "\${TEST_S3_SECRET}" }
    object_lock: { mode: GOVERNANCE, retention: 1d }
    retry: { initial_backoff: 50ms, max_backoff: 300ms }`,
      extraYaml: 'audit:\n  interval: 300ms\n',
    });
    process.env.TEST_S3_KEY = s3.accessKey;
    process.env.TEST_S3_SECRET = s3.secretKey;
    d = startDaemon(w);
    const acked = () => logsWith(d!, 'Object acknowledged.').filter((l) => l.sink === 's3').length;
    for (let i = 0; i < 3; i++) {
      write(10);
      await waitFor(() => acked() > i, `object ${i + 1} in the bucket`);
    }
    await waitFor(() => logsWith(d!, 'Integrity audit passed').length > 0, 'a passing audit before the tampering');
    const stored = await keys();
    const intact = verify();
    assert.equal(intact.status, 0, intact.stdout + intact.stderr);
    const entries = Number(/OK stream opa .*: (\d+) entries/.exec(intact.stdout)![1]);
    assert.equal(entries, 30);
    // The report: every object under Object Lock (GOVERNANCE, 1d), no change over them yet.
    const locked = report();
    assert.equal(locked.status, 0);
    assert.equal(locked.doc.decisions.total, 30);
    const objects = locked.doc.streams[0].objects;
    assert.deepEqual(
      [locked.doc.retention.objects, locked.doc.retention.locked, locked.doc.retention.unlocked_count],
      [objects, objects, 0],
    );
    assert.deepEqual(locked.doc.retention.modes, [{ name: 'GOVERNANCE', count: objects }]);
    assert.ok(Date.parse(locked.doc.retention.earliest_retain_until) > Date.now() + 23 * 3_600_000);
    assert.equal(locked.doc.tampering.count, 0);

    // The daemon's own credentials: a new version over the first object, a delete marker over the last.
    const put = await c.send('PUT', stored[0]!, { body: Buffer.from('{"forged":true}\n') });
    assert.equal(put.status, 200, put.body.toString());
    replaced = { key: stored[0]!, versionId: String(put.headers['x-amz-version-id']) };
    const del = await c.send('DELETE', stored.at(-1)!);
    assert.equal(del.status, 204, del.body.toString());
    deleted = { key: stored.at(-1)!, versionId: String(del.headers['x-amz-version-id']) };

    const v = verify();
    assert.equal(v.status, 3, v.stdout + v.stderr);
    assert.match(v.stdout, /OK stream opa .*: 30 entries/, 'the original trail verifies as intact content');
    assert.match(v.stdout, /^TAMPERED STORE_TAMPERED: 2 change\(s\) over 2 stored object\(s\)/m);
    const owner = '[^)]+';
    const at = '\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z';
    const named = (what: string, t: { key: string; versionId: string }) =>
      new RegExp(`${what} over ${t.key} \\(version ${t.versionId}, ${at}, owner ${owner}\\)`);
    assert.match(v.stdout, named('a later version', replaced));
    assert.match(v.stdout, named('a delete marker', deleted));

    // The report still counts the originals, lists both changes and exits 1.
    const overwritten = report();
    assert.equal(overwritten.status, 1);
    assert.equal(overwritten.doc.verification.ok, true);
    assert.equal(overwritten.doc.decisions.total, 30);
    assert.deepEqual(
      overwritten.doc.tampering.listed.map((t: any) => [t.key, t.kind]).sort(),
      [
        [replaced.key, 'version'],
        [deleted.key, 'delete_marker'],
      ].sort(),
    );

    const j = verify('--json');
    assert.equal(j.status, 3, j.stdout + j.stderr);
    type Out = {
      ok: boolean;
      code: string;
      intact: boolean;
      streams: { entries: number }[];
      tampering: Record<string, string>[];
    };
    const out = JSON.parse(j.stdout) as Out;
    assert.equal(out.ok, false);
    assert.equal(out.code, 'STORE_TAMPERED');
    assert.equal(out.intact, true);
    assert.equal(out.streams[0]!.entries, 30);
    assert.deepEqual(
      out.tampering.map((t) => [t.key, t.kind, t.versionId]).sort(),
      [
        [replaced.key, 'version', replaced.versionId],
        [deleted.key, 'delete_marker', deleted.versionId],
      ].sort(),
    );
    for (const t of out.tampering) {
      assert.ok(t.owner, 'who, as S3 says');
      assert.ok(!Number.isNaN(Date.parse(t.lastModified!)), 'when, as S3 says');
    }
  });

  it('the audit reports STORE_TAMPERED', async () => {
    const failed = () => logsWith(d!, 'Integrity audit FAILED').filter((l) => l.code === 'STORE_TAMPERED');
    await waitFor(() => failed().length > 0, 'the audit to report the tampering');
    const l = failed()[0]!;
    assert.equal(l.count, 2);
    assert.match(String(l.err), new RegExp(`a later version over ${replaced.key} `));
    assert.match(String(l.err), new RegExp(`a delete marker over ${deleted.key} `));
    assert.equal(await stopDaemon(d!), 0);
    d = undefined;
  });

  it('lost-state recovery continues the chain from the originals, not from what was written over them', async () => {
    if (d) await killDaemon(d); // an earlier test failed before stopping it
    rmSync(w.stateDir, { recursive: true });
    const recovery = 'recovery:\n  on_state_loss: chain_tail\n  sink: s3\n';
    writeFileSync(w.configFile, readFileSync(w.configFile, 'utf8') + recovery);
    d = startDaemon(w);
    const continued = () => logsWith(d!, 'State database was lost; continuing the chain');
    await waitFor(() => continued().length > 0, 'the chain to be continued');
    assert.equal(continued()[0]!.size, 30, 'the object under the delete marker counted');
    assert.ok(logsWith(d, 'The sink holds later versions or delete markers').some((l) => l.code === 'STORE_TAMPERED'));
    write(5);
    const stored = () => logsWith(d!, 'Object acknowledged.').some((l) => l.sink === 's3' && l.size === 36);
    await waitFor(stored, 'the new decisions stored');
    assert.equal(await stopDaemon(d), 0);
    d = undefined;
    const v = verify();
    assert.equal(v.status, 3, v.stdout + v.stderr);
    // 30 + the state_reset gap record + 5 new decisions: one chain, nothing sealed twice.
    assert.match(v.stdout, /OK stream opa .*: 36 entries/);
  });
});
