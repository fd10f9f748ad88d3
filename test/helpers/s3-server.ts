// A real S3 server with Object Lock for tests: Ceph RGW from test/s3-objectlock-server.sh, started
// on 127.0.0.1 by the suite itself (or reused from S3_ENDPOINT when .ci/run already started one).
// TAILSEAL_TEST_S3 says what a missing server means: unset, the S3 suites skip with the reason
// where Ceph cannot be had (not installed and no root or apt-get to install it, or start failed);
// `required` (.ci/run) makes that a failure; `skip` skips them without trying.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { Agent } from 'undici';
import { S3Client } from '../../src/sinks/s3/client.js';
import { CLI, REPO_ROOT } from './paths.js';
import { onPath } from './tools.js';

export const S3_SERVER_SCRIPT = join(REPO_ROOT, 'test', 's3-objectlock-server.sh');

export interface S3Server {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  region: string;
  stop(): void;
}

function parseEnv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(l.trim());
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

/** What the environment allows: reuse a running server, start one, or skip (with the reason). */
export type S3Plan = { reuse: S3Server } | { start: { required: boolean } } | { skip: string };

/** The host facts the plan depends on (injected, so the rule is tested without root or Ceph). */
export interface S3Host {
  root: boolean;
  has(command: string): boolean;
}

const REQUIRE_HINT = 'TAILSEAL_TEST_S3=required makes this a failure';

/** The rule: `skip` wins, then a running server (S3_ENDPOINT), then Ceph if it is or can be installed. */
export function s3Plan(env: NodeJS.ProcessEnv, host: S3Host): S3Plan {
  const mode = env.TAILSEAL_TEST_S3 ?? '';
  if (!['', 'required', 'skip'].includes(mode)) {
    throw new Error(`TAILSEAL_TEST_S3=${mode} is not a mode: use required, skip, or leave it unset`);
  }
  if (mode === 'skip') return { skip: 'S3 suites skipped: TAILSEAL_TEST_S3=skip' };
  if (env.S3_ENDPOINT && env.S3_ACCESS_KEY && env.S3_SECRET_KEY) {
    const region = env.S3_REGION ?? 'us-east-1';
    const keys = { accessKey: env.S3_ACCESS_KEY, secretKey: env.S3_SECRET_KEY };
    return { reuse: { endpoint: env.S3_ENDPOINT, ...keys, region, stop: () => undefined } };
  }
  const required = mode === 'required';
  // Without radosgw the script apt-installs Ceph, which needs root and apt-get (Debian).
  if (!required && !host.has('radosgw')) {
    const missing = !host.root ? 'root' : !host.has('apt-get') ? 'apt-get (Debian)' : undefined;
    if (missing) {
      const fix = 'set S3_ENDPOINT/S3_ACCESS_KEY/S3_SECRET_KEY to an Object Lock server, or run as root on Debian 12';
      const why = `Ceph RGW (radosgw) is not installed and installing it needs ${missing}`;
      return { skip: `S3 suites skipped: ${why}; ${fix} (${REQUIRE_HINT})` };
    }
  }
  return { start: { required } };
}

/** Starts the Ceph RGW test server with the repository's script; throws with its stderr when it fails. */
function startCeph(): S3Server {
  const dir = mkdtempSync(join(tmpdir(), 'tailseal-s3-'));
  // PORT, PORT+1 and PORT+10..40 are used; spread by pid so parallel test files do not collide.
  const port = 20000 + (process.pid % 200) * 50;
  const r = spawnSync('bash', [S3_SERVER_SCRIPT, 'start', dir, String(port)], { encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    const why = r.error?.message ?? r.stderr.trim().split('\n').slice(-5).join(' / ');
    throw new Error(`S3 test server did not start (exit ${r.status}): ${why}`);
  }
  const env = parseEnv(r.stdout);
  return {
    endpoint: env.S3_ENDPOINT!,
    accessKey: env.S3_ACCESS_KEY!,
    secretKey: env.S3_SECRET_KEY!,
    region: env.S3_REGION ?? 'us-east-1',
    stop: () => {
      spawnSync('bash', [S3_SERVER_SCRIPT, 'stop', dir], { timeout: 60_000 });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** node:test's `it`, or one that declares each test skipped with `reason`. */
function skipping(reason: string): typeof it {
  return ((name?: string) => it(name, { skip: reason })) as typeof it;
}

/**
 * The S3 server for a suite and node:test's `it`; or, when there is none to be had, no server and an
 * `it` that declares each test skipped with the reason. Called at module load (~10 s to start one).
 */
export function s3ForSuite(): { server?: S3Server; it: typeof it } {
  const plan = s3Plan(process.env, { root: process.getuid?.() === 0, has: (c) => onPath(c) !== undefined });
  if ('skip' in plan) return { it: skipping(plan.skip) };
  if ('reuse' in plan) return { server: plan.reuse, it };
  try {
    return { server: startCeph(), it };
  } catch (e) {
    if (plan.start.required) throw e;
    return { it: skipping(`S3 suites skipped: ${(e as Error).message} (${REQUIRE_HINT})`) };
  }
}

/** An S3 client for `bucket` with the server's (or other) keys, path-style. */
export function s3Client(s: S3Server, bucket: string, secretKey = s.secretKey): S3Client {
  const creds = { source: 'test', get: async () => ({ accessKeyId: s.accessKey, secretAccessKey: secretKey }) };
  return new S3Client(
    { endpoint: new URL(s.endpoint), region: s.region, bucket, pathStyle: true },
    creds,
    new Agent(),
    'test',
  );
}

/** Creates a bucket, with Object Lock (and so versioning) when `lock`. */
export async function createBucket(s: S3Server, bucket: string, lock: boolean): Promise<S3Client> {
  const c = s3Client(s, bucket);
  const res = await c.send('PUT', null, { headers: lock ? { 'x-amz-bucket-object-lock-enabled': 'true' } : {} });
  if (res.status !== 200) throw new Error(`CreateBucket ${bucket}: HTTP ${res.status} ${res.body.toString()}`);
  return c;
}

/** The number of versions stored under `key` (ListObjectVersions). */
export async function versionCount(c: S3Client, key: string): Promise<number> {
  const res = await c.send('GET', null, { query: { versions: '', prefix: key } });
  if (res.status !== 200) throw new Error(`ListObjectVersions: HTTP ${res.status}`);
  return (res.body.toString().match(/<Version>/g) ?? []).length;
}

/**
 * `tailseal verify` over `s3://<bucket>/<prefix>` on the test server, as an auditor runs it: the
 * standard AWS_* variables (no instance metadata) and --endpoint/--path-style flags.
 */
export function verifyS3(s: S3Server, store: string, publicKey: string, ...extra: string[]) {
  const env = {
    ...process.env,
    AWS_ACCESS_KEY_ID: s.accessKey,
    AWS_SECRET_ACCESS_KEY: s.secretKey,
    AWS_EC2_METADATA_DISABLED: 'true',
  };
  const args = [CLI, 'verify', '--store', store, '--endpoint', s.endpoint, '--path-style', '--public-key', publicKey];
  return spawnSync(process.execPath, [...args, ...extra], { encoding: 'utf8', env, timeout: 60_000 });
}

/** The S3 server for a benchmark (started as for the suites), or the reason there is none. */
export function s3ForBench(): { server: S3Server } | { skip: string } {
  const plan = s3Plan(process.env, { root: process.getuid?.() === 0, has: (c) => onPath(c) !== undefined });
  if ('skip' in plan) return plan;
  if ('reuse' in plan) return { server: plan.reuse };
  try {
    return { server: startCeph() };
  } catch (e) {
    return { skip: (e as Error).message };
  }
}
