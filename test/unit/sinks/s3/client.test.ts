// The exact requests the s3 sink sends, and how it reads AWS-style answers, against a scripted
// local S3 stand-in (node:http on 127.0.0.1). Real-server behaviour is in s3-sink.test.ts.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { type IncomingHttpHeaders, type Server, createServer } from 'node:http';
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
      { log: createLogger('silent') },
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
