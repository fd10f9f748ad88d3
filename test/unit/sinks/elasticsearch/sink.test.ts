// The elasticsearch sink against a node:http server that answers as an Elasticsearch cluster does
// (https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-bulk): `create` answers
// 201 for a new _id and 409 version_conflict_engine_exception for a known one, per-item 429/400
// inside a 200 when a test says so, and whole-request refusals (413 without a body, 401
// security_exception, 429 with Retry-After).
import assert from 'node:assert/strict';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { gunzipSync } from 'node:zlib';
import { after, before, beforeEach, describe, it } from 'node:test';
import pino from 'pino';
import { TailsealError } from '../../../../src/errors.js';
import { elasticsearchSinkSchema } from '../../../../src/sinks/elasticsearch/config.js';
import { indexName } from '../../../../src/sinks/elasticsearch/index-name.js';
import { ElasticsearchSink } from '../../../../src/sinks/elasticsearch/sink.js';
import { classifyError } from '../../../../src/sinks/retry.js';
import type { TrailObject } from '../../../../src/sinks/sink.js';
import { decisionLine, prng } from '../../../helpers/opa-sample.js';
import { type TrailSpec, outboxObjects, sealTrail } from '../../../helpers/trail.js';

const API_KEY = 'VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==';
const log = pino({ level: 'silent' });
type Json = Record<string, unknown>;

interface Received {
  url: string;
  headers: IncomingMessage['headers'];
  /** Body bytes as sent (gzip'd when Content-Encoding says so). */
  raw: Buffer;
  /** [action, document] pairs. */
  pairs: [Json, Json][];
}

/** What the fake cluster answers a whole request; undefined: process the items. */
type Refusal = { status: number; body?: string; headers?: Record<string, string> } | undefined;
/** Per document: undefined = index it (201, or 409 when the _id exists); else this item error. */
type ItemRule = (doc: Json, id: string) => { status: number; type: string; reason: string } | undefined;

class FakeCluster {
  server!: Server;
  readonly received: Received[] = [];
  /** _index/_id -> document: what the cluster holds. */
  readonly docs = new Map<string, Json>();
  refusals: Refusal[] = [];
  rule: ItemRule = () => undefined;
  /** Replaces the answer to a 200 (malformed answers). */
  rawAnswer: ((count: number) => string) | undefined;

  async start(): Promise<void> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
  }
  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  reset(): void {
    this.received.length = 0;
    this.docs.clear();
    this.refusals = [];
    this.rule = () => undefined;
    this.rawAnswer = undefined;
  }
  private handle(req: IncomingMessage, res: ServerResponse): void {
    const parts: Buffer[] = [];
    let n = 0;
    req.on('data', (c: Buffer) => {
      n += c.length;
      if (n <= 64 * 1024 * 1024) parts.push(c);
    });
    req.on('end', () => {
      const raw = Buffer.concat(parts);
      const text = (req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString('utf8');
      const lines = text.split('\n');
      assert.equal(lines.pop(), '', 'a bulk body ends with a newline');
      const pairs: [Json, Json][] = [];
      for (let i = 0; i < lines.length; i += 2)
        pairs.push([JSON.parse(lines[i]!) as Json, JSON.parse(lines[i + 1]!) as Json]);
      this.received.push({ url: req.url ?? '', headers: req.headers, raw, pairs });
      const refusal = this.refusals.shift();
      if (refusal) {
        res.writeHead(refusal.status, { 'content-type': 'application/json', ...refusal.headers });
        res.end(refusal.body ?? '');
        return;
      }
      if (this.rawAnswer) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(this.rawAnswer(pairs.length));
        return;
      }
      const items = pairs.map(([action, doc]) => {
        const { _index, _id } = action.create as { _index: string; _id: string };
        const err = this.rule(doc, _id);
        if (err) return { create: { status: err.status, error: { type: err.type, reason: err.reason } } };
        const key = `${_index}/${_id}`;
        if (this.docs.has(key))
          return {
            create: {
              status: 409,
              error: {
                type: 'version_conflict_engine_exception',
                reason: `[${_id}]: version conflict, document already exists (current version [1])`,
              },
            },
          };
        this.docs.set(key, doc);
        return { create: { status: 201 } };
      });
      const errors = items.some((i) => i.create.status >= 300);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ errors, items }));
    });
  }
}

const trailObjects = (spec: TrailSpec): TrailObject[] => outboxObjects(sealTrail(spec));
const lines = (n: number, seed = 7): string[] => {
  const rnd = prng(seed);
  return Array.from({ length: n }, (_, i) => decisionLine(i, rnd));
};
const chainOf = (obj: TrailObject, i: number): string =>
  (JSON.parse(obj.lines[i]!.toString('utf8')) as { chain: string }).chain;

/** Awaits `p` and returns the TailsealError it rejects with. */
async function failure(p: Promise<unknown>): Promise<TailsealError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof TailsealError, `a TailsealError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected the put to fail');
}

describe('elasticsearch sink', () => {
  const es = new FakeCluster();
  const sinks: ElasticsearchSink[] = [];
  before(() => es.start());
  beforeEach(() => es.reset());
  after(async () => {
    for (const s of sinks) await s.close();
    await new Promise((r) => es.server.close(r));
  });
  const sink = (over: Json = {}): ElasticsearchSink => {
    const s = new ElasticsearchSink(
      elasticsearchSinkSchema.parse({ name: 'search', type: 'elasticsearch', url: es.url, ...over }),
      { log, stateDir: tmpdir() },
    );
    sinks.push(s);
    return s;
  };

  it('sends one create per decision: _index from the timestamp, deterministic _id, the event + @timestamp + tailseal', async () => {
    const ls = lines(5);
    const [obj] = trailObjects({ records: ls, plan: [5] });
    const s = sink({ api_key: API_KEY });
    await s.start();
    assert.equal(await s.put(obj!), 'stored');
    assert.equal(es.received.length, 1);
    const r = es.received[0]!;
    assert.equal(r.url, '/_bulk?filter_path=errors,items.*.status,items.*.error.type,items.*.error.reason');
    assert.equal(r.headers['content-type'], 'application/x-ndjson');
    assert.equal(r.headers['content-encoding'], 'gzip');
    assert.equal(r.headers.authorization, `ApiKey ${API_KEY}`);
    const object = 'opa/00000000000000000000-00000000000000000004.ndjson';
    r.pairs.forEach(([action, doc], seq) => {
      const original = JSON.parse(ls[seq]!) as Json;
      const chain = chainOf(obj!, seq);
      assert.deepEqual(action, {
        create: { _index: 'opa-decisions-2026.11.29', _id: `opa:${seq}:${chain.slice(0, 16)}` },
      });
      const { level, msg, time, type, ...event } = original;
      void [level, msg, time, type];
      assert.deepEqual(doc, {
        ...event,
        '@timestamp': new Date(Date.parse(original.timestamp as string)).toISOString(),
        tailseal: { stream: 'opa', seq, chain, object },
      });
      assert.deepEqual(Object.keys(doc).slice(-2), ['@timestamp', 'tailseal']);
    });
    // Sending the object again indexes nothing twice: every item answers 409, the put succeeds.
    assert.equal(await s.put(obj!), 'stored');
    assert.equal(es.docs.size, 5);
  });

  it('index pattern letters, sealing time without a timestamp, a planted @timestamp replaced, basic auth, no gzip', async () => {
    const recs = [
      '{"decision_id":"a","timestamp":"2031-02-03T04:05:06.789+02:00","@timestamp":"planted","x":1}',
      '{"decision_id":"b","timestamp":"not a time"}',
    ];
    const [obj] = trailObjects({ records: recs, plan: [2] });
    const s = sink({ index: 'dec-%Y-%m-%d-%H', gzip: false, auth: { username: 'elastic', password: 'pw-1234567' } });
    assert.equal(await s.put(obj!), 'stored');
    const r = es.received[0]!;
    assert.equal(r.headers['content-encoding'], undefined);
    assert.equal(r.headers.authorization, `Basic ${Buffer.from('elastic:pw-1234567').toString('base64')}`);
    const [[a0, d0], [a1, d1]] = r.pairs as [[Json, Json], [Json, Json]];
    assert.equal((a0.create as Json)._index, 'dec-2031-02-03-02');
    assert.equal(d0['@timestamp'], '2031-02-03T02:05:06.789Z');
    assert.deepEqual(Object.keys(d0), ['decision_id', 'timestamp', 'x', '@timestamp', 'tailseal']);
    // No usable timestamp: the sealing time (the test trail seals at 2025-11-29T07:06:40Z).
    assert.equal((a1.create as Json)._index, 'dec-2025-11-29-07');
    assert.equal(d1['@timestamp'], '2025-11-29T07:06:40.000Z');
    assert.equal(indexName('y%Y.%m.%d', Date.UTC(987, 0, 5)), 'y0987.01.05');
  });

  it('mixed 201/409/429/400 items: retry, then park naming the refused seq, then requeue after the fix', async () => {
    const [obj] = trailObjects({ records: lines(6), plan: [6] });
    const s = sink({ api_key: API_KEY });
    // An earlier try indexed seq 0; seq 2 is throttled; seq 4 does not fit the mapping.
    await sink()
      .put(trailObjects({ records: lines(6), plan: [6] })[0]!)
      .catch(() => undefined);
    for (const k of [...es.docs.keys()]) if (!k.includes(':0:')) es.docs.delete(k);
    let throttled = 1;
    es.rule = (doc, id) => {
      const seq = (doc.tailseal as { seq: number }).seq;
      if (seq === 2 && throttled-- > 0)
        return {
          status: 429,
          type: 'es_rejected_execution_exception',
          reason: 'rejected execution of primary operation',
        };
      if (seq === 4)
        return {
          status: 400,
          type: 'document_parsing_exception',
          reason:
            `[1:42] failed to parse field [result] of type [long] in document with id '${id}'. ` +
            `Preview of field's value: 'true' ${API_KEY}`,
        };
      return undefined;
    };
    const retry = await failure(s.put(obj!));
    assert.equal(retry.code, 'SINK_RETRYABLE');
    assert.equal(classifyError(retry), 'retryable');
    assert.match(retry.message, /1 of 6 documents not indexed for now: seq 2 \(429 es_rejected_execution_exception/);
    const parked = await failure(s.put(obj!));
    assert.equal(parked.code, 'SINK_PERMANENT');
    assert.equal(classifyError(parked), 'permanent');
    assert.deepEqual(parked.details.seqs, [4]);
    assert.match(
      parked.message,
      /refused 1 of the 6 documents .*seq 4 \(400 document_parsing_exception: \[1:42\] failed/,
    );
    assert.ok(!parked.message.includes(API_KEY), 'an echoed credential is scrubbed');
    assert.match(parked.message, /tailseal requeue/);
    // The mapping is fixed; requeue sends the object again: everything else answers 409.
    es.rule = () => undefined;
    assert.equal(await s.put(obj!), 'stored');
    assert.equal(es.docs.size, 6, 'every decision indexed exactly once');
    assert.equal(es.received.at(-1)!.pairs.length, 6);
  });

  it('whole-request refusals are classified, with what to do', async () => {
    const [obj] = trailObjects({ records: lines(3), plan: [3] });
    const securityBody = JSON.stringify({
      error: {
        root_cause: [{ type: 'security_exception', reason: 'unable to authenticate with provided credentials' }],
        type: 'security_exception',
        reason: `unable to authenticate with provided credentials [${API_KEY}]`,
      },
      status: 401,
    });
    const cases: { refusal: NonNullable<Refusal>; code: string; match: RegExp; retryAfterMs?: number }[] = [
      { refusal: { status: 413 }, code: 'SINK_PERMANENT', match: /HTTP 413.*lower max_bulk_bytes \(now 5242880\)/ },
      {
        refusal: { status: 401, body: securityBody, headers: { 'www-authenticate': 'ApiKey' } },
        code: 'SINK_PERMANENT',
        match: /HTTP 401: .*security_exception/,
      },
      {
        refusal: {
          status: 429,
          body: '{"error":{"type":"es_rejected_execution_exception"},"status":429}',
          headers: { 'retry-after': '7' },
        },
        code: 'SINK_RETRYABLE',
        match: /HTTP 429/,
        retryAfterMs: 7000,
      },
      {
        refusal: { status: 503, body: '{"error":"cluster_block_exception"}' },
        code: 'SINK_RETRYABLE',
        match: /HTTP 503/,
      },
      { refusal: { status: 404, body: 'Not Found' }, code: 'SINK_PERMANENT', match: /HTTP 404/ },
    ];
    for (const c of cases) {
      es.refusals = [c.refusal];
      const e = await failure(sink({ api_key: API_KEY }).put(obj!));
      assert.equal(e.code, c.code, `HTTP ${c.refusal.status}`);
      assert.match(e.message, c.match);
      assert.equal(e.details.retryAfterMs, c.retryAfterMs);
      assert.ok(!e.message.includes(API_KEY));
    }
    assert.equal(es.docs.size, 0);
  });

  it('a 200 that is not a Bulk API answer for these actions is SINK_PERMANENT', async () => {
    const [obj] = trailObjects({ records: lines(3), plan: [3] });
    const cases: [string, (n: number) => string, RegExp][] = [
      ['html', () => '<html>proxy login</html>', /not JSON/],
      ['no items', () => '{"errors":false}', /no items/],
      [
        'fewer items',
        (n) => JSON.stringify({ errors: false, items: Array(n - 1).fill({ create: { status: 201 } }) }),
        /2 items for 3 actions/,
      ],
      [
        'no status',
        (n) => JSON.stringify({ errors: false, items: Array(n).fill({ create: {} }) }),
        /item 0 has no status/,
      ],
      [
        'status not a number',
        (n) => JSON.stringify({ items: Array(n).fill({ create: { status: '201' } }) }),
        /no status/,
      ],
      ['too long', () => `{"items":[${' '.repeat(200_000)}]}`, /answered more than/],
    ];
    for (const [what, answer, match] of cases) {
      es.rawAnswer = answer;
      const e = await failure(sink().put(obj!));
      assert.equal(e.code, 'SINK_PERMANENT', what);
      assert.match(e.message, match, what);
    }
  });

  it('max_bulk_bytes splits an object into requests in order, every decision once; one too large is refused up front', async () => {
    const [obj] = trailObjects({ records: lines(120), plan: [120] });
    const s = sink({ max_bulk_bytes: '8KiB', gzip: false });
    assert.equal(await s.put(obj!), 'stored');
    assert.ok(es.received.length >= 10, `${es.received.length} requests`);
    for (const r of es.received) assert.ok(r.raw.length <= 8192, `${r.raw.length} bytes`);
    const seqs = es.received.flatMap((r) => r.pairs.map(([, d]) => (d.tailseal as { seq: number }).seq));
    assert.deepEqual(
      seqs,
      Array.from({ length: 120 }, (_, i) => i),
    );

    es.reset();
    const big = `{"decision_id":"big-1","input":{"blob":"${'x'.repeat(3000)}"}}`;
    const [obj2] = trailObjects({ records: ['{"decision_id":"small"}', big], plan: [2] });
    const e = await failure(sink({ max_bulk_bytes: 2048 }).put(obj2!));
    assert.equal(e.code, 'SINK_PERMANENT');
    assert.match(e.message, /entry seq 1 \(decision_id big-1\).*over max_bulk_bytes 2048; it is not dropped/);
    assert.equal(es.received.length, 0, 'nothing of the object was sent');
  });

  it('a heartbeat or gap-only object sends nothing', async () => {
    const objs = trailObjects({ records: [{ gap: 100 }], plan: ['heartbeat', 1] });
    for (const o of objs) assert.equal(await sink().put(o), 'stored');
    assert.equal(es.received.length, 0);
  });

  it('config: defaults and refusals', () => {
    const base = { name: 'search', type: 'elasticsearch', url: 'https://es.example.com:9200' };
    const c = elasticsearchSinkSchema.parse(base);
    assert.equal(c.index, 'opa-decisions-%Y.%m.%d');
    assert.equal(c.max_bulk_bytes, 5 * 1024 * 1024);
    assert.equal(c.gzip, true);
    const refused: [Json, RegExp][] = [
      [{ index: 'OPA-%Y' }, /character "O" is not allowed/],
      [{ index: 'opa-%y' }, /unsupported pattern "%y"/],
      [{ index: 'opa-%' }, /unsupported pattern "%"/],
      [{ index: 'opa decisions' }, /character " " is not allowed/],
      [{ index: 'opa/x' }, /not allowed/],
      [{ index: '_opa' }, /must not start/],
      [{ index: '..' }, /must not be/],
      [{ index: '' }, /must not be empty/],
      [{ index: `${'a'.repeat(250)}%Y%m` }, /expands to 256 bytes/],
      [{ api_key: API_KEY, auth: { username: 'u', password: 'p' } }, /either api_key or auth/],
      [{ api_key: API_KEY, headers: { Authorization: 'x' } }, /either api_key or an Authorization header/],
      [{ api_key: 'a\nb' }, /line breaks/],
      [{ api_key: '' }, /empty/],
      [{ headers: { 'Content-Encoding': 'br' } }, /set by the sink itself/],
      [{ max_bulk_bytes: 100 }, /at least 1024/],
      [{ max_bulk_bytes: '101MiB' }, /at most/],
      [{ url: 'https://u:p@es:9200' }, /put credentials in auth/],
      [{ url: 'https://es:9200/?x=1' }, /query/],
    ];
    for (const [over, match] of refused) {
      const r = elasticsearchSinkSchema.safeParse({ ...base, ...over });
      assert.ok(!r.success, JSON.stringify(over));
      assert.match(r.error.issues.map((i) => i.message).join('; '), match, JSON.stringify(over));
    }
  });
});
