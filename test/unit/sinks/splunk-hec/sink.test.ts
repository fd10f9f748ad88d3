// The splunk_hec sink sends each sealed decision as a HEC event (time, sourcetype, the OPA event,
// indexed fields with the seal) in batches to /services/collector/event, and turns HEC's refusal
// codes into retryable or permanent errors, against a node:http server answering as HEC does.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import type { TailsealError } from '../../../../src/errors.js';
import { objectEvents } from '../../../../src/sinks/decisions/events.js';
import { classifyError } from '../../../../src/sinks/retry.js';
import type { TrailObject } from '../../../../src/sinks/sink.js';
import { eventUrl, splunkHecSinkSchema } from '../../../../src/sinks/splunk-hec/config.js';
import { hecTime } from '../../../../src/sinks/splunk-hec/events.js';
import { MAX_ANSWER_BYTES, SplunkHecSink } from '../../../../src/sinks/splunk-hec/sink.js';
import { type Behaviour, FaultServer, type RecordedRequest } from '../../../helpers/fault-server.js';
import { decisionLine, prng } from '../../../helpers/opa-sample.js';
import { type RecordSpec, type TrailSpec, outboxObjects, sealTrail } from '../../../helpers/trail.js';

const TOKEN = 'hec-tok-5d1c0a7e-93b2-4f68-a0c4-2e9b7f1d3c55';
const log = pino({ level: 'silent' });
type Json = Record<string, unknown>;

const trailObjects = (spec: TrailSpec): TrailObject[] => outboxObjects(sealTrail(spec));
const OK: Behaviour = { kind: 'ok', body: '{"text":"Success","code":0}' };

/** The JSON objects of a HEC batch body, written one after another (as HEC reads them). */
function splitEvents(text: string): Json[] {
  const out: Json[] = [];
  let depth = 0;
  let start = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') {
      if (depth++ === 0) start = i;
    } else if (c === '}' && --depth === 0) out.push(JSON.parse(text.slice(start, i + 1)) as Json);
  }
  assert.equal(depth, 0, 'the body ends after a whole object');
  return out;
}
const eventsOf = (reqs: RecordedRequest[]): Json[] => reqs.flatMap((r) => splitEvents(r.decoded!.toString('utf8')));
const seqOf = (e: Json): number => Number((e.fields as Json)['tailseal.seq']);

describe('splunk_hec sink', () => {
  let srv: FaultServer;
  const sinks: SplunkHecSink[] = [];
  before(async () => {
    srv = await FaultServer.start();
    srv.set(OK);
  });
  after(async () => {
    for (const s of sinks) await s.close();
    await srv.close();
  });
  const sink = (over: Json = {}): SplunkHecSink => {
    const s = new SplunkHecSink(
      splunkHecSinkSchema.parse({ name: 'splunk', type: 'splunk_hec', url: srv.url, token: TOKEN, ...over }),
      { log, stateDir: tmpdir() },
    );
    sinks.push(s);
    return s;
  };
  const sent = (fn: () => Promise<unknown>): Promise<RecordedRequest[]> => srv.during(fn);

  it('sends every decision as a HEC event: time, sourcetype, index/source/host, the OPA event, indexed fields', async () => {
    const rnd = prng(5);
    const lines = Array.from({ length: 12 }, (_, i) => decisionLine(i, rnd));
    const [obj] = trailObjects({ records: lines, plan: [lines.length] });
    const s = sink({ index: 'opa', source: 'tailseal', host: 'pod-a', headers: { 'X-Tenant': 'team-a' } });
    await s.start();
    let result: unknown;
    const reqs = await sent(async () => (result = await s.put(obj!)));
    assert.equal(result, 'stored');
    assert.equal(reqs.length, 1);
    const r = reqs[0]!;
    assert.equal(r.url, '/services/collector/event');
    assert.equal(r.headers.authorization, `Splunk ${TOKEN}`);
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(r.headers['content-encoding'], 'gzip');
    assert.equal(r.headers['x-tenant'], 'team-a');

    const { events } = objectEvents(obj!, false, 'x');
    const got = eventsOf(reqs);
    assert.equal(got.length, lines.length);
    got.forEach((e, i) => {
      const line = JSON.parse(lines[i]!) as Json;
      const { level: _l, msg: _m, time: _t, type: _y, ...opaEvent } = line;
      assert.deepEqual(Object.keys(e), ['time', 'sourcetype', 'index', 'source', 'host', 'event', 'fields']);
      // The decision's own timestamp, to the millisecond.
      assert.equal(e.time, Math.floor(Date.parse(line.timestamp as string)) / 1000);
      assert.equal(e.sourcetype, 'opa:decision');
      assert.equal(e.index, 'opa');
      assert.equal(e.source, 'tailseal');
      assert.equal(e.host, 'pod-a');
      assert.deepEqual(e.event, opaEvent);
      assert.deepEqual(e.fields, {
        decision_id: line.decision_id,
        path: line.path,
        allow: String(line.result),
        'tailseal.stream': obj!.stream,
        'tailseal.seq': String(i),
        'tailseal.chain': events[i]!.chain,
      });
    });
    // The event is OPA's text verbatim inside the HEC object (no re-serialisation).
    assert.ok(r.decoded!.toString('utf8').includes(`"event":${events[3]!.json},"fields"`));
  });

  it('time falls back to the sealing time; no index/source/host keys unless configured; gzip off', async () => {
    const [obj] = trailObjects({ records: ['{"decision_id":"no-ts","result":{"allow":false}}'], plan: [1] });
    const reqs = await sent(() => sink({ gzip: false }).put(obj!));
    assert.equal(reqs[0]!.headers['content-encoding'], undefined);
    const [e] = eventsOf(reqs);
    const sealedAt = objectEvents(obj!, false, 'x').events[0]!.sealedAt;
    assert.equal(e!.time, sealedAt / 1000);
    assert.deepEqual(Object.keys(e!), ['time', 'sourcetype', 'event', 'fields']);
    assert.equal((e!.fields as Json).allow, 'false');
    assert.equal((e!.fields as Json).path, undefined);
  });

  it('hostile events: fields only with the type OPA gives them, strings bounded, the body stays valid JSON', async () => {
    const long = 'p'.repeat(5000);
    const cases: [string, Json][] = [
      ['{"decision_id":7,"path":["a"],"result":"yes"}', {}],
      ['{"decision_id":"a\\"},{\\"x","path":"x\\ny\\u0000"}', { decision_id: 'a"},{"x', path: 'x\ny\u0000' }],
      [`{"path":"${long}","result":{"allow":true}}`, { path: `${'p'.repeat(1023)}…`, allow: 'true' }],
      ['{"__proto__":{"allow":true},"timestamp":"not a time"}', {}],
    ];
    const [obj] = trailObjects({ records: cases.map(([l]) => l), plan: [cases.length] });
    const { events } = objectEvents(obj!, false, 'x');
    const got = eventsOf(await sent(() => sink().put(obj!)));
    assert.equal(got.length, cases.length);
    got.forEach((e, i) => {
      const { 'tailseal.stream': _s, 'tailseal.seq': seq, 'tailseal.chain': _c, ...rest } = e.fields as Json;
      assert.equal(seq, String(i));
      assert.deepEqual(rest, cases[i]![1]);
      assert.equal(e.time, events[i]!.sealedAt / 1000, 'no usable timestamp: the sealing time');
    });
  });

  it('hecTime writes seconds with exactly three decimals', () => {
    for (const [ms, want] of [
      [1764400000123, '1764400000.123'],
      [1764400000000, '1764400000.000'],
      [5, '0.005'],
      [-1, '-1.999'],
    ] as const)
      assert.equal(hecTime(ms), want);
  });

  it('batches up to max_batch_bytes before compression: every event once, in order', async () => {
    const rnd = prng(9);
    const lines = Array.from({ length: 200 }, (_, i) => decisionLine(i, rnd));
    const [obj] = trailObjects({ records: lines, plan: [lines.length] });
    const limit = 8192;
    const reqs = await sent(() => sink({ max_batch_bytes: limit }).put(obj!));
    assert.ok(reqs.length >= 10, `${reqs.length} batches`);
    for (const r of reqs) assert.ok(r.decoded!.length <= limit, `batch of ${r.decoded!.length} bytes`);
    assert.deepEqual(
      eventsOf(reqs).map(seqOf),
      lines.map((_, i) => i),
    );
  });

  it('an event larger than max_batch_bytes is SINK_PERMANENT naming its seq, and nothing is sent', async () => {
    const big = `{"decision_id":"big-one","input":{"blob":"${randomBytes(2000).toString('base64')}"}}`;
    const [obj] = trailObjects({ records: ['{"decision_id":"a"}', big, '{"decision_id":"b"}'], plan: [3] });
    const reqs = await sent(() =>
      assert.rejects(sink({ max_batch_bytes: 1024 }).put(obj!), (e: TailsealError) => {
        assert.equal(e.code, 'SINK_PERMANENT');
        assert.equal(e.details.seq, 1);
        assert.match(e.message, /entry seq 1 \(decision_id big-one\) .* over max_batch_bytes 1024; it is not dropped/);
        return true;
      }),
    );
    assert.equal(reqs.length, 0);
  });

  // HEC's answers when it refuses (docs: Troubleshoot HTTP Event Collector, "Possible error codes").
  const refusals: {
    name: string;
    answer: Behaviour;
    code: 'SINK_PERMANENT' | 'SINK_RETRYABLE';
    message: RegExp;
    hecCode?: number;
    retryAfterMs?: number;
    seq?: number;
  }[] = [
    {
      name: 'invalid token',
      answer: { kind: 'status', status: 403, body: '{"text":"Invalid token","code":4}' },
      code: 'SINK_PERMANENT',
      hecCode: 4,
      message: /HTTP 403: HEC code 4 "Invalid token"; invalid token: check `token` .*tailseal requeue/,
    },
    {
      name: 'token disabled',
      answer: { kind: 'status', status: 403, body: '{"text":"Token disabled","code":1}' },
      code: 'SINK_PERMANENT',
      hecCode: 1,
      message: /HEC code 1 "Token disabled"; the token is disabled/,
    },
    {
      name: 'token is required',
      answer: { kind: 'status', status: 401, body: '{"text":"Token is required","code":2}' },
      code: 'SINK_PERMANENT',
      hecCode: 2,
      message: /HTTP 401: HEC code 2 .*no token reached HEC/,
    },
    {
      name: 'invalid authorization',
      answer: { kind: 'status', status: 401, body: '{"text":"Invalid authorization","code":3}' },
      code: 'SINK_PERMANENT',
      hecCode: 3,
      message: /HEC code 3/,
    },
    {
      name: 'invalid data format, at the 2nd event of the batch',
      answer: { kind: 'status', status: 400, body: '{"text":"Invalid data format","code":6,"invalid-event-number":1}' },
      code: 'SINK_PERMANENT',
      hecCode: 6,
      seq: 1,
      message: /HTTP 400: HEC code 6 "Invalid data format" \(at entry seq 1\); HEC refused the events/,
    },
    {
      name: 'no data',
      answer: { kind: 'status', status: 400, body: '{"text":"No data","code":5}' },
      code: 'SINK_PERMANENT',
      hecCode: 5,
      message: /HEC code 5/,
    },
    {
      name: 'event field is required',
      answer: {
        kind: 'status',
        status: 400,
        body: '{"text":"Event field is required","code":12,"invalid-event-number":0}',
      },
      code: 'SINK_PERMANENT',
      hecCode: 12,
      seq: 0,
      message: /HEC code 12 .*\(at entry seq 0\)/,
    },
    {
      name: 'event field cannot be blank, event number out of range',
      answer: {
        kind: 'status',
        status: 400,
        body: '{"text":"Event field cannot be blank","code":13,"invalid-event-number":99}',
      },
      code: 'SINK_PERMANENT',
      hecCode: 13,
      message: /HEC code 13 "Event field cannot be blank"; HEC refused/,
    },
    {
      name: 'indexed fields',
      answer: { kind: 'status', status: 400, body: '{"text":"Error in handling indexed fields","code":15}' },
      code: 'SINK_PERMANENT',
      hecCode: 15,
      message: /HEC code 15/,
    },
    {
      name: 'incorrect index',
      answer: { kind: 'status', status: 400, body: '{"text":"Incorrect index","code":7}' },
      code: 'SINK_PERMANENT',
      hecCode: 7,
      message: /HEC code 7 "Incorrect index"; the index is not one this token may write to: fix `index`/,
    },
    {
      name: 'indexer acknowledgement on (channel missing)',
      answer: { kind: 'status', status: 400, body: '{"text":"Data channel is missing","code":10}' },
      code: 'SINK_PERMANENT',
      hecCode: 10,
      message: /HEC code 10 .*indexer acknowledgement on, which tailseal does not use: turn .* off/,
    },
    {
      name: 'internal error',
      answer: { kind: 'status', status: 500, body: '{"text":"Internal server error","code":8}' },
      code: 'SINK_RETRYABLE',
      hecCode: 8,
      message: /HTTP 500: HEC code 8 "Internal server error"; HEC internal error; retried/,
    },
    {
      name: 'server busy, Retry-After',
      answer: { kind: 'status', status: 503, retryAfter: '7', body: '{"text":"Server is busy","code":9}' },
      code: 'SINK_RETRYABLE',
      hecCode: 9,
      retryAfterMs: 7000,
      message: /HTTP 503: HEC code 9 "Server is busy"; HEC is busy; retried/,
    },
    {
      name: 'queues full',
      answer: { kind: 'status', status: 503, body: '{"text":"HEC is unhealthy, queues are full","code":18}' },
      code: 'SINK_RETRYABLE',
      hecCode: 18,
      message: /HEC code 18/,
    },
    {
      name: 'over max_content_length (no HEC body)',
      answer: { kind: 'status', status: 413 },
      code: 'SINK_PERMANENT',
      message: /HTTP 413: status 413; the request is over HEC.s max_content_length: lower max_batch_bytes/,
    },
    {
      name: "a proxy's 502 page",
      answer: { kind: 'status', status: 502, body: '<html><body>Bad Gateway</body></html>' },
      code: 'SINK_RETRYABLE',
      message: /HTTP 502: <html><body>Bad Gateway<\/body><\/html>; retried/,
    },
    {
      name: 'a 404 (not HEC at this URL)',
      answer: { kind: 'status', status: 404, body: 'not found' },
      code: 'SINK_PERMANENT',
      message: /HTTP 404: not found; check `url` points at HEC/,
    },
    {
      name: 'an unknown HEC code goes by its status',
      answer: { kind: 'status', status: 429, retryAfter: '2', body: '{"text":"Slow down","code":99}' },
      code: 'SINK_RETRYABLE',
      hecCode: 99,
      retryAfterMs: 2000,
      message: /HTTP 429: HEC code 99 "Slow down"; retried/,
    },
  ];
  for (const t of refusals)
    it(`refusal: ${t.name} -> ${t.code}`, async () => {
      const [obj] = trailObjects({ plan: [3] });
      srv.enqueue(t.answer);
      await assert.rejects(sink().put(obj!), (e: TailsealError) => {
        assert.equal(e.code, t.code);
        assert.equal(classifyError(e), t.code === 'SINK_PERMANENT' ? 'permanent' : 'retryable');
        assert.match(
          e.message,
          /^sink splunk: POST http:\/\/127\.0\.0\.1:\d+\/services\/collector\/event \(batch 1\/1 of /,
        );
        assert.match(e.message, t.message);
        assert.equal(e.details.status, (t.answer as { status: number }).status);
        assert.equal(e.details.hecCode, t.hecCode);
        assert.equal(e.details.retryAfterMs, t.retryAfterMs);
        assert.equal(e.details.seq, t.seq);
        return true;
      });
    });

  it('an answer that echoes the token (in any spelling) is scrubbed from the error', async () => {
    const [obj] = trailObjects({ plan: [1] });
    const b64 = Buffer.from(TOKEN).toString('base64');
    for (const body of [
      `{"text":"Invalid token ${TOKEN}","code":4}`,
      `Authorization: Splunk ${TOKEN}`,
      `token=${encodeURIComponent(TOKEN)} / ${b64}`,
    ]) {
      srv.enqueue({ kind: 'status', status: 403, body });
      await assert.rejects(sink().put(obj!), (e: TailsealError) => {
        assert.equal(e.code, 'SINK_PERMANENT');
        assert.ok(!e.message.includes(TOKEN) && !e.message.includes(b64), e.message);
        assert.match(e.message, /\[redacted\]/);
        return true;
      });
    }
  });

  it(`an answer longer than ${MAX_ANSWER_BYTES} bytes is not read past the bound`, async () => {
    const [obj] = trailObjects({ plan: [1] });
    srv.enqueue({ kind: 'status', status: 503, body: 'x'.repeat(MAX_ANSWER_BYTES + 1) });
    await assert.rejects(
      sink().put(obj!),
      (e: TailsealError) => e.code === 'SINK_PERMANENT' && /answered more than 65536 bytes/.test(e.message),
    );
  });

  it('a refusal of the 2nd batch fails the put; the retry resends the whole object', async () => {
    const rnd = prng(3);
    const lines = Array.from({ length: 60 }, (_, i) => decisionLine(i, rnd));
    const [obj] = trailObjects({ records: lines, plan: [lines.length] });
    const s = sink({ max_batch_bytes: 8192 });
    srv.enqueue(OK, { kind: 'status', status: 503, body: '{"text":"Server is busy","code":9}' });
    const first = await sent(() => assert.rejects(s.put(obj!), (e: TailsealError) => e.code === 'SINK_RETRYABLE'));
    assert.equal(first.length, 2, 'stopped at the refused batch');
    const second = await sent(async () => assert.equal(await s.put(obj!), 'stored'));
    assert.ok(second.length >= 3);
    assert.deepEqual(
      eventsOf(second).map(seqOf),
      lines.map((_, i) => i),
    );
  });

  it('a heartbeat, or an object of gap records only, sends nothing; gaps are skipped in mixed objects', async () => {
    const recs: RecordSpec[] = [{ gap: 5000 }, '{"decision_id":"a"}', { gap: 9 }, '{"decision_id":"b"}'];
    const [gaps, heartbeat, mixed] = trailObjects({ records: recs, plan: [1, 'heartbeat', 3] });
    const s = sink();
    const none = await sent(async () => {
      assert.equal(await s.put(gaps!), 'stored');
      assert.equal(await s.put(heartbeat!), 'stored');
    });
    assert.equal(none.length, 0);
    const reqs = await sent(() => s.put(mixed!));
    assert.deepEqual(
      eventsOf(reqs).map((e) => [(e.event as Json).decision_id, seqOf(e)]),
      [
        ['a', 1],
        ['b', 3],
      ],
    );
  });

  it('config: defaults, the event URL, refusals', () => {
    const c = splunkHecSinkSchema.parse({ name: 's', type: 'splunk_hec', url: 'https://splunk:8088', token: 't' });
    assert.equal(c.sourcetype, 'opa:decision');
    assert.equal(c.max_batch_bytes, 1024 * 1024);
    assert.equal(c.gzip, true);
    assert.equal(eventUrl('https://splunk:8088/'), 'https://splunk:8088/services/collector/event');
    assert.equal(eventUrl('https://h.example/services/collector/event'), 'https://h.example/services/collector/event');
    assert.equal(eventUrl('https://h.example/splunk/'), 'https://h.example/splunk/services/collector/event');
    const base = { name: 's', type: 'splunk_hec', url: 'https://splunk:8088', token: 't' };
    for (const [what, over] of [
      ['no token', { token: undefined }],
      ['a token with a line break', { token: 'a\r\nX-Evil: 1' }],
      ['a token in the URL', { url: 'https://splunk:8088/?token=x' }],
      ['an Authorization header', { headers: { Authorization: 'Splunk x' } }],
      ['a channel header', { headers: { 'X-Splunk-Request-Channel': 'x' } }],
      ['auth (HEC has its token)', { auth: { bearer_token: 'x' } }],
      ['max_batch_bytes under 1 KiB', { max_batch_bytes: 1000 }],
      ['a sourcetype with a line break', { sourcetype: 'a\nb' }],
      ['an empty index', { index: '' }],
    ] as const)
      assert.equal(splunkHecSinkSchema.safeParse({ ...base, ...over }).success, false, what);
  });
});
