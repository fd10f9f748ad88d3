// The s3 sink against a real S3 server with Object Lock (Ceph RGW on 127.0.0.1).
import { tmpdir } from 'node:os';
import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import { TailsealError } from '../../src/errors.js';
import { createLogger } from '../../src/log.js';
import { type S3SinkConfig, S3Sink, s3Key, s3SinkSchema } from '../../src/sinks/s3/index.js';
import { classifyError } from '../../src/sinks/retry.js';
import type { TrailObject } from '../../src/sinks/sink.js';
import { type S3Server, createBucket, s3Client, s3ForSuite, versionCount } from '../helpers/s3-server.js';

const log = createLogger('silent');
const obj = (firstSeq: number, n: number, tag = 'a'): TrailObject => ({
  id: 1,
  stream: 'opa',
  firstSeq,
  size: firstSeq + n,
  createdAt: Date.UTC(2026, 10, 29, 12),
  lines: Array.from({ length: n }, (_, i) => Buffer.from(`{"v":1,"seq":${firstSeq + i},"tag":"${tag}"}\n`)),
  note: 'note\n',
});

// Started here, at load, so that a skip is known when the tests are declared. Without a server,
// `it` declares each test skipped with the reason (a skipped describe would not be counted).
const suite = s3ForSuite();
const it = suite.it;

describe('s3 sink (Ceph RGW with Object Lock)', () => {
  let s3: S3Server;
  const run = Date.now().toString(36);
  const locked = `tailseal-locked-${run}`;
  const plain = `tailseal-plain-${run}`;
  const config = (over: Record<string, unknown> = {}): S3SinkConfig =>
    s3SinkSchema.parse({
      name: 's3',
      type: 's3',
      bucket: locked,
      prefix: 'trail/',
      endpoint: s3.endpoint,
      path_style: true,
      credentials: { access_key_id: s3.accessKey, secret_access_key: s3.secretKey },
      object_lock: { mode: 'COMPLIANCE', retention: '1d' },
      retry: { initial_backoff: '10ms', max_backoff: '50ms' },
      ...over,
    });

  before(async () => {
    if (!suite.server) return; // every test is skipped
    s3 = suite.server;
    await createBucket(s3, locked, true);
    await createBucket(s3, plain, false);
  });
  after(() => s3?.stop());

  it('keys are prefix/stream/YYYY/MM/DD/<first>-<last>.ndjson.gz', () => {
    assert.equal(
      s3Key('trail/', obj(0, 3), true),
      'trail/opa/2026/11/29/00000000000000000000-00000000000000000002.ndjson.gz',
    );
    assert.equal(
      s3Key('trail', obj(5, 1), false),
      'trail/opa/2026/11/29/00000000000000000005-00000000000000000005.ndjson',
    );
  });

  it('start() accepts a bucket with Object Lock', async () => {
    const sink = new S3Sink(config(), { log, stateDir: tmpdir() });
    await sink.start();
    await sink.close();
  });

  it('start() refuses a bucket without Object Lock when object_lock is configured', async () => {
    const sink = new S3Sink(config({ bucket: plain }), { log, stateDir: tmpdir() });
    await assert.rejects(
      sink.start(),
      (e: TailsealError) => e.code === 'SINK_PERMANENT' && /has no Object Lock/.test(e.message),
    );
    await sink.close();
  });

  it('a wrong secret key is refused by the server (SigV4 checked): permanent', async () => {
    const sink = new S3Sink(
      config({
        credentials: { access_key_id: s3.accessKey, secret_access_key: 'wrong-secret-0000000000000000000000000000' },
      }),
      { log, stateDir: tmpdir() },
    );
    await assert.rejects(sink.start(), (e: TailsealError) => e.code === 'SINK_PERMANENT' && /403/.test(e.message));
    await assert.rejects(
      sink.put(obj(100, 1)),
      (e: TailsealError) => classifyError(e) === 'permanent' && /HTTP 403/.test(e.message),
    );
    await sink.close();
  });

  it('stores the object with retention, checksum and metadata; a locked version cannot be deleted', async () => {
    const sink = new S3Sink(config(), { log, stateDir: tmpdir() });
    const o = obj(0, 3);
    assert.equal(await sink.put(o), 'stored');
    const key = s3Key('trail/', o, true);
    const c = s3Client(s3, locked);
    const head = await c.send('HEAD', key);
    assert.equal(head.status, 200);
    assert.equal(head.headers['x-amz-object-lock-mode'], 'COMPLIANCE');
    const until = Date.parse(String(head.headers['x-amz-object-lock-retain-until-date']));
    assert.ok(
      until > Date.now() + 23 * 3600_000 && until < Date.now() + 25 * 3600_000,
      'retain-until = upload time + 1 day',
    );
    const retention = await c.send('GET', key, { query: { retention: '' } });
    assert.match(retention.body.toString(), /<Mode>COMPLIANCE<\/Mode>/);
    const versionId = String(head.headers['x-amz-version-id']);
    const del = await c.send('DELETE', key, { query: { versionId } });
    assert.equal(del.status, 403, 'a COMPLIANCE-locked version cannot be deleted');
    await sink.close();
  });

  it('a retried upload (after a crash) is acknowledged without a second version', async () => {
    const sink = new S3Sink(config(), { log, stateDir: tmpdir() });
    const o = obj(10, 2);
    assert.equal(await sink.put(o), 'stored');
    assert.equal(await sink.put(o), 'existed');
    assert.equal(await versionCount(s3Client(s3, locked), s3Key('trail/', o, true)), 1);
    await sink.close();
  });

  it('different content under an existing key is a conflict and nothing is overwritten', async () => {
    const sink = new S3Sink(config(), { log, stateDir: tmpdir() });
    assert.equal(await sink.put(obj(20, 2, 'a')), 'stored');
    await assert.rejects(
      sink.put(obj(20, 2, 'b')),
      (e: TailsealError) => e.code === 'SINK_CONFLICT' && classifyError(e) === 'conflict',
    );
    assert.equal(await versionCount(s3Client(s3, locked), s3Key('trail/', obj(20, 2), true)), 1);
    await sink.close();
  });

  it('an unreachable endpoint is a retryable error', async () => {
    const sink = new S3Sink(config({ endpoint: 'http://127.0.0.1:1', timeout: { connect: '1s', request: '2s' } }), {
      log,
      stateDir: tmpdir(),
    });
    await assert.rejects(sink.put(obj(30, 1)), (e: Error) => classifyError(e) === 'retryable');
    await sink.close();
  });
});
