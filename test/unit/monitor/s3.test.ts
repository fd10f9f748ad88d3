// The monitor over an s3 store (a scripted S3 server on 127.0.0.1 serving a real trail with
// ListObjectVersions): the originals verify, and a later version written over one object is a
// store problem (STORE_TAMPERED, naming the key and who wrote it), the origin staying ok; and
// min_retention against the Object Lock retention HeadObject reports (RETENTION_MISSING).
import assert from 'node:assert/strict';
import { type Server, createServer } from 'node:http';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Agent } from 'undici';
import { runPass } from '../../../src/monitor/pass.js';
import { S3Client } from '../../../src/sinks/s3/client.js';
import { s3StoreReader } from '../../../src/sinks/s3/reader.js';
import { MonitorState } from '../../../src/store/monitor-state.js';
import { DEFAULT_MAX_OBJECT_BYTES } from '../../../src/trail/object.js';
import type { ObjectReader } from '../../../src/trail/verify-trail.js';
import { fileStoreReader } from '../../../src/sinks/file/reader.js';
import { sealTrail, tempDir, testKey, writeObject } from '../../helpers/trail.js';

const KEY = testKey('pod-a', 1);
const trail = sealTrail({ origin: 'fleet.test/pod-a', key: KEY, plan: [2, 1] });
const ORIGIN = 'fleet.test/pod-a/opa';
const key = (i: number) => `fleet/pod-a/${trail.objects[i]!.name}`;

/** One ListObjectVersions entry as S3 writes it. */
const entry = (k: string, id: string, at: string) =>
  `<Version><Key>${k}</Key><VersionId>${id}</VersionId><IsLatest>false</IsLatest><LastModified>${at}</LastModified>` +
  `<Owner><ID>acct-1</ID><DisplayName>mallory</DisplayName></Owner></Version>`;

describe('monitor over an s3 store', () => {
  let server: Server;
  let endpoint = '';
  const agent = new Agent();
  const stateDir = tempDir('tailseal-monitor-s3-');
  const gets: string[] = [];
  /** Per object, the retain-until date HeadObject reports (undefined: no Object Lock retention). */
  let locks: (string | undefined)[] = [];
  before(async () => {
    server = createServer((req, res) => {
      const u = new URL(req.url!, 'http://x');
      if (u.searchParams.has('versions')) {
        // Object 1 was written over later (a second version); the original is v1.
        const body =
          entry(key(0), 'v1', '2026-01-01T00:00:01.000Z') +
          entry(key(1), 'v2', '2026-01-01T00:00:09.000Z') +
          entry(key(1), 'v1', '2026-01-01T00:00:02.000Z') +
          '<IsTruncated>false</IsTruncated>';
        return void res.writeHead(200).end(`<?xml version="1.0"?><ListVersionsResult>${body}</ListVersionsResult>`);
      }
      const i = [0, 1].find((n) => u.pathname === `/trail/${key(n)}`);
      if (i === undefined || u.searchParams.get('versionId') !== 'v1') return void res.writeHead(404).end();
      if (req.method === 'HEAD') {
        // HeadObject: the version's Object Lock retention, as scripted by the test (none: not locked).
        const lock = locks[i];
        const headers = lock
          ? { 'x-amz-object-lock-mode': 'COMPLIANCE', 'x-amz-object-lock-retain-until-date': lock }
          : ({} as Record<string, string>);
        return void res.writeHead(200, { ...headers, 'last-modified': new Date(trail.newestTime).toUTCString() }).end();
      }
      gets.push(u.pathname);
      res.writeHead(200).end(trail.objects[i]!.body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    endpoint = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  after(async () => {
    await agent.close();
    server.close();
    rmSync(stateDir, { recursive: true, force: true });
  });

  const DAY = 86_400_000;
  const until = (i: number, ms: number) => new Date(trail.objects[i]!.createdAt + ms).toISOString();
  const s3Reader = () => {
    const creds = { source: 'test', get: async () => ({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' }) };
    const loc = { endpoint: new URL(endpoint), region: 'us-east-1', bucket: 'trail', pathStyle: true };
    return s3StoreReader(new S3Client(loc, creds, agent, 'test', 10_000), 'fleet/');
  };
  const retentionPass = async (minRetention: number | undefined, reader: ObjectReader = s3Reader()) => {
    const dir = tempDir('tailseal-monitor-s3-retention-');
    const state = MonitorState.open(dir);
    try {
      const r = await runPass({
        stores: [{ name: 'bucket', reader: () => reader }],
        state,
        keysFor: () => [KEY.verifier],
        maxSilenceFor: () => 60 * 60_000,
        minRetentionFor: (o) => (o === ORIGIN ? minRetention : undefined),
        fullEveryMs: 60 * 60_000,
        now: () => trail.newestTime,
        maxObjectBytes: DEFAULT_MAX_OBJECT_BYTES,
      });
      return r.origins.find((o) => o.origin === ORIGIN)!;
    } finally {
      state.close();
      rmSync(dir, { recursive: true, force: true });
    }
  };

  const cases: {
    name: string;
    locks: (i: number) => string | undefined;
    min?: number;
    status: string;
    code?: string;
    object?: number;
    retainUntil?: string;
  }[] = [
    {
      name: 'every object retained 30d, min_retention 7d',
      locks: (i) => until(i, 30 * DAY),
      min: 7 * DAY,
      status: 'ok',
    },
    { name: 'retained exactly min_retention', locks: (i) => until(i, 7 * DAY), min: 7 * DAY, status: 'ok' },
    {
      name: 'one object retained 1d, min_retention 7d',
      locks: (i) => until(i, i === 1 ? DAY : 30 * DAY),
      min: 7 * DAY,
      status: 'broken',
      code: 'RETENTION_MISSING',
      object: 1,
      retainUntil: until(1, DAY),
    },
    {
      name: 'one object 1 ms short',
      locks: (i) => until(i, i === 0 ? 7 * DAY - 1 : 7 * DAY),
      min: 7 * DAY,
      status: 'broken',
      code: 'RETENTION_MISSING',
      object: 0,
      retainUntil: until(0, 7 * DAY - 1),
    },
    {
      name: 'one object not locked at all',
      locks: (i) => (i === 0 ? undefined : until(i, 30 * DAY)),
      min: 0,
      status: 'broken',
      code: 'RETENTION_MISSING',
      object: 0,
    },
    { name: 'min_retention unset: not checked', locks: () => undefined, status: 'ok' },
  ];
  for (const c of cases)
    it(`min_retention: ${c.name} -> ${c.status}`, async () => {
      locks = [0, 1].map(c.locks);
      const o = await retentionPass(c.min);
      assert.equal(o.status, c.status, JSON.stringify(o.finding));
      assert.equal(o.finding.code, c.code);
      if (c.object !== undefined) assert.equal(o.finding.object, key(c.object));
      assert.equal(o.finding.retain_until, c.retainUntil);
      if (c.status !== 'ok') assert.equal(o.newest, undefined, 'nothing of it is taken as verified');
    });

  it('min_retention: a store that reports no retention (a file directory) is not checked', async () => {
    const dir = tempDir('tailseal-monitor-file-');
    try {
      for (const o of trail.objects) writeObject(dir, `pod-a/${o.name}`, o.body);
      assert.equal((await retentionPass(7 * DAY, fileStoreReader(dir))).status, 'ok');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('verifies the original versions, fetching each once, and reports the later one as STORE_TAMPERED', async () => {
    gets.length = 0; // the min_retention tests above read the objects too
    const creds = { source: 'test', get: async () => ({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' }) };
    const loc = { endpoint: new URL(endpoint), region: 'us-east-1', bucket: 'trail', pathStyle: true };
    const reader = s3StoreReader(new S3Client(loc, creds, agent, 'test', 10_000), 'fleet/');
    const state = MonitorState.open(stateDir);
    try {
      const r = await runPass({
        stores: [{ name: 'bucket', reader: () => reader }],
        state,
        keysFor: () => [KEY.verifier],
        maxSilenceFor: () => 60 * 60_000,
        fullEveryMs: 60 * 60_000,
        now: () => trail.newestTime,
        maxObjectBytes: DEFAULT_MAX_OBJECT_BYTES,
      });
      assert.deepEqual(
        r.origins.map((o) => [o.origin, o.status, o.newest?.size]),
        [[ORIGIN, 'ok', 3]],
      );
      assert.deepEqual(gets.sort(), [`/trail/${key(0)}`, `/trail/${key(1)}`], 'one GET per object and pass');
      const problems = r.problems.get('bucket') ?? [];
      assert.deepEqual(
        problems.map((p) => p.code),
        ['STORE_TAMPERED'],
      );
      assert.deepEqual(
        problems[0]!.tampering!.map((t) => [t.key, t.kind, t.versionId, t.owner]),
        [[key(1), 'version', 'v2', 'acct-1 (mallory)']],
      );
    } finally {
      state.close();
    }
  });
});
