// A real S3 server with Object Lock for tests: Ceph RGW from ../shared/tools, started on
// 127.0.0.1 by the test itself (or reused from S3_ENDPOINT when .ci/run already started one).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from 'undici';
import { S3Client } from '../../src/sinks/s3/client.js';
import { REPO_ROOT } from './paths.js';

export const S3_SERVER_SCRIPT = join(REPO_ROOT, '..', 'shared', 'tools', 's3-objectlock-server.sh');

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

/** Starts (or reuses) the Ceph RGW test server. Takes ~10 s when it starts one. */
export function startS3Server(): S3Server {
  const e = process.env;
  if (e.S3_ENDPOINT && e.S3_ACCESS_KEY && e.S3_SECRET_KEY) {
    return {
      endpoint: e.S3_ENDPOINT,
      accessKey: e.S3_ACCESS_KEY,
      secretKey: e.S3_SECRET_KEY,
      region: e.S3_REGION ?? 'us-east-1',
      stop: () => undefined,
    };
  }
  const dir = mkdtempSync(join(tmpdir(), 'tailseal-s3-'));
  // PORT, PORT+1 and PORT+10..40 are used; spread by pid so parallel test files do not collide.
  const port = 20000 + (process.pid % 200) * 50;
  const r = spawnSync('bash', [S3_SERVER_SCRIPT, 'start', dir, String(port)], { encoding: 'utf8', timeout: 180_000 });
  if (r.status !== 0) throw new Error(`S3 test server did not start (exit ${r.status}): ${r.stderr.slice(-2000)}`);
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
