// The otlp sink: each sealed decision as one OpenTelemetry log record over OTLP/HTTP. Bodies are
// decoded back with the same message definitions (protobuf) or parsed (JSON) and must say the same
// thing; answers are those of a real OTLP receiver (partial success, the spec's retryable statuses)
// from a node:http server on 127.0.0.1.
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { consoleLineToEvent } from '../../../../src/sinks/decisions/events.js';
import { logsUrl, otlpSinkSchema, type OtlpSinkConfig } from '../../../../src/sinks/otlp/config.js';
import { decisionRecord, resourceOf, unixNanos } from '../../../../src/sinks/otlp/records.js';
import { otlpTypes } from '../../../../src/sinks/otlp/proto.js';
import { MAX_ANSWER_BYTES, OtlpSink } from '../../../../src/sinks/otlp/sink.js';
import { classifyError, retryAfterOf } from '../../../../src/sinks/retry.js';
import type { TrailObject } from '../../../../src/sinks/sink.js';
import { TailsealError } from '../../../../src/errors.js';
import { FaultServer, type RecordedRequest } from '../../../helpers/fault-server.js';
import { decisionLine, outboxObjects, sealTrail } from '../../../helpers/trail.js';
import { decisionFields } from '../../../../src/sinks/decisions/fields.js';

type Json = Record<string, unknown>;
interface Kv {
  key: string;
  value: Json;
}
interface Rec {
  timeUnixNano: string;
  observedTimeUnixNano: string;
  severityNumber: number;
  severityText: string;
  body: { stringValue: string };
  attributes: Kv[];
  traceId?: string;
  spanId?: string;
}
interface Req {
  resourceLogs: { resource: { attributes: Kv[] }; scopeLogs: { scope: Json; logRecords: Rec[] }[] }[];
}

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';
/** Decision lines: the trail helper's, one with an RFC3339Nano timestamp, bundles and trace context. */
const LINES = [
  decisionLine(0),
  decisionLine(1).replace(
    '"level":"info"',
    `"bundles":{"authz":{"revision":"r42"}},"timestamp":"2025-11-29T07:06:40.123456789Z",` +
      `"trace_id":"${TRACE}","span_id":"${SPAN}","level":"info"`,
  ),
  decisionLine(2),
  decisionLine(3, 'x'.repeat(3000)),
];
const objects = (): TrailObject[] => outboxObjects(sealTrail({ records: LINES, plan: [2, 2] }));
const chainOf = (obj: TrailObject, i: number): string =>
  (JSON.parse(obj.lines[i]!.toString('utf8')) as { chain: string }).chain;

/** A log that keeps every line, for asserting what the sink reported. */
function captureLog() {
  const lines: Json[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n')) if (l) lines.push(JSON.parse(l) as Json);
      cb();
    },
  });
  return { log: pino({ level: 'debug' }, stream), lines };
}

/** A request body as its OTLP/JSON form: JSON parsed, protobuf decoded with the same definitions. */
function decodeBody(r: RecordedRequest): Req {
  assert.ok(r.decoded, 'the body gunzips');
  if (r.headers['content-type'] === 'application/json') return JSON.parse(r.decoded.toString('utf8')) as Req;
  assert.equal(r.headers['content-type'], 'application/x-protobuf');
  const T = otlpTypes().ExportLogsServiceRequest;
  const o = T.toObject(T.decode(r.decoded), { longs: String, bytes: String }) as Req;
  // OTLP/JSON writes ids as hex where protobufjs's object form has base64.
  for (const rl of o.resourceLogs)
    for (const sl of rl.scopeLogs)
      for (const rec of sl.logRecords) {
        if (rec.traceId !== undefined) rec.traceId = Buffer.from(rec.traceId, 'base64').toString('hex');
        if (rec.spanId !== undefined) rec.spanId = Buffer.from(rec.spanId, 'base64').toString('hex');
      }
  return o;
}

const attr = (attrs: Kv[], key: string): Json | undefined => attrs.find((a) => a.key === key)?.value;

describe('otlp sink', () => {
  let srv: FaultServer;
  const sinks: OtlpSink[] = [];
  before(async () => {
    srv = await FaultServer.start();
  });
  after(async () => {
    for (const s of sinks) await s.close();
    await srv.close();
  });

  const sinkFor = async (over: Json = {}, log = pino({ level: 'silent' })) => {
    const config = otlpSinkSchema.parse({
      name: 'search',
      type: 'otlp',
      endpoint: `${srv.url}/otel/`,
      resource: { 'service.name': 'opa-authz', 'deployment.environment.name': 'test' },
      ...over,
    });
    const s = new OtlpSink(config, { log, stateDir: '/nonexistent' });
    sinks.push(s);
    await s.start();
    return s;
  };
  const sendAll = async (s: OtlpSink, objs: TrailObject[]) => {
    for (const o of objs) assert.equal(await s.put(o), 'stored');
  };

  it('protobuf and JSON bodies decode to the same records: one per decision, body, attributes, seal', async () => {
    const objs = objects();
    const bodies: Req[][] = [];
    for (const encoding of ['protobuf', 'json'] as const)
      for (const gzip of [true, false]) {
        srv.set({ kind: 'ok', body: '' });
        const reqs = await srv.during(async () => sendAll(await sinkFor({ encoding, gzip }), objs));
        assert.equal(reqs.length, 2, 'one request per object');
        for (const r of reqs) {
          assert.equal(r.url, '/otel/v1/logs');
          assert.equal(r.headers['content-encoding'], gzip ? 'gzip' : undefined);
        }
        bodies.push(reqs.map(decodeBody));
      }
    // The same objects give the same records whatever the encoding and compression.
    for (const b of bodies.slice(1)) assert.deepEqual(b, bodies[0]);

    const records = bodies[0]!.flatMap((req) => {
      assert.equal(req.resourceLogs.length, 1);
      const rl = req.resourceLogs[0]!;
      assert.deepEqual(attr(rl.resource.attributes, 'host.name'), { stringValue: hostname() });
      assert.deepEqual(attr(rl.resource.attributes, 'service.name'), { stringValue: 'opa-authz' });
      assert.deepEqual(attr(rl.resource.attributes, 'deployment.environment.name'), { stringValue: 'test' });
      assert.equal(rl.scopeLogs[0]!.scope.name, 'tailseal');
      return rl.scopeLogs[0]!.logRecords;
    });
    assert.equal(records.length, LINES.length);
    for (const [i, rec] of records.entries()) {
      const obj = objs[i >> 1]!;
      assert.equal(rec.body.stringValue, consoleLineToEvent(LINES[i]!), 'the body is the OPA event, exactly');
      assert.equal(rec.severityNumber, 9);
      assert.equal(rec.severityText, 'INFO');
      const a = rec.attributes;
      assert.deepEqual(attr(a, 'opa.decision_id'), {
        stringValue: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      });
      assert.deepEqual(attr(a, 'opa.path'), { stringValue: 'httpapi/authz/allow' });
      assert.deepEqual(attr(a, 'opa.allow'), { boolValue: i % 2 === 0 });
      assert.deepEqual(attr(a, 'opa.result'), { stringValue: String(i % 2 === 0) });
      assert.deepEqual(attr(a, 'opa.labels.version'), { stringValue: '1.4.2' });
      assert.deepEqual(attr(a, 'tailseal.stream'), { stringValue: obj.stream });
      assert.deepEqual(attr(a, 'tailseal.seq'), { intValue: String(i) });
      assert.deepEqual(attr(a, 'tailseal.chain'), { stringValue: chainOf(obj, i & 1) });
      assert.match(String(attr(a, 'tailseal.object')?.stringValue), new RegExp(`^${obj.stream}/0+${obj.firstSeq}-`));
      // Observed = when the entry was sealed: before its checkpoint was signed.
      const observedMs = Number(BigInt(rec.observedTimeUnixNano) / 1_000_000n);
      assert.ok(observedMs > 1.7e12 && observedMs <= obj.createdAt, rec.observedTimeUnixNano);
    }
    // The decision's own timestamp, to the nanosecond; without one, the sealing time.
    assert.equal(records[1]!.timeUnixNano, '1764400000123456789');
    assert.equal(records[0]!.timeUnixNano, records[0]!.observedTimeUnixNano);
    assert.deepEqual(attr(records[1]!.attributes, 'opa.bundles.authz.revision'), { stringValue: 'r42' });
    assert.equal(records[1]!.traceId, TRACE);
    assert.equal(records[1]!.spanId, SPAN);
    assert.equal(records[0]!.traceId, undefined);
  });

  it('small max_batch_bytes: several requests, each within the limit, every record once and in order', async () => {
    srv.set({ kind: 'ok', body: '' });
    const many = Array.from({ length: 40 }, (_, i) => decisionLine(i));
    const objs = outboxObjects(sealTrail({ records: many, plan: [40] }));
    for (const encoding of ['protobuf', 'json'] as const) {
      const from = srv.requests.length;
      await sendAll(await sinkFor({ encoding, gzip: false, max_batch_bytes: 4096 }), objs);
      const reqs = srv.requests.slice(from);
      assert.ok(reqs.length >= 4, `${reqs.length} requests`);
      for (const r of reqs) assert.ok(r.body.length <= 4096, `${r.body.length} bytes`);
      const seqs = reqs.flatMap((r) =>
        decodeBody(r).resourceLogs.flatMap((rl) =>
          rl.scopeLogs[0]!.logRecords.map((rec) => attr(rec.attributes, 'tailseal.seq')!.intValue),
        ),
      );
      assert.deepEqual(
        seqs,
        many.map((_, i) => String(i)),
      );
    }
  });

  it('a decision too large for max_batch_bytes: SINK_PERMANENT naming its seq, nothing sent', async () => {
    srv.set({ kind: 'ok', body: '' });
    const from = srv.requests.length;
    const s = await sinkFor({ max_batch_bytes: 4096 });
    const big = outboxObjects(sealTrail({ records: [decisionLine(0), decisionLine(1, 'y'.repeat(5000))], plan: [2] }));
    await assert.rejects(s.put(big[0]!), (err: TailsealError) => {
      assert.equal(err.code, 'SINK_PERMANENT');
      assert.match(err.message, /entry seq 1 \(decision_id 00000000-0000-4000-8000-000000000001\)/);
      assert.equal(err.details.seq, 1);
      return true;
    });
    assert.equal(srv.requests.length, from, 'nothing of the object was sent');
  });

  it('partial success: rejected records are logged with the message and counted, not retried', async () => {
    const T = otlpTypes().ExportLogsServiceResponse;
    const pb = Buffer.from(
      T.encode(T.fromObject({ partialSuccess: { rejectedLogRecords: '2', errorMessage: 'attr too long' } })).finish(),
    );
    assert.ok(
      pb.every((b) => b < 0x80),
      'the answer survives the fault server as text',
    );
    const cases = [
      { encoding: 'protobuf', body: pb.toString('latin1') },
      {
        encoding: 'json',
        body: JSON.stringify({ partialSuccess: { rejectedLogRecords: '2', errorMessage: 'attr too long' } }),
      },
    ];
    for (const c of cases) {
      const { log, lines } = captureLog();
      const s = await sinkFor({ encoding: c.encoding }, log);
      srv.set({ kind: 'ok', body: c.body });
      const from = srv.requests.length;
      for (const o of objects()) assert.equal(await s.put(o), 'stored', c.encoding);
      assert.equal(srv.requests.length - from, 2, 'no retry');
      assert.equal(s.rejectedRecords, 4, c.encoding);
      const reported = lines.filter((l) => l.rejected === 2);
      assert.equal(reported.length, 2);
      assert.equal(reported[0]!.message, 'attr too long');
      assert.equal(reported[1]!.rejectedTotal, 4);
    }
  });

  it('a 2xx whose body is no ExportLogsServiceResponse is success, with a warning', async () => {
    for (const encoding of ['protobuf', 'json']) {
      const { log, lines } = captureLog();
      const s = await sinkFor({ encoding }, log);
      srv.set({ kind: 'ok', status: 201, body: '\u0007{not an answer' });
      assert.equal(await s.put(objects()[0]!), 'stored');
      assert.equal(s.rejectedRecords, 0);
      assert.ok(
        lines.some((l) => String(l.msg).includes('not an ExportLogsServiceResponse')),
        encoding,
      );
    }
  });

  it('statuses as the OTLP spec classifies them: 429/502/503/504 retryable (Retry-After), others permanent', async () => {
    const table: [number, 'retryable' | 'permanent', string | undefined][] = [
      [429, 'retryable', '7'],
      [502, 'retryable', undefined],
      [503, 'retryable', '3'],
      [504, 'retryable', undefined],
      [400, 'permanent', undefined],
      [401, 'permanent', undefined],
      [403, 'permanent', undefined],
      [404, 'permanent', undefined],
      [408, 'permanent', undefined],
      [409, 'permanent', undefined],
      [413, 'permanent', undefined],
      [500, 'permanent', undefined],
      [501, 'permanent', undefined],
    ];
    const s = await sinkFor();
    for (const [status, cls, retryAfter] of table) {
      srv.set({ kind: 'status', status, ...(retryAfter ? { retryAfter } : {}), body: `refused ${status}` });
      await assert.rejects(s.put(objects()[0]!), (err: TailsealError) => {
        assert.equal(classifyError(err), cls, `HTTP ${status}`);
        assert.equal(err.code, cls === 'retryable' ? 'SINK_RETRYABLE' : 'SINK_PERMANENT', `HTTP ${status}`);
        assert.equal(retryAfterOf(err), retryAfter ? Number(retryAfter) * 1000 : undefined, `HTTP ${status}`);
        assert.match(err.message, new RegExp(`answered HTTP ${status}: refused ${status}`));
        return true;
      });
    }
  });

  it('an over-long answer is refused (SINK_PERMANENT), and a refused connection is retryable', async () => {
    const s = await sinkFor();
    srv.set({ kind: 'ok', body: 'z'.repeat(MAX_ANSWER_BYTES + 1) });
    await assert.rejects(s.put(objects()[0]!), (err: TailsealError) => err.code === 'SINK_PERMANENT');
    const gone = await FaultServer.start();
    const url = gone.url;
    await gone.close();
    const s2 = await sinkFor({ endpoint: url });
    await assert.rejects(s2.put(objects()[0]!), (err) => classifyError(err) === 'retryable');
  });

  it('resource attributes from container metadata; configured ones win', () => {
    const meta = {
      'k8s.namespace': 'payments',
      'k8s.pod': 'opa-7d9f',
      'k8s.pod_uid': 'u-1',
      'k8s.container': 'opa',
      'log.format': 'cri',
    };
    const res = resourceOf(meta, { 'service.name': 'opa', 'k8s.namespace.name': 'override' });
    assert.deepEqual(Object.fromEntries(res.map((kv) => [kv.key, (kv.value as { stringValue: string }).stringValue])), {
      'host.name': hostname(),
      'k8s.namespace.name': 'override',
      'k8s.pod.name': 'opa-7d9f',
      'k8s.pod.uid': 'u-1',
      'k8s.container.name': 'opa',
      'service.name': 'opa',
    });
    const rec = decisionRecord(
      {
        seq: 3,
        json: '{"decision_id":"d","result":{"allow":false}}',
        decisionId: 'd',
        fields: decisionFields({ decision_id: 'd', result: { allow: false } }),
        chain: 'ab',
        sealedAt: 1000,
        meta,
      },
      'opa',
      'opa/x.ndjson',
      res,
    );
    assert.deepEqual(attr(rec.record.attributes as Kv[], 'opa.allow'), { boolValue: false });
    assert.equal(rec.record.timeUnixNano, '1000000000');
  });

  it('timestamps to Unix nanoseconds (table), hostile ones refused', () => {
    const table: [string, string | undefined][] = [
      ['2025-11-29T07:06:40Z', '1764400000000000000'],
      ['2025-11-29T07:06:40.5Z', '1764400000500000000'],
      ['2025-11-29T08:06:40.000000001+01:00', '1764400000000000001'],
      ['1969-12-31T23:59:59Z', undefined],
      ['2025-11-29 07:06:40Z', undefined],
      ['2025-11-29T07:06:40.1234567890Z', undefined],
    ];
    for (const [ts, ns] of table) assert.equal(unixNanos(ts)?.toString(), ns, ts);
  });

  it('config: endpoint or logs_url (one), the spec path joined, headers the sink sets refused', () => {
    const base = { name: 'o', type: 'otlp' };
    const ok = (c: Json): OtlpSinkConfig => otlpSinkSchema.parse({ ...base, ...c });
    assert.equal(logsUrl(ok({ endpoint: 'http://c:4318' })), 'http://c:4318/v1/logs');
    assert.equal(logsUrl(ok({ endpoint: 'http://c:4318/base/' })), 'http://c:4318/base/v1/logs');
    assert.equal(logsUrl(ok({ logs_url: 'https://c/custom/logs?tenant=a' })), 'https://c/custom/logs?tenant=a');
    const d = ok({ endpoint: 'http://c:4318' });
    assert.equal(d.encoding, 'protobuf');
    assert.equal(d.gzip, true);
    assert.deepEqual(d.resource, { 'service.name': 'opa' });
    const bad: [Json, RegExp][] = [
      [{}, /either endpoint or logs_url/],
      [{ endpoint: 'http://a', logs_url: 'http://b/v1/logs' }, /either endpoint or logs_url/],
      [{ endpoint: 'ftp://a' }, /http/],
      [{ endpoint: 'http://a', headers: { 'Content-Type': 'x' } }, /set by the sink/],
      [{ endpoint: 'http://a', encoding: 'msgpack' }, /protobuf|json/],
      [{ endpoint: 'http://a', max_batch_bytes: 100 }, /./],
      [{ endpoint: 'http://a', resource: { 'bad key!': 'x' } }, /attribute name/],
    ];
    for (const [c, re] of bad) {
      const r = otlpSinkSchema.safeParse({ ...base, ...c });
      assert.equal(r.success, false, JSON.stringify(c));
      assert.match(JSON.stringify(r.error?.issues), re, JSON.stringify(c));
    }
  });
});
