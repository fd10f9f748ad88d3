// The http sink POSTs each trail object byte for byte, names it in Idempotency-Key, and turns
// every failure into something the shared retry classifier understands.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { type Socket, connect } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import pino from 'pino';
import { parseConfig } from '../../../../src/config/load.js';
import { TailsealError } from '../../../../src/errors.js';
import { encodeObject } from '../../../../src/seal/encoder.js';
import { parseObject } from '../../../../src/seal/gzip.js';
import { httpSinkSchema } from '../../../../src/sinks/http/config.js';
import { HttpSink } from '../../../../src/sinks/http/sink.js';
import { classifyError } from '../../../../src/sinks/retry.js';
import type { TrailObject } from '../../../../src/sinks/sink.js';
import { HAVE_OPENSSL, type Pki, makePki } from '../../../helpers/pki.js';
import { FaultServer } from '../../../helpers/fault-server.js';
import { type TrailSpec, outboxObjects, sealTrail } from '../../../helpers/trail.js';

const TOKEN = 'tok-3f9a1c77e2b04d58a6c1-secret';
const PASSWORD = 'pw-8d21b6e0c4f9-secret';

/** Real sealed objects (sealRecords + signHead via the trail helper) as the outbox hands them over. */
const trailObjects = (spec: TrailSpec): TrailObject[] => outboxObjects(sealTrail(spec));

/** A pino logger that keeps every line in memory. */
function memoryLogger(): { log: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { log: pino({ level: 'trace' }, stream), lines };
}

describe('http sink', () => {
  let srv: FaultServer;
  const mem = memoryLogger();
  const sinks: HttpSink[] = [];
  const [data, heartbeat] = trailObjects({ plan: [5, 'heartbeat'] });

  before(async () => {
    srv = await FaultServer.start();
  });
  after(async () => {
    for (const s of sinks) await s.close();
    await srv.close();
  });

  const sink = (over: Record<string, unknown> = {}): HttpSink => {
    const s = new HttpSink(
      httpSinkSchema.parse({
        name: 'collector',
        type: 'http',
        url: `${srv.url}/ingest?tenant=a`,
        auth: { bearer_token: TOKEN },
        retry: { initial_backoff: 1, max_backoff: 1 },
        ...over,
      }),
      { log: mem.log, stateDir: tmpdir() },
    );
    sinks.push(s);
    return s;
  };

  it('goes through the configured proxy (an HTTP CONNECT proxy on 127.0.0.1)', async () => {
    srv.set({ kind: 'ok' });
    const tunnels: string[] = [];
    const proxy = createServer();
    proxy.on('connect', (req, client: Socket, head: Buffer) => {
      tunnels.push(String(req.url));
      const [host, port] = String(req.url).split(':');
      const upstream = connect(Number(port), host, () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(client).pipe(upstream);
      });
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
    try {
      const s = sink({ proxy: `http://127.0.0.1:${(proxy.address() as { port: number }).port}` });
      await s.start();
      const before = srv.requests.length;
      assert.equal(await s.put(data!), 'stored');
      assert.deepEqual(tunnels, [`127.0.0.1:${srv.port}`], 'one tunnel to the collector');
      assert.equal(srv.requests.length, before + 1);
      await s.close();
    } finally {
      proxy.close();
    }
  });

  it('POSTs the exact gzip object bytes with its name as Idempotency-Key (defaults: gzip, bearer)', async () => {
    srv.set({ kind: 'ok' });
    const s = sink({ headers: { 'X-Tenant': 'team-a' } });
    await s.start();
    const before = srv.requests.length;
    assert.equal(await s.put(data!), 'stored');
    const r = srv.requests[before]!;
    const { name, body } = encodeObject(data!, true);
    assert.equal(name, 'opa/00000000000000000000-00000000000000000004.ndjson.gz');
    assert.equal(r.method, 'POST');
    assert.equal(r.url, '/ingest?tenant=a');
    assert.deepEqual(r.body, body, 'the body is exactly encodeObject(obj, gzip) ...');
    assert.deepEqual(gunzipSync(r.body), encodeObject(data!, false).body, '... which gunzips to the NDJSON object');
    assert.equal(parseObject(r.body).entries.length, 5);
    assert.equal(r.headers['content-type'], 'application/x-ndjson');
    assert.equal(r.headers['content-encoding'], 'gzip');
    // Streamed from the segment and gzip'd on the way, so its length is not known up front.
    assert.equal(r.headers['content-length'], undefined);
    assert.equal(r.headers['transfer-encoding'], 'chunked');
    assert.equal(r.headers['idempotency-key'], name);
    assert.equal(r.headers['x-tailseal-object'], name);
    assert.equal(r.headers['x-tenant'], 'team-a');
    assert.equal(r.headers.authorization, `Bearer ${TOKEN}`);
  });

  it('gzip: false sends the plain NDJSON without Content-Encoding; heartbeats are sent too', async () => {
    const s = sink({ gzip: false, auth: undefined });
    const before = srv.requests.length;
    assert.equal(await s.put(data!), 'stored');
    assert.equal(await s.put(heartbeat!), 'stored');
    const [r1, r2] = srv.requests.slice(before);
    assert.deepEqual(r1!.body, encodeObject(data!, false).body);
    assert.equal(r1!.headers['content-length'], String(encodeObject(data!, false).body.length));
    assert.equal(r1!.headers['content-encoding'], undefined);
    assert.equal(r1!.headers['idempotency-key'], 'opa/00000000000000000000-00000000000000000004.ndjson');
    assert.equal(r1!.headers.authorization, undefined);
    assert.match(r2!.headers['idempotency-key'] as string, /^opa\/heartbeat-00000000000000000005-\d+\.ndjson$/);
    assert.equal(parseObject(r2!.body).note, heartbeat!.note);
  });

  describe('a large object streamed from its outbox segment', () => {
    let dir: string;
    let big: TrailObject;
    let count = 0;
    before(() => {
      // Over 9 MiB of entry lines (several read chunks and gzip blocks), then bytes past the object's
      // end, as a segment holds after a failed commit: those are never sent.
      dir = mkdtempSync(join(tmpdir(), 'tailseal-http-seg-'));
      const one = Buffer.concat(data!.lines);
      count = Math.ceil((9 * 1024 * 1024) / one.length) * data!.lines.length;
      const lines = Buffer.concat(Array.from({ length: count / data!.lines.length }, () => one));
      const path = join(dir, 'segment');
      writeFileSync(path, Buffer.concat([lines, Buffer.from('{"unsealed":true}\n')]));
      big = { ...data!, lines: [lines], linesFile: { path, bytes: lines.length } };
      assert.ok(lines.length > 9 * 1024 * 1024);
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    for (const gzip of [true, false])
      it(`sends encodeObject's bytes (gzip: ${gzip}) without reading lines; a retry sends the same bytes`, async () => {
        srv.set({ kind: 'ok' });
        const s = sink({ gzip });
        const obj: TrailObject = {
          ...big,
          get lines(): Buffer[] {
            throw new Error('the sink read lines instead of streaming the segment');
          },
        };
        const want = encodeObject(big, gzip).body;
        srv.enqueue({ kind: 'reset' });
        const before = srv.requests.length;
        await assert.rejects(s.put(obj), (e: NodeJS.ErrnoException) => classifyError(e) === 'retryable');
        assert.equal(await s.put(obj), 'stored');
        const [failed, ok] = srv.requests.slice(before);
        assert.equal(failed!.complete, false, 'the first attempt was cut off');
        assert.ok(want.subarray(0, failed!.body.length).equals(failed!.body), 'its bytes so far were the same');
        assert.ok(ok!.body.equals(want), 'the retry sent exactly the encoder bytes');
        assert.equal(parseObject(ok!.body).entries.length, count);
      });

    it('a segment shorter than the outbox says fails the put (retryable), nothing is stored', async () => {
      srv.set({ kind: 'ok' });
      for (const gzip of [true, false]) {
        const s = sink({ gzip });
        const short = { ...big, linesFile: { path: big.linesFile!.path, bytes: big.linesFile!.bytes + 4096 } };
        const before = srv.accepted().length;
        await assert.rejects(s.put(short), (e: NodeJS.ErrnoException) => classifyError(e) === 'retryable');
        assert.equal(srv.accepted().length, before, `gzip ${gzip}: nothing acknowledged`);
      }
    });
  });

  it('basic auth sends Authorization: Basic base64(user:password)', async () => {
    const s = sink({ auth: { username: 'tailseal', password: PASSWORD } });
    const before = srv.requests.length;
    await s.put(data!);
    assert.equal(
      srv.requests[before]!.headers.authorization,
      `Basic ${Buffer.from(`tailseal:${PASSWORD}`).toString('base64')}`,
    );
  });

  it('any 2xx acknowledges', async () => {
    const s = sink();
    for (const status of [201, 202, 204]) {
      srv.enqueue({ kind: 'ok', status });
      assert.equal(await s.put(data!), 'stored', `HTTP ${status}`);
    }
  });

  const failures: { status: number; retryAfter?: string; code: string; cls: string; retryAfterMs?: number }[] = [
    { status: 500, code: 'SINK_RETRYABLE', cls: 'retryable' },
    { status: 502, code: 'SINK_RETRYABLE', cls: 'retryable' },
    { status: 503, code: 'SINK_RETRYABLE', cls: 'retryable' },
    { status: 503, retryAfter: '1', code: 'SINK_RETRYABLE', cls: 'retryable', retryAfterMs: 1000 },
    { status: 429, retryAfter: '2', code: 'SINK_RETRYABLE', cls: 'retryable', retryAfterMs: 2000 },
    { status: 400, code: 'SINK_PERMANENT', cls: 'permanent' },
    { status: 401, code: 'SINK_PERMANENT', cls: 'permanent' },
    { status: 403, code: 'SINK_PERMANENT', cls: 'permanent' },
    { status: 409, code: 'SINK_CONFLICT', cls: 'conflict' },
    { status: 412, code: 'SINK_CONFLICT', cls: 'conflict' },
  ];
  for (const f of failures) {
    it(`HTTP ${f.status}${f.retryAfter ? ` with Retry-After: ${f.retryAfter}` : ''} -> ${f.code} (${f.cls})`, async () => {
      const s = sink();
      srv.enqueue({ kind: 'status', status: f.status, ...(f.retryAfter ? { retryAfter: f.retryAfter } : {}) });
      const err = await s.put(data!).then(
        () => assert.fail('expected a rejection'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof TailsealError);
      assert.equal(err.code, f.code);
      assert.equal(classifyError(err), f.cls);
      assert.equal(err.details.status, f.status);
      assert.equal(err.details.retryAfterMs, f.retryAfterMs);
      assert.match(
        err.message,
        new RegExp(
          `sink collector: POST http://127\\.0\\.0\\.1:\\d+/ingest \\(object opa/\\S+\\) answered HTTP ${f.status}`,
        ),
      );
      assert.ok(!err.message.includes('tenant=a'), 'the query string is not in messages');
      // The connection is still usable after an error answer.
      assert.equal(await s.put(data!), 'stored');
    });
  }

  it('an error body that echoes the credentials is scrubbed from the message', async () => {
    const s = sink();
    srv.enqueue({ kind: 'status', status: 401, body: `invalid token Bearer ${TOKEN} for tenant` });
    await assert.rejects(s.put(data!), (e: TailsealError) => {
      assert.ok(!e.message.includes(TOKEN), e.message);
      assert.match(e.message, /invalid token \[redacted\] for tenant/);
      return true;
    });
  });

  it('connection refused is retryable; the server comes back on the same port and the put succeeds', async () => {
    const s = sink();
    const port = srv.port;
    await srv.down();
    try {
      await assert.rejects(s.put(data!), (e: NodeJS.ErrnoException) => {
        assert.equal(e.code, 'ECONNREFUSED');
        assert.equal(classifyError(e), 'retryable');
        return true;
      });
    } finally {
      await srv.up();
    }
    assert.equal(srv.port, port);
    assert.equal(await s.put(data!), 'stored');
  });

  it('a connection reset mid-request is retryable', async () => {
    const s = sink();
    srv.enqueue({ kind: 'reset' });
    await assert.rejects(s.put(data!), (e: NodeJS.ErrnoException) => {
      assert.ok(
        typeof e.code === 'string' && (e.code === 'ECONNRESET' || e.code.startsWith('UND_ERR_')),
        `code ${e.code}`,
      );
      assert.equal(classifyError(e), 'retryable');
      return true;
    });
    assert.equal(await s.put(data!), 'stored');
  });

  it('a server slower than timeout.request fails with an undici timeout (retryable), before it answers', async () => {
    // undici checks its timeouts on a coarse (~0.5-1 s) tick, so a 150 ms timeout fires within
    // about a second; the overall deadline (connect + request = 5.15 s) stays out of the way.
    const s = sink({ timeout: { request: '150ms', connect: '5s' } });
    srv.enqueue({ kind: 'slow', delayMs: 4000 });
    const before = srv.requests.length;
    await assert.rejects(s.put(data!), (e: { code?: string }) => {
      assert.equal(e.code, 'UND_ERR_HEADERS_TIMEOUT');
      assert.equal(classifyError(e), 'retryable');
      return true;
    });
    assert.equal(srv.requests[before]!.status, null, 'the client gave up before the server answered');
  });

  it('close() is safe before start() and twice; nothing it logged holds a secret', async () => {
    const s = sink();
    await s.close();
    await s.close();
    const t = sink();
    await t.start();
    await t.close();
    await t.close();
    const all = mem.lines.join('');
    assert.ok(all.includes('HTTP sink ready.'));
    assert.ok(!all.includes(TOKEN) && !all.includes(PASSWORD), 'no secret in the logs');
  });

  it('config: ${TOKEN} in auth comes from the environment; bad values name the key', () => {
    const raw = (sink: Record<string, unknown>) => ({
      state_dir: '/s',
      origin: 'o',
      signing: { key_file: '/k' },
      inputs: [{ name: 'opa', type: 'file', paths: ['/a'] }],
      sinks: [{ name: 'c', type: 'http', url: 'https://collector.example/ingest', ...sink }],
    });
    const c = parseConfig(raw({ auth: { bearer_token: '${COLLECTOR_TOKEN}' } }), 'x.yaml', { COLLECTOR_TOKEN: TOKEN });
    const s = c.sinks[0]!;
    assert.equal(s.type, 'http');
    if (s.type !== 'http') return;
    assert.equal(s.auth?.bearer_token, TOKEN);
    assert.equal(s.gzip, true);
    assert.deepEqual(s.headers, {});
    assert.deepEqual(s.timeout, { connect: 10_000, request: 60_000 });
    const problems = (sinkRaw: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) => {
      try {
        parseConfig(raw(sinkRaw), 'x.yaml', env);
      } catch (e) {
        assert.ok(e instanceof TailsealError && e.code === 'CONFIG_INVALID');
        assert.ok(!e.message.includes(TOKEN), 'config errors never echo a secret');
        return e.message;
      }
      return assert.fail('expected CONFIG_INVALID');
    };
    assert.match(
      problems({ auth: { bearer_token: '${COLLECTOR_TOKEN}' } }),
      /sinks\[0\]\.auth\.bearer_token: environment variable COLLECTOR_TOKEN is not set/,
    );
    assert.match(
      problems({ url: `https://u:${TOKEN}@collector.example/` }),
      /sinks\[0\]\.url: url must not contain user:password@; put credentials in auth/,
    );
    assert.match(
      problems({ url: 'ftp://collector.example/' }),
      /sinks\[0\]\.url: url must use http:\/\/ or https:\/\//,
    );
    assert.match(
      problems({ auth: { bearer_token: TOKEN, username: 'u', password: 'p' } }),
      /sinks\[0\]\.auth: set either bearer_token, or username and password, not both/,
    );
    assert.match(problems({ auth: { username: 'u' } }), /sinks\[0\]\.auth: username and password go together/);
    assert.match(
      problems({ headers: { 'Idempotency-Key': 'x' } }),
      /sinks\[0\]\.headers\.Idempotency-Key: this header is set by the sink itself/,
    );
    assert.match(
      problems({ headers: { 'X-A': 'a\r\nInjected: 1' } }),
      /sinks\[0\]\.headers\.X-A: header values may not contain line breaks/,
    );
    assert.match(
      problems({ headers: { Authorization: 'x' }, auth: { bearer_token: 'abcd' } }),
      /sinks\[0\]\.headers\.Authorization: set either auth or an Authorization header/,
    );
    assert.match(problems({ tls: { cert_file: '/c.pem' } }), /sinks\[0\]\.tls: cert_file and key_file go together/);
  });
});

// ---- mutual TLS, with certificates made by openssl (skipped when openssl is not installed) ----

describe('http sink over mutual TLS', { skip: HAVE_OPENSSL ? false : 'openssl is not installed' }, () => {
  let pki: Pki;
  let srv: FaultServer;
  const sinks: HttpSink[] = [];
  const [data] = trailObjects({ plan: [2] });
  const log = pino({ level: 'silent' });

  before(async () => {
    pki = makePki();
    const { readFileSync } = await import('node:fs');
    srv = await FaultServer.start({
      tls: {
        key: readFileSync(pki.serverKey),
        cert: readFileSync(pki.serverCert),
        ca: readFileSync(pki.ca),
        requestCert: true,
        rejectUnauthorized: true,
      },
    });
  });
  after(async () => {
    for (const s of sinks) await s.close();
    await srv?.close();
    if (pki) (await import('node:fs')).rmSync(pki.dir, { recursive: true, force: true });
  });

  const sink = (tls: Record<string, unknown>) => {
    const s = new HttpSink(
      httpSinkSchema.parse({
        name: 'mtls',
        type: 'http',
        url: `${srv.url}/ingest`,
        tls,
        timeout: { connect: '2s', request: '2s' },
      }),
      { log, stateDir: tmpdir() },
    );
    sinks.push(s);
    return s;
  };

  it('presents the client certificate and trusts the private CA', async () => {
    const s = sink({ ca_file: pki.ca, cert_file: pki.clientCert, key_file: pki.clientKey });
    await s.start();
    const before = srv.requests.length;
    assert.equal(await s.put(data!), 'stored');
    const r = srv.requests[before]!;
    assert.equal(r.clientAuthorized, true);
    assert.equal(r.clientCertCN, 'tailseal-client');
    assert.deepEqual(r.body, encodeObject(data!, true).body);
  });

  it('without the private CA the server certificate is rejected, classified permanent', async () => {
    const s = sink({ cert_file: pki.clientCert, key_file: pki.clientKey });
    await assert.rejects(s.put(data!), (e: { code?: string }) => {
      // Node names it by what the server sent: the leaf alone, or the leaf and the CA.
      assert.ok(['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN'].includes(e.code!), `code ${e.code}`);
      assert.equal(classifyError(e), 'permanent');
      return true;
    });
  });

  it('without a client certificate the server refuses the connection', async () => {
    const s = sink({ ca_file: pki.ca });
    const before = srv.accepted().length;
    // With TLS 1.3 the server's refusal arrives after the client's handshake finished, so the
    // client usually sees "other side closed" (UND_ERR_SOCKET) or a TLS alert: only assert failure.
    await assert.rejects(s.put(data!));
    assert.equal(srv.accepted().length, before, 'nothing was accepted');
  });

  it('an unreadable certificate file is CONFIG_INVALID at start()', async () => {
    const s = sink({ ca_file: join(pki.dir, 'missing.pem') });
    await assert.rejects(
      s.start(),
      (e: TailsealError) => e.code === 'CONFIG_INVALID' && e.message.includes('missing.pem'),
    );
  });
});
