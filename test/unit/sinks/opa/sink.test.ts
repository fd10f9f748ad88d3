// The opa sink turns sealed console lines back into the OPA events they came from and uploads
// them the way OPA does: gzip'd JSON arrays, each at most upload_size_limit_bytes compressed.
import { tmpdir } from 'node:os';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { TailsealError } from '../../../../src/errors.js';
import { opaSinkSchema, uploadUrl } from '../../../../src/sinks/opa/config.js';
import { type DecisionEvent, consoleLineToEvent } from '../../../../src/sinks/decisions/events.js';
import { chunkEvents } from '../../../../src/sinks/opa/events.js';
import { OpaSink } from '../../../../src/sinks/opa/sink.js';
import { classifyError } from '../../../../src/sinks/retry.js';
import type { TrailObject } from '../../../../src/sinks/sink.js';
import { FaultServer, type RecordedRequest } from '../../../helpers/fault-server.js';
import { decisionLine, prng } from '../../../helpers/opa-sample.js';
import { OPA_CORPUS } from '../../../helpers/paths.js';
import { type RecordSpec, type TrailSpec, outboxObjects, sealTrail } from '../../../helpers/trail.js';

const CORPUS = OPA_CORPUS;
const TOKEN = 'opa-tok-51c0e7d2a9b84f36-secret';
const log = pino({ level: 'silent' });

type Json = Record<string, unknown>;

/** Real sealed objects (sealRecords + signHead via the trail helper) as the outbox hands them over. */
const trailObjects = (spec: TrailSpec): TrailObject[] => outboxObjects(sealTrail(spec));

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object')
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sortKeys((v as Json)[k])]),
    );
  return v;
}

/** The console line OPA's logger writes for an event: its fields plus level/msg/time/type, keys sorted. */
function consoleLine(event: Json, time = '2018-01-01T00:00:00Z'): string {
  return JSON.stringify(
    sortKeys({ ...event, level: 'info', msg: 'Decision Log', time, type: 'openpolicyagent.org/decision_logs' }),
  );
}

/** Real OPA events: the documented upload bodies and the (partial) events of OPA's mask tests. */
function corpusEvents(): Json[] {
  const body = (f: string) => JSON.parse(readFileSync(join(CORPUS, f), 'utf8')) as Json[];
  const masked = readFileSync(join(CORPUS, 'v1_plugins_logs_mask_test.event-exp-pairs.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Json);
  const events = [
    ...body('docs_management-decision-logs.upload-body.json'),
    ...body('docs_content_docs_decision-logs.upload-body.legacy-revision.json'),
    ...masked,
  ];
  assert.ok(events.length >= 22, `corpus has ${events.length} events`);
  return events;
}

/** Every event received, in request order. */
const eventsOf = (reqs: RecordedRequest[]): Json[] =>
  reqs.flatMap((r) => JSON.parse(r.decoded!.toString('utf8')) as Json[]);
const chainOf = (obj: TrailObject, i: number): string =>
  (JSON.parse(obj.lines[i]!.toString('utf8')) as { chain: string }).chain;

describe('opa sink', () => {
  let srv: FaultServer;
  const sinks: OpaSink[] = [];
  before(async () => {
    srv = await FaultServer.start();
  });
  after(async () => {
    for (const s of sinks) await s.close();
    await srv.close();
  });
  const sink = (over: Json = {}): OpaSink => {
    const s = new OpaSink(
      opaSinkSchema.parse({
        name: 'opa-svc',
        type: 'opa',
        url: srv.url,
        retry: { initial_backoff: 1, max_backoff: 1 },
        ...over,
      }),
      { log, stateDir: tmpdir() },
    );
    sinks.push(s);
    return s;
  };
  const sent = (fn: () => Promise<unknown>): Promise<RecordedRequest[]> => srv.during(fn);

  it('rebuilds the corpus events exactly, adds the tailseal field, sends the checkpoint header', async () => {
    const originals = corpusEvents();
    const [obj] = trailObjects({ records: originals.map((e) => consoleLine(e)), plan: [originals.length] });
    const s = sink({ auth: { bearer_token: TOKEN }, headers: { 'X-Tenant': 'team-a' } });
    await s.start();
    let result: unknown;
    const reqs = await sent(async () => (result = await s.put(obj!)));
    assert.equal(result, 'stored');
    assert.equal(reqs.length, 1, 'the corpus fits one 32 KiB chunk');
    const r = reqs[0]!;
    assert.equal(r.method, 'POST');
    assert.equal(r.url, '/logs');
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(r.headers['content-encoding'], 'gzip');
    assert.equal(r.headers.authorization, `Bearer ${TOKEN}`);
    assert.equal(r.headers['x-tenant'], 'team-a');
    assert.equal(r.headers['x-tailseal-object'], 'opa/00000000000000000000-00000000000000000021.ndjson');
    assert.equal(r.headers['x-tailseal-chunk'], '1/1');
    const note = Buffer.from(r.headers['x-tailseal-checkpoint'] as string, 'base64').toString('utf8');
    assert.equal(note, obj!.note);
    assert.ok(
      note.includes('\n\n— ') && note.startsWith('tailseal.test/trail/opa\n22\n'),
      'the whole signed note, em dash and newlines included',
    );

    const got = eventsOf(reqs);
    const want = originals.map((e, seq) => ({
      ...e,
      tailseal: {
        stream: 'opa',
        seq,
        chain: chainOf(obj!, seq),
        object: 'opa/00000000000000000000-00000000000000000021.ndjson',
      },
    }));
    assert.deepEqual(got, want);
    // Key order: the console line's (sorted) minus the four console keys, then tailseal.
    got.forEach((e, i) => assert.deepEqual(Object.keys(e), [...Object.keys(originals[i]!).sort(), 'tailseal']));
  });

  it('include_seal: false sends exactly the original events and no tailseal headers', async () => {
    const originals = corpusEvents();
    const [obj] = trailObjects({ records: originals.map((e) => consoleLine(e)), plan: [originals.length] });
    const reqs = await sent(() => sink({ include_seal: false }).put(obj!));
    assert.deepEqual(eventsOf(reqs), originals);
    for (const r of reqs)
      assert.deepEqual(
        Object.keys(r.headers).filter((h) => h.startsWith('x-tailseal')),
        [],
      );
  });

  it('keeps every other byte of the line: big integers, integer-like keys, escapes, a trailing \\r', async () => {
    const line =
      '{"decision_id":"d-1","input":{"10":"b","2":"a","big":18446744073709551615,"html":"\\u003cscript\\u003e ' +
      '\\u0026","emoji":"\\ud83d\\ude00","level":"nested stays"},' +
      '"level":"info","metrics":{"timer_rego_query_eval_ns":1.50e3},"msg":"Decision Log",' +
      '"req_id":18446744073709551615,"result":[true,null,{"x":-0.0}],' +
      '"time":"2026-11-29T12:00:00Z","timestamp":"2026-11-29T12:00:00.123456789Z",' +
      '"type":"openpolicyagent.org/decision_logs"}\r';
    const [obj] = trailObjects({ records: [line], plan: [1] });
    const reqs = await sent(() => sink({ include_seal: false }).put(obj!));
    assert.equal(
      reqs[0]!.decoded!.toString('utf8'),
      '[{"decision_id":"d-1","input":{"10":"b","2":"a","big":18446744073709551615,"html":"\\u003cscript\\u003e ' +
        '\\u0026","emoji":"\\ud83d\\ude00","level":"nested stays"},' +
        '"metrics":{"timer_rego_query_eval_ns":1.50e3},"req_id":18446744073709551615,' +
        '"result":[true,null,{"x":-0.0}],"timestamp":"2026-11-29T12:00:00.123456789Z"}]',
    );
  });

  it('consoleLineToEvent: whitespace, escaped key names, an existing tailseal member', () => {
    assert.equal(consoleLineToEvent('{ "a" : 1 , "\\u0074ype" : "x", "b":{"time":2} }'), '{"a":1,"b":{"time":2}}');
    assert.equal(consoleLineToEvent('{"level":"info","msg":"Decision Log","time":"t","type":"x"}'), '{}');
    assert.equal(consoleLineToEvent('{}', '{"seq":1}'), '{"tailseal":{"seq":1}}');
    assert.equal(
      consoleLineToEvent('{"tailseal":"old","z":[1,"]}"]}', '{"seq":1}'),
      '{"z":[1,"]}"],"tailseal":{"seq":1}}',
    );
    assert.equal(consoleLineToEvent('\ufeff{"a":"\\"}"}'), '{"a":"\\"}"}');
    assert.throws(() => consoleLineToEvent('[1,2]'), SyntaxError);
    assert.throws(() => consoleLineToEvent('{"a":1'), SyntaxError);
  });

  it("chunks many events into POSTs each at most upload_size_limit_bytes gzip'd, every event once, in order", async () => {
    const rnd = prng(7);
    const lines = Array.from({ length: 400 }, (_, i) => decisionLine(i, rnd));
    const [obj] = trailObjects({ records: lines, plan: [lines.length] });
    const limit = 2048;
    const reqs = await sent(() => sink({ upload_size_limit_bytes: limit }).put(obj!));
    assert.ok(reqs.length >= 5, `${reqs.length} chunks`);
    reqs.forEach((r, i) => {
      assert.ok(r.body.length <= limit, `chunk ${i} is ${r.body.length} bytes`);
      if (i < reqs.length - 1) assert.ok(r.body.length >= limit * 0.6, `chunk ${i} is well filled (${r.body.length})`);
      assert.equal(r.headers['x-tailseal-chunk'], `${i + 1}/${reqs.length}`);
      assert.equal(r.url, '/logs');
    });
    const got = eventsOf(reqs);
    assert.deepEqual(
      got.map((e) => (e.tailseal as { seq: number }).seq),
      lines.map((_, i) => i),
    );
    const expected = lines.map((l) => {
      const e = JSON.parse(l) as Json;
      for (const k of ['level', 'msg', 'time', 'type']) delete e[k];
      return e;
    });
    assert.deepEqual(
      got.map(({ tailseal: _t, ...e }) => e),
      expected,
    );
  });

  it('chunkEvents keeps its invariants for many limits and event sizes', () => {
    const rnd = prng(11);
    const events: Pick<DecisionEvent, 'seq' | 'json' | 'decisionId'>[] = Array.from({ length: 300 }, (_, seq) => {
      const pad =
        rnd() < 0.3 ? randomBytes(Math.floor(rnd() * 60)).toString('hex') : 'x'.repeat(Math.floor(rnd() * 400));
      return { seq, json: JSON.stringify({ decision_id: `d-${seq}`, pad }), decisionId: `d-${seq}` };
    });
    for (const limit of [400, 700, 1500, 4096, 32768, 1 << 20]) {
      const chunks = chunkEvents(events, limit, 's', 'o');
      let next = 0;
      for (const c of chunks) {
        assert.equal(c.first, next);
        assert.ok(c.count >= 1);
        assert.ok(c.body.length <= limit, `limit ${limit}: ${c.body.length}`);
        next += c.count;
      }
      assert.equal(next, events.length, `limit ${limit}: every event once`);
    }
    assert.equal(chunkEvents(events, 1 << 20, 's', 'o').length, 1);
  });

  it('a single event over the limit is SINK_PERMANENT naming its seq, and nothing is sent', async () => {
    const big = consoleLine({ decision_id: 'big-one', input: { blob: randomBytes(3000).toString('base64') } });
    const [obj] = trailObjects({
      records: [consoleLine({ decision_id: 'small' }), big, consoleLine({ decision_id: 'after' })],
      plan: [3],
    });
    const reqs = await sent(() =>
      assert.rejects(sink({ upload_size_limit_bytes: 1024 }).put(obj!), (e: TailsealError) => {
        assert.equal(e.code, 'SINK_PERMANENT');
        assert.equal(classifyError(e), 'permanent');
        assert.equal(e.details.seq, 1);
        assert.match(
          e.message,
          /entry seq 1 \(decision_id big-one\) in opa\/00000000000000000000-00000000000000000002\.ndjson is \d+ bytes gzip'd, over upload_size_limit_bytes 1024/,
        );
        return true;
      }),
    );
    assert.equal(reqs.length, 0);
  });

  it('a 500 on the 2nd chunk fails the put; the retry resends the whole object', async () => {
    const rnd = prng(3);
    const lines = Array.from({ length: 120 }, (_, i) => decisionLine(i, rnd));
    const [obj] = trailObjects({ records: lines, plan: [lines.length] });
    const s = sink({ upload_size_limit_bytes: 2048 });
    srv.enqueue({ kind: 'ok' }, { kind: 'status', status: 500 });
    const first = await sent(() =>
      assert.rejects(s.put(obj!), (e: TailsealError) => {
        assert.equal(e.code, 'SINK_RETRYABLE');
        assert.equal(e.details.status, 500);
        assert.match(
          e.message,
          /POST http:\/\/127\.0\.0\.1:\d+\/logs \(chunk 2\/\d+ of opa\/\S+, seq \d+-\d+\) answered HTTP 500/,
        );
        return true;
      }),
    );
    assert.equal(first.length, 2, 'stopped at the failed chunk');
    const second = await sent(async () => assert.equal(await s.put(obj!), 'stored'));
    assert.ok(second.length >= 3);
    assert.deepEqual(second[0]!.body, first[0]!.body, 'chunking is deterministic');
    assert.deepEqual(second[1]!.body, first[1]!.body);
    assert.deepEqual(
      eventsOf(second).map((e) => (e.tailseal as { seq: number }).seq),
      lines.map((_, i) => i),
    );
  });

  it('429 with Retry-After carries the wait; 400 is permanent', async () => {
    const [obj] = trailObjects({ plan: [2] });
    const s = sink();
    srv.enqueue({ kind: 'status', status: 429, retryAfter: '3' });
    await assert.rejects(
      s.put(obj!),
      (e: TailsealError) =>
        e.code === 'SINK_RETRYABLE' && e.details.retryAfterMs === 3000 && classifyError(e) === 'retryable',
    );
    srv.enqueue({ kind: 'status', status: 400 });
    await assert.rejects(
      s.put(obj!),
      (e: TailsealError) => e.code === 'SINK_PERMANENT' && classifyError(e) === 'permanent',
    );
  });

  it('a heartbeat, or an object of gap records only, sends nothing; gaps are skipped in mixed objects', async () => {
    const recs: RecordSpec[] = [
      { gap: 5000 },
      { gap: 70 },
      consoleLine({ decision_id: 'a' }),
      { gap: 9 },
      consoleLine({ decision_id: 'b' }),
    ];
    const [gaps, heartbeat, mixed] = trailObjects({ records: recs, plan: [2, 'heartbeat', 3] });
    const s = sink();
    const none = await sent(async () => {
      assert.equal(await s.put(gaps!), 'stored');
      assert.equal(await s.put(heartbeat!), 'stored');
    });
    assert.equal(none.length, 0);
    const reqs = await sent(() => s.put(mixed!));
    assert.deepEqual(
      eventsOf(reqs).map((e) => [e.decision_id, (e.tailseal as { seq: number }).seq]),
      [
        ['a', 2],
        ['b', 4],
      ],
    );
  });

  it('config: defaults, resource joining like OPA, limits', () => {
    const c = opaSinkSchema.parse({ name: 'o', type: 'opa', url: 'https://logs.example/' });
    assert.equal(c.resource, '/logs');
    assert.equal(c.upload_size_limit_bytes, 32768);
    assert.equal(c.include_seal, true);
    assert.equal(uploadUrl(c), 'https://logs.example/logs');
    assert.equal(
      uploadUrl({ url: 'https://logs.example/api//', resource: 'v1/decisions/' }),
      'https://logs.example/api/v1/decisions',
    );
    assert.equal(
      opaSinkSchema.parse({ name: 'o', type: 'opa', url: 'https://l.example', upload_size_limit_bytes: '64KiB' })
        .upload_size_limit_bytes,
      65536,
    );
    assert.equal(
      opaSinkSchema.safeParse({ name: 'o', type: 'opa', url: 'https://l.example', upload_size_limit_bytes: 89 })
        .success,
      false,
    );
    assert.equal(opaSinkSchema.safeParse({ name: 'o', type: 'opa', url: 'https://l.example/?token=x' }).success, false);
    assert.equal(
      opaSinkSchema.safeParse({
        name: 'o',
        type: 'opa',
        url: 'https://l.example',
        headers: { 'X-Tailseal-Checkpoint': 'x' },
      }).success,
      false,
    );
  });

  it('posts to url + resource', async () => {
    const [obj] = trailObjects({ plan: [1] });
    const reqs = await sent(() => sink({ url: `${srv.url}/api/`, resource: '/v1/logs' }).put(obj!));
    assert.equal(reqs[0]!.url, '/api/v1/logs');
  });
});
