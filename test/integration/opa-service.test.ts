// The opa_service input: OPA's decision-log upload API on 127.0.0.1, answered 2xx only after
// the events are sealed and committed. A real daemon process, a real HTTP client sending what
// OPA sends (gzip'd JSON arrays with a bearer token), a real store checked with `verify`.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import {
  type DaemonProc,
  type Workspace,
  freePort,
  makeWorkspace,
  startDaemon,
  stopDaemon,
  storeEntries,
  verifyStore,
  waitFor,
  receiversListening,
  retryingHttpSinkYaml,
} from '../helpers/daemon.js';
import { event, upload } from '../helpers/opa-upload.js';
import { OPA_CORPUS } from '../helpers/paths.js';
import { HAVE_OPENSSL, makePki } from '../helpers/pki.js';

const TOKEN = 'upl-7f3e9a1c5b2d4e60-secret';

function receiverYaml(port: number, extra = ''): string {
  return `  - name: upload
    type: opa_service
    listen: 127.0.0.1:${port}
    token: ${TOKEN}
    opa_upload_size_limit_bytes: 90
    max_body_bytes: 64KiB
    max_decoded_bytes: 256KiB${extra}`;
}

/** Stored decision payloads of stream "upload", as text. */
const stored = (w: Workspace): string[] =>
  storeEntries(w.storeDir)
    .filter((e) => e.stream === 'upload' && e.kind === 'decision')
    .map((e) => Buffer.from(e.payload).toString('utf8'));
const storedIds = (w: Workspace): string[] =>
  stored(w).map((p) => (JSON.parse(p) as { decision_id: string }).decision_id);

describe('opa_service input (OPA uploads to tailseal)', () => {
  let w: Workspace;
  let d: DaemonProc;
  let url: string;
  before(async () => {
    const port = await freePort();
    w = makeWorkspace({ inputsYaml: receiverYaml(port) });
    url = `http://127.0.0.1:${port}/logs`;
    d = startDaemon(w);
    await receiversListening(d);
  });
  after(async () => {
    await stopDaemon(d);
    w.cleanup();
  });

  it("seals each event of OPA's documented upload body as its exact bytes", async () => {
    // The docs example is pretty-printed: the sealed bytes are the element's own text, indentation and all.
    const text = readFileSync(join(OPA_CORPUS, 'docs_management-decision-logs.upload-body.json'), 'utf8');
    const res = await upload(url, text, { token: TOKEN });
    assert.equal(res.status, 200, res.body);
    assert.deepEqual(JSON.parse(res.body), { accepted: 1 });
    const start = text.indexOf('{');
    const end = text.lastIndexOf('}') + 1;
    await waitFor(() => stored(w).length === 1, 'the event in the store');
    assert.equal(stored(w)[0], text.slice(start, end));
    const entry = storeEntries(w.storeDir).find((e) => e.stream === 'upload')!;
    assert.equal(entry.source, 'opa_service/upload/logs');
    assert.equal(
      entry.offset,
      Buffer.byteLength(text.slice(0, start)),
      "offset = the event's byte offset in the decoded body",
    );
  });

  it('accepts identity bodies, /logs/<partition>, and an empty array', async () => {
    assert.equal((await upload(url, [event('id-identity')], { token: TOKEN, encoding: 'identity' })).status, 200);
    assert.equal((await upload(`${url}/partition-a`, [event('id-partition')], { token: TOKEN })).status, 200);
    assert.deepEqual(JSON.parse((await upload(url, [], { token: TOKEN })).body), { accepted: 0 });
    await waitFor(() => storedIds(w).includes('id-partition') && storedIds(w).includes('id-identity'), 'both events');
    const part = storeEntries(w.storeDir).find((e) => Buffer.from(e.payload).includes('id-partition'))!;
    assert.equal(part.source, 'opa_service/upload/logs/partition-a');
  });

  // One case per defect: each is refused with a status OPA retries on (non-2xx) and a reason.
  const refusals: {
    desc: string;
    send: () => Promise<{ status: number; body: string; headers: Record<string, unknown> }>;
    status: number;
    reason: RegExp;
  }[] = [
    { desc: 'no token', send: () => upload(url, [event('x1')]), status: 401, reason: /bearer token/ },
    {
      desc: 'wrong token',
      send: () => upload(url, [event('x2')], { token: 'guess' }),
      status: 401,
      reason: /bearer token/,
    },
    {
      desc: 'wrong path',
      send: () => upload(url.replace('/logs', '/v1/data'), [event('x3')], { token: TOKEN }),
      status: 404,
      reason: /resource must be \/logs/,
    },
    {
      desc: 'GET',
      send: () => upload(url, '', { token: TOKEN, method: 'GET', encoding: 'identity' }),
      status: 405,
      reason: /only POST/,
    },
    {
      desc: 'unsupported encoding',
      send: () => upload(url, [event('x4')], { token: TOKEN, encoding: 'br' }),
      status: 415,
      reason: /Content-Encoding "br"/,
    },
    {
      desc: 'invalid gzip',
      send: () => upload(url, Buffer.from('not gzip at all'), { token: TOKEN, raw: true }),
      status: 400,
      reason: /not valid gzip/,
    },
    {
      desc: 'truncated gzip',
      send: () => upload(url, gzipSync(JSON.stringify([event('x5')])).subarray(0, 20), { token: TOKEN, raw: true }),
      status: 400,
      reason: /not valid gzip/,
    },
    {
      desc: 'invalid JSON',
      send: () => upload(url, '[{"decision_id":"x6",}]', { token: TOKEN }),
      status: 400,
      reason: /not valid JSON/,
    },
    {
      desc: 'not an array',
      send: () => upload(url, JSON.stringify(event('x7')), { token: TOKEN }),
      status: 400,
      reason: /must be a JSON array/,
    },
    {
      desc: 'an element that is not an object',
      send: () => upload(url, '[{"decision_id":"x8"}, 42]', { token: TOKEN }),
      status: 400,
      reason: /event 1 is not a JSON object/,
    },
    {
      desc: 'invalid UTF-8',
      send: () =>
        upload(
          url,
          Buffer.concat([Buffer.from('[{"decision_id":"x9","input":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}]')]),
          { token: TOKEN },
        ),
      status: 400,
      reason: /not valid UTF-8/,
    },
    {
      desc: 'body over max_body_bytes',
      send: () => upload(url, Buffer.alloc(80 * 1024, 0x20), { token: TOKEN, encoding: 'identity' }),
      status: 413,
      reason: /max_body_bytes/,
    },
    // 1 MiB of spaces compresses to about 1 KiB: a small body that would decode past the limit.
    {
      desc: 'gzip bomb over max_decoded_bytes',
      send: () => upload(url, `[${' '.repeat(1024 * 1024)}]`, { token: TOKEN }),
      status: 413,
      reason: /max_decoded_bytes/,
    },
  ];
  for (const r of refusals) {
    it(`refuses: ${r.desc} (${r.status})`, async () => {
      const before = stored(w).length;
      const res = await r.send();
      assert.equal(res.status, r.status, res.body);
      assert.match((JSON.parse(res.body) as { error: string }).error, r.reason);
      await new Promise((res2) => setTimeout(res2, 150));
      assert.equal(stored(w).length, before, 'nothing sealed');
    });
  }

  it('a retried upload (same chunk again) seals each decision once', async () => {
    const chunk = [event('retry-1'), event('retry-2'), event('retry-3')];
    assert.equal((await upload(url, chunk, { token: TOKEN })).status, 200);
    assert.equal((await upload(url, chunk, { token: TOKEN })).status, 200);
    // A chunk that overlaps: only the new decision is sealed.
    assert.equal((await upload(url, [event('retry-3'), event('retry-4')], { token: TOKEN })).status, 200);
    // A different event that reuses a decision_id is not a retry: it is sealed, not dropped.
    assert.equal((await upload(url, [event('retry-2', { result: false })], { token: TOKEN })).status, 200);
    await waitFor(
      () => storedIds(w).filter((id) => id === 'retry-2').length === 2,
      'the second, different retry-2 sealed',
    );
    const ids = storedIds(w).filter((id) => id.startsWith('retry-'));
    assert.deepEqual(ids, ['retry-1', 'retry-2', 'retry-3', 'retry-4', 'retry-2']);
  });

  it('1000 concurrent small uploads: every decision sealed exactly once, and the trail verifies', async () => {
    const before = storedIds(w).length;
    const results = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => upload(url, [event(`conc-${i}`)], { token: TOKEN })),
    );
    assert.deepEqual([...new Set(results.map((r) => r.status))], [200]);
    await waitFor(() => storedIds(w).length === before + 1000, '1000 more decisions in the store', 30_000);
    const ids = storedIds(w).filter((id) => id.startsWith('conc-'));
    assert.equal(new Set(ids).size, 1000);
    const v = verifyStore(w);
    assert.equal(v.status, 0, v.stdout + v.stderr);
  });
});

describe('opa_service input under pressure and at start-up', () => {
  it('answers 503 with Retry-After while the outbox is full, and accepts again once it drains', async () => {
    const port = await freePort();
    const sinkPort = await freePort(); // nothing listens: the http sink fails (retryable) until it does
    const w = makeWorkspace({
      inputsYaml: receiverYaml(port, '\n    retry_after: 2s'),
      outboxMaxBytes: '192KiB', // one chunk of OPA's smallest limit (90 bytes) can store 188 KB
      sinksYaml: retryingHttpSinkYaml(sinkPort),
    });
    const d = startDaemon(w);
    try {
      await receiversListening(d);
      const url = `http://127.0.0.1:${port}/logs`;
      const big = (n: number) =>
        Array.from({ length: 20 }, (_, i) => event(`bp-${n}-${i}`, { input: { pad: 'x'.repeat(2000) } }));
      const statuses: number[] = [];
      let refused: { status: number; headers: Record<string, unknown>; body: string } | undefined;
      for (let n = 0; n < 10 && !refused; n++) {
        const r = await upload(url, big(n), { token: TOKEN });
        statuses.push(r.status);
        if (r.status !== 200) refused = r;
      }
      assert.ok(refused, `expected a refusal once the outbox filled, got ${statuses.join(',')}`);
      assert.equal(refused.status, 503);
      assert.equal(refused.headers['retry-after'], '2');
      assert.match((JSON.parse(refused.body) as { error: string }).error, /outbox is full/);
      // The collector comes up; the sink drains the outbox; OPA's retry of the refused chunk is taken.
      const collector = createServer((req, res) => {
        req.resume();
        req.on('end', () => res.writeHead(200).end());
      });
      await new Promise<void>((r) => collector.listen(sinkPort, '127.0.0.1', () => r()));
      try {
        const chunk = big(statuses.length - 1);
        let status = 0;
        for (let attempt = 0; attempt < 100 && status !== 200; attempt++) {
          status = (await upload(url, chunk, { token: TOKEN })).status;
          if (status !== 200) await new Promise((r) => setTimeout(r, 100));
        }
        assert.equal(status, 200, 'the retried chunk is accepted once the outbox drained');
        await waitFor(() => d.logs.some((l) => l.includes('Outbox has room again')), 'reading resumed');
      } finally {
        collector.closeAllConnections();
        await new Promise((r) => collector.close(r));
      }
    } finally {
      await stopDaemon(d);
      w.cleanup();
    }
  });

  it('a port in use stops start-up with CONFIG_INVALID naming the address', async () => {
    const port = await freePort();
    const w1 = makeWorkspace({ inputsYaml: receiverYaml(port) });
    const w2 = makeWorkspace({ inputsYaml: receiverYaml(port) });
    const d1 = startDaemon(w1);
    try {
      await receiversListening(d1);
      const d2 = startDaemon(w2);
      const code = await d2.exited;
      assert.equal(code, 2);
      assert.ok(
        d2.logs.some(
          (l) => l.includes('CONFIG_INVALID') && l.includes(`127.0.0.1:${port}`) && l.includes('EADDRINUSE'),
        ),
        d2.logs.join('\n'),
      );
    } finally {
      await stopDaemon(d1);
      w1.cleanup();
      w2.cleanup();
    }
  });

  it('a client that stalls mid-body is cut off after request_timeout; masks apply to uploads too', async () => {
    const port = await freePort();
    const w = makeWorkspace({
      inputsYaml: receiverYaml(port, '\n    request_timeout: 500ms\n    mask: { rules: [{ erase: /input/secret }] }'),
    });
    const d = startDaemon(w);
    try {
      await receiversListening(d);
      const { connect } = await import('node:net');
      const sock = connect(port, '127.0.0.1');
      const closedAt = new Promise<number>((r) => sock.on('close', () => r(Date.now())));
      sock.on('error', () => undefined);
      sock.resume(); // read (and discard) the 408, so that 'close' can follow the server's FIN
      const started = Date.now();
      const head = ['Host: 127.0.0.1', 'Content-Type: application/json', `Authorization: Bearer ${TOKEN}`];
      head.push('Content-Length: 1000');
      sock.write(`POST /logs HTTP/1.1\r\n${head.join('\r\n')}\r\n\r\n[{"decision_id":`);
      const elapsed = (await closedAt) - started;
      assert.ok(elapsed >= 400 && elapsed < 10_000, `closed after ${elapsed} ms`);
      const ok = await upload(
        `http://127.0.0.1:${port}/logs`,
        [event('masked-1', { input: { secret: 's3', keep: 1 } })],
        { token: TOKEN },
      );
      assert.equal(ok.status, 200);
      await waitFor(() => stored(w).length === 1, 'the masked event');
      assert.deepEqual(JSON.parse(stored(w)[0]!).input, { keep: 1 });
    } finally {
      await stopDaemon(d);
      w.cleanup();
    }
  });

  it('the token never appears in the logs', async () => {
    const port = await freePort();
    const w = makeWorkspace({ inputsYaml: receiverYaml(port) });
    const d = startDaemon(w);
    try {
      await receiversListening(d);
      const url = `http://127.0.0.1:${port}/logs`;
      await upload(url, [event('t1')], { token: TOKEN });
      await upload(url, [event('t2')], { token: `${TOKEN}-wrong` });
    } finally {
      await stopDaemon(d);
      w.cleanup();
    }
    assert.ok(d.logs.length > 0);
    assert.ok(!d.logs.some((l) => l.includes(TOKEN)), 'token in the logs');
  });
});

describe('opa_service input over TLS', { skip: HAVE_OPENSSL ? false : 'openssl is not installed' }, () => {
  it('serves HTTPS with the configured certificate; plain HTTP gets no answer', async () => {
    const pki = makePki();
    const port = await freePort();
    const w = makeWorkspace({
      inputsYaml: receiverYaml(port, `\n    tls: { cert_file: ${pki.serverCert}, key_file: ${pki.serverKey} }`),
    });
    const d = startDaemon(w);
    try {
      await receiversListening(d);
      const ok = await upload(`https://127.0.0.1:${port}/logs`, [event('tls-1')], {
        token: TOKEN,
        ca: readFileSync(pki.ca, 'utf8'),
      });
      assert.equal(ok.status, 200, ok.body);
      await assert.rejects(upload(`http://127.0.0.1:${port}/logs`, [event('tls-2')], { token: TOKEN }));
      await waitFor(() => storedIds(w).includes('tls-1'), 'the event over TLS in the store');
      assert.deepEqual(storedIds(w), ['tls-1']);
    } finally {
      await stopDaemon(d);
      w.cleanup();
    }
  });

  it('a missing certificate file stops start-up with CONFIG_INVALID naming it', async () => {
    const port = await freePort();
    const w = makeWorkspace({
      inputsYaml: receiverYaml(port, '\n    tls: { cert_file: /nonexistent/cert.pem, key_file: /nonexistent/key.pem }'),
    });
    const d = startDaemon(w);
    try {
      assert.equal(await d.exited, 2);
      assert.ok(
        d.logs.some((l) => l.includes('CONFIG_INVALID') && l.includes('/nonexistent/cert.pem')),
        d.logs.join('\n'),
      );
    } finally {
      w.cleanup();
    }
  });
});
