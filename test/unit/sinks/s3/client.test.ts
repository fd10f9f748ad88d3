// The exact requests the s3 sink sends, and how it reads AWS-style answers, against a scripted
// local S3 stand-in (node:http on 127.0.0.1). Real-server behaviour is in s3-sink.test.ts.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { type IncomingHttpHeaders, type Server, createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TailsealError } from '../../../../src/errors.js';
import { createLogger } from '../../../../src/log.js';
import { encodeObject } from '../../../../src/seal/encoder.js';
import { classifyError } from '../../../../src/sinks/retry.js';
import { S3Sink, s3SinkSchema } from '../../../../src/sinks/s3/index.js';
import type { TrailObject } from '../../../../src/sinks/sink.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}
type Answer = { status: number; headers?: Record<string, string>; body?: string };

describe('s3 sink requests', () => {
  let server: Server;
  let port = 0;
  const seen: Seen[] = [];
  const script: Answer[] = [];
  before(async () => {
    server = createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (b: Buffer) => parts.push(b));
      req.on('end', () => {
        seen.push({ method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(parts) });
        const a = script.shift() ?? { status: 500, body: '<Error><Code>InternalError</Code></Error>' };
        res.writeHead(a.status, a.headers ?? {}).end(a.body ?? '');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as { port: number }).port;
  });
  after(() => server.close());

  const obj: TrailObject = {
    id: 1,
    stream: 'opa',
    firstSeq: 0,
    size: 2,
    createdAt: Date.UTC(2026, 0, 2, 3),
    lines: [Buffer.from('{"seq":0}\n'), Buffer.from('{"seq":1}\n')],
    note: 'n\n',
  };
  const sink = (over: Record<string, unknown> = {}) =>
    new S3Sink(
      s3SinkSchema.parse({
        name: 's3',
        type: 's3',
        bucket: 'audit-bucket',
        prefix: 'p',
        region: 'eu-west-1',
        endpoint: `http://127.0.0.1:${port}`,
        path_style: true,
        credentials: { access_key_id: 'AKIDEXAMPLE', secret_access_key: 'secret' },
        object_lock: { mode: 'COMPLIANCE', retention: '30d', legal_hold: true },
        server_side_encryption: { algorithm: 'aws:kms', kms_key_id: 'key-1' },
        ...over,
      }),
      { log: createLogger('silent'), stateDir: tmpdir() },
    );

  it('HEADs, then PUTs once with lock, integrity, encryption and write-once headers, all signed', async () => {
    seen.length = 0;
    script.push({ status: 404 }, { status: 200, headers: { 'x-amz-version-id': 'v1' } });
    const t0 = Date.now();
    assert.equal(await sink().put(obj), 'stored');
    const [head, put] = seen;
    const key = '/audit-bucket/p/opa/2026/01/02/00000000000000000000-00000000000000000001.ndjson.gz';
    assert.equal(head!.method, 'HEAD');
    assert.equal(head!.url, key);
    assert.equal(put!.method, 'PUT');
    assert.equal(put!.url, key);
    const body = encodeObject(obj, true).body;
    assert.deepEqual(put!.body, body);
    const h = put!.headers;
    assert.equal(h['if-none-match'], '*');
    assert.equal(h['content-md5'], createHash('md5').update(body).digest('base64'));
    assert.equal(h['x-amz-checksum-sha256'], createHash('sha256').update(body).digest('base64'));
    assert.equal(h['x-amz-content-sha256'], createHash('sha256').update(body).digest('hex'));
    assert.equal(h['x-amz-meta-tailseal-sha256'], createHash('sha256').update(body).digest('hex'));
    assert.equal(h['x-amz-object-lock-mode'], 'COMPLIANCE');
    const until = Date.parse(String(h['x-amz-object-lock-retain-until-date']));
    assert.ok(until >= t0 + 30 * 86_400_000 && until <= Date.now() + 30 * 86_400_000);
    assert.equal(h['x-amz-object-lock-legal-hold'], 'ON');
    assert.equal(h['x-amz-server-side-encryption'], 'aws:kms');
    assert.equal(h['x-amz-server-side-encryption-aws-kms-key-id'], 'key-1');
    const auth = String(h.authorization);
    assert.match(
      auth,
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/s3\/aws4_request, SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$/,
    );
    for (const signed of [
      'content-md5',
      'host',
      'if-none-match',
      'x-amz-checksum-sha256',
      'x-amz-object-lock-mode',
      'x-amz-object-lock-retain-until-date',
      'x-amz-server-side-encryption',
    ]) {
      assert.ok(auth.includes(signed), `${signed} is signed`);
    }
  });

  describe('a large object streamed from its outbox segment', () => {
    let dir: string;
    let big: TrailObject;
    before(() => {
      // Over 9 MiB of lines, then bytes past the object's end (a failed commit's): never sent.
      dir = mkdtempSync(join(tmpdir(), 'tailseal-s3-seg-'));
      const line = (i: number) => `{"seq":${i},"payload":"${'x'.repeat(200 + (i % 37))}"}\n`;
      const lines = Buffer.from(Array.from({ length: 40_000 }, (_, i) => line(i)).join(''));
      const path = join(dir, 'segment');
      writeFileSync(path, Buffer.concat([lines, Buffer.from('{"unsealed":true}\n')]));
      big = { ...obj, size: 40_000, lines: [lines], linesFile: { path, bytes: lines.length } };
      assert.ok(lines.length > 9 * 1024 * 1024);
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    for (const gzip of [true, false])
      it(`PUTs encodeObject's bytes and their digests (gzip: ${gzip}) without reading lines; a retry sends the same`, async () => {
        const s = sink({ gzip });
        const stream: TrailObject = {
          ...big,
          get lines(): Buffer[] {
            throw new Error('the sink read lines instead of streaming the segment');
          },
        };
        const body = encodeObject(big, gzip).body;
        for (const attempt of [1, 2]) {
          seen.length = 0;
          // First attempt: the PUT fails (a 503 after the whole body); the second stores it.
          script.push(
            { status: 404 },
            attempt === 1 ? { status: 503, body: '<Error><Code>SlowDown</Code></Error>' } : { status: 200 },
          );
          if (attempt === 1) await assert.rejects(s.put(stream), (e: Error) => classifyError(e) === 'retryable');
          else assert.equal(await s.put(stream), 'stored');
          const put = seen[1]!;
          assert.ok(put.body.equals(body), `attempt ${attempt}: exactly the encoder's bytes`);
          assert.equal(put.headers['content-length'], String(body.length));
          assert.equal(put.headers['content-md5'], createHash('md5').update(body).digest('base64'));
          assert.equal(put.headers['x-amz-checksum-sha256'], createHash('sha256').update(body).digest('base64'));
          assert.equal(put.headers['x-amz-content-sha256'], createHash('sha256').update(body).digest('hex'));
          assert.deepEqual(readdirSync(dir), ['segment'], 'no scratch file left beside the segment');
        }
      });

    it('a segment shorter than the outbox says fails the put before any request', async () => {
      for (const gzip of [true, false]) {
        seen.length = 0;
        const short = { ...big, linesFile: { path: big.linesFile!.path, bytes: big.linesFile!.bytes + 4096 } };
        await assert.rejects(sink({ gzip }).put(short), (e: TailsealError) => e.code === 'SINK_RETRYABLE');
        assert.equal(seen.length, 0);
        assert.deepEqual(readdirSync(dir), ['segment']);
      }
    });
  });

  it('AWS-style 412 (the key appeared meanwhile) with the same content is acknowledged as existed', async () => {
    seen.length = 0;
    const sha = createHash('sha256').update(encodeObject(obj, true).body).digest('hex');
    script.push(
      { status: 404 },
      { status: 412, body: '<Error><Code>PreconditionFailed</Code></Error>' },
      { status: 200, headers: { 'x-amz-meta-tailseal-sha256': sha } },
    );
    assert.equal(await sink().put(obj), 'existed');
    assert.deepEqual(
      seen.map((s) => s.method),
      ['HEAD', 'PUT', 'HEAD'],
    );
  });

  it('an existing object with other content is a conflict (no PUT at all)', async () => {
    seen.length = 0;
    script.push({ status: 200, headers: { 'x-amz-meta-tailseal-sha256': 'ff'.repeat(32) } });
    await assert.rejects(sink().put(obj), (e: TailsealError) => e.code === 'SINK_CONFLICT');
    assert.deepEqual(
      seen.map((s) => s.method),
      ['HEAD'],
    );
  });

  const answers: { desc: string; answer: Answer; code: string; retryAfterMs?: number }[] = [
    {
      desc: '503 SlowDown with Retry-After',
      answer: {
        status: 503,
        headers: { 'retry-after': '3' },
        body: '<Error><Code>SlowDown</Code><Message>Reduce your request rate.</Message></Error>',
      },
      code: 'SINK_RETRYABLE',
      retryAfterMs: 3000,
    },
    {
      desc: '409 ConditionalRequestConflict',
      answer: { status: 409, body: '<Error><Code>ConditionalRequestConflict</Code></Error>' },
      code: 'SINK_RETRYABLE',
    },
    {
      desc: '400 RequestTimeout',
      answer: { status: 400, body: '<Error><Code>RequestTimeout</Code></Error>' },
      code: 'SINK_RETRYABLE',
    },
    {
      desc: '403 RequestTimeTooSkewed',
      answer: { status: 403, body: '<Error><Code>RequestTimeTooSkewed</Code></Error>' },
      code: 'SINK_RETRYABLE',
    },
    {
      desc: '403 AccessDenied',
      answer: { status: 403, body: '<Error><Code>AccessDenied</Code></Error>' },
      code: 'SINK_PERMANENT',
    },
    {
      desc: '400 InvalidRequest (missing integrity header)',
      answer: { status: 400, body: '<Error><Code>InvalidRequest</Code></Error>' },
      code: 'SINK_PERMANENT',
    },
    {
      desc: '404 NoSuchBucket',
      answer: { status: 404, body: '<Error><Code>NoSuchBucket</Code></Error>' },
      code: 'SINK_PERMANENT',
    },
  ];
  for (const a of answers) {
    it(`PUT answered ${a.desc} -> ${a.code}`, async () => {
      script.push({ status: 404 }, a.answer);
      await assert.rejects(sink().put(obj), (e: TailsealError) => {
        assert.equal(e.code, a.code);
        assert.equal(classifyError(e), a.code === 'SINK_RETRYABLE' ? 'retryable' : 'permanent');
        if (a.retryAfterMs !== undefined) assert.equal(e.details.retryAfterMs, a.retryAfterMs);
        return true;
      });
    });
  }

  it('start() reads ?object-lock and refuses a bucket without a lock configuration', async () => {
    script.push({ status: 404, body: '<Error><Code>ObjectLockConfigurationNotFoundError</Code></Error>' });
    await assert.rejects(
      sink().start(),
      (e: TailsealError) => e.code === 'SINK_PERMANENT' && /has no Object Lock/.test(e.message),
    );
    assert.equal(seen.at(-1)!.url, '/audit-bucket?object-lock=');
    script.push({
      status: 200,
      body:
        '<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled>' +
        '<Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>7</Days></DefaultRetention></Rule>' +
        '</ObjectLockConfiguration>',
    });
    await sink().start();
  });
});
