// A witness store in an Object Lock bucket (Ceph RGW): `tailseal cosign --witness-store s3://...`
// writes there, `tailseal verify --witness-store s3://...` reads it, and a cosigned object is never
// written over.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import type { S3Client } from '../../src/sinks/s3/client.js';
import { CLI } from '../helpers/paths.js';
import { type S3Server, createBucket, s3ForSuite, versionCount } from '../helpers/s3-server.js';
import { type BuiltTrail, buildTrail, removeObject, tempDir } from '../helpers/trail.js';

const suite = s3ForSuite();
const it = suite.it;

describe('witness store in s3', () => {
  let s3: S3Server;
  let c: S3Client;
  let t: BuiltTrail;
  let dir: string;
  const bucket = `tailseal-witness-${Date.now().toString(36)}`;
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [CLI, ...args], {
      encoding: 'utf8',
      timeout: 60_000,
      env: {
        ...process.env,
        AWS_ACCESS_KEY_ID: s3.accessKey,
        AWS_SECRET_ACCESS_KEY: s3.secretKey,
        AWS_EC2_METADATA_DISABLED: 'true',
      },
    });
  const s3Opts = () => ['--endpoint', s3.endpoint, '--path-style'];
  const witnessStore = () => `s3://${bucket}/witnessed/`;
  const cosignArgs = () => [
    'cosign',
    '--store',
    t.dir,
    '--public-key',
    t.pubFile,
    '--witness-key',
    join(dir, 'w.key'),
    '--witness-store',
    witnessStore(),
    '--state',
    join(dir, 'state.json'),
    ...s3Opts(),
  ];
  const verifyArgs = (...extra: string[]) => [
    'verify',
    '--store',
    t.dir,
    '--public-key',
    t.pubFile,
    '--witness-key',
    join(dir, 'w.key.pub'),
    '--witness-store',
    witnessStore(),
    ...s3Opts(),
    ...extra,
  ];

  before(async () => {
    if (!suite.server) return; // every test is skipped
    s3 = suite.server;
    c = await createBucket(s3, bucket, true);
    t = buildTrail({ plan: [3, 2, 4] });
    dir = tempDir('tailseal-witness-s3-');
  });
  after(() => {
    t?.cleanup();
    if (dir) spawnSync('rm', ['-rf', dir]);
    s3?.stop();
  });

  it('cosigns into the bucket, verifies from it, and catches the truncated store', async () => {
    const k = run('keygen', '--witness', '--name', 'w.test/witness', '--out', join(dir, 'w.key'));
    assert.equal(k.status, 0, k.stderr);
    const c1 = run(...cosignArgs());
    assert.equal(c1.status, 0, c1.stdout + c1.stderr);
    const keys = (await c.listKeys('witnessed/')).sort();
    assert.equal(keys.length, 1);
    assert.match(keys[0]!, /^witnessed\/tailseal\.test\/trail\/opa\/00000000000000000009-[0-9]+\.cosigned$/);
    assert.equal(await versionCount(c, keys[0]!), 1);

    // Once published, nothing new: no second object, no second version.
    const c2 = run(...cosignArgs());
    assert.equal(c2.status, 0, c2.stdout + c2.stderr);
    assert.match(c2.stdout, /^UNCHANGED /);
    assert.equal((await c.listKeys('witnessed/')).length, 1);

    const v = run(...verifyArgs());
    assert.equal(v.status, 0, v.stdout + v.stderr);
    assert.match(v.stdout, /WITNESSED tailseal\.test\/trail\/opa: .* size 9 cosigned by w\.test\/witness/);

    removeObject(t.dir, t.objectNames.at(-1)!);
    const cut = run(...verifyArgs('--json'));
    assert.equal(cut.status, 1, cut.stdout + cut.stderr);
    assert.equal((JSON.parse(cut.stdout) as { code: string }).code, 'TAIL_TRUNCATED');
  });
});
