// Splitting an OPA upload body into its events' own bytes (no re-serialisation).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RequestError } from '../../../../src/sources/opa-service/body.js';
import { splitEvents, splitEventsSliced } from '../../../../src/sources/opa-service/events.js';
import { RefusalReporter } from '../../../../src/sources/opa-service/refusals.js';
import { Slicer } from '../../../../src/sources/slicer.js';
import { encodeEntryLine, entryLineOverhead, escapedLength } from '../../../../src/seal/encoder.js';

const slices = (body: string) => {
  const buf = Buffer.from(body, 'utf8');
  return splitEvents(buf).map((e) => buf.subarray(e.start, e.end).toString('utf8'));
};

/** A receiver on a free loopback port without a token; tests override what they need. */
const RECEIVER = {
  input: 'up',
  stream: 'up',
  host: '127.0.0.1',
  port: 0,
  resource: '/logs',
  token: undefined,
  tls: undefined,
  maxBodyBytes: 1 << 20,
  maxDecodedBytes: 1 << 20,
  maxInflightDecodedBytes: 1 << 20,
  maxEvents: 1000,
  opaUploadLimit: 1 << 20,
  requestTimeoutMs: 10_000,
  retryAfterMs: 7000,
  dedupe: { windowMs: 1000, maxIds: 10 },
};

describe('opa_service: splitting an upload body', () => {
  const cases: [string, string, string[]][] = [
    ['compact', '[{"a":1},{"b":2}]', ['{"a":1}', '{"b":2}']],
    ['whitespace around and between', ' \n[ {"a":1} ,\n\t{"b":2}\r\n] \n', ['{"a":1}', '{"b":2}']],
    ['pretty-printed element keeps its inner whitespace', '[\n  {\n    "a": 1\n  }\n]', ['{\n    "a": 1\n  }']],
    [
      'brackets, braces and commas inside strings',
      '[{"s":"],[{}\\",x"},{"t":"}"}]',
      ['{"s":"],[{}\\",x"}', '{"t":"}"}'],
    ],
    ['escaped backslash before a closing quote', '[{"s":"a\\\\"},{"u":1}]', ['{"s":"a\\\\"}', '{"u":1}']],
    ['nested arrays and objects', '[{"a":[1,[2,{"b":[3]}]],"c":{}},{}]', ['{"a":[1,[2,{"b":[3]}]],"c":{}}', '{}']],
    [
      "multi-byte UTF-8 and OPA's \\u003c escapes",
      '[{"n":"Zoë ✓ 𝄞","h":"\\u003cb\\u003e"}]',
      ['{"n":"Zoë ✓ 𝄞","h":"\\u003cb\\u003e"}'],
    ],
    ['empty array', '[ ]', []],
  ];
  for (const [desc, body, want] of cases) {
    it(desc, () => {
      const got = slices(body);
      assert.deepEqual(got, want);
      // Every slice is exactly the JSON of its element.
      assert.deepEqual(
        got.map((s) => JSON.parse(s)),
        JSON.parse(body),
      );
    });
  }

  it('reads decision_id when it is a non-empty string', () => {
    const ids = splitEvents(Buffer.from('[{"decision_id":"a"},{"decision_id":""},{"decision_id":7},{}]')).map(
      (e) => e.decisionId,
    );
    assert.deepEqual(ids, ['a', undefined, undefined, undefined]);
  });

  const bad: [string, Buffer, RegExp][] = [
    ['not UTF-8', Buffer.from([0x5b, 0xff, 0x5d]), /not valid UTF-8/],
    ['not JSON', Buffer.from('[{]'), /not valid JSON/],
    ['trailing garbage', Buffer.from('[{}] x'), /not valid JSON/],
    ['an object, not an array', Buffer.from('{"decision_id":"a"}'), /must be a JSON array/],
    ['a string element', Buffer.from('[{},"x"]'), /event 1 is not a JSON object/],
    ['a null element', Buffer.from('[null]'), /event 0 is not a JSON object/],
    ['an array element', Buffer.from('[[{}]]'), /event 0 is not a JSON object/],
    ['empty body', Buffer.alloc(0), /not valid JSON/],
    ['a missing element', Buffer.from('[,{}]'), /not valid JSON: missing element/],
    ['a trailing comma', Buffer.from('[{},]'), /not valid JSON: missing element/],
    ['an array that is not closed', Buffer.from('[{}'), /not valid JSON: the array is not closed/],
    ['two values in one element', Buffer.from('[{} {}]'), /not valid JSON: event 0/],
  ];
  for (const [desc, body, want] of bad) {
    it(`refuses ${desc} with 400`, () => {
      assert.throws(
        () => splitEvents(body),
        (e: RequestError) => e instanceof RequestError && e.status === 400 && want.test(e.message),
      );
    });
  }
});

describe('opa_service: limits of one upload', () => {
  it('refuses past maxEvents with 413 too_many_events, as soon as the next event starts', () => {
    assert.equal(splitEvents(Buffer.from('[{},{}]'), 2).length, 2);
    assert.throws(
      () => splitEvents(Buffer.from('[{},{},{} garbage never reached'), 2),
      (e: RequestError) => e.status === 413 && e.reason === 'too_many_events' && /max_events/.test(e.message),
    );
  });

  it('a refusal message never quotes the body', () => {
    const marker = 'MARKER-5e0b';
    const bodies = [`[{"decision_id":"${marker}",}]`, `[{"a":"${marker}"}] ${marker}`, `{"${marker}":1}`];
    for (const body of bodies) {
      const quiet = (e: RequestError) => e.reason === 'bad_body' && !e.message.includes(marker);
      assert.throws(() => splitEvents(Buffer.from(body)), quiet);
    }
  });

  it('splitEventsSliced gives the same events and lets the event loop run between slices', async () => {
    const events = Array.from({ length: 200_000 }, (_, i) => ({ decision_id: `d${i}`, input: { s: 'a"\\b' } }));
    const body = Buffer.from(JSON.stringify(events));
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    try {
      const sliced = await splitEventsSliced(body, Number.POSITIVE_INFINITY, new Slicer(2));
      assert.deepEqual(sliced, splitEvents(body));
    } finally {
      clearInterval(timer);
    }
    assert.ok(ticks > 0, 'no timer ran while the body was split');
  });

  it('escapedLength and entryLineOverhead bound an entry line from above, within the widths of its numbers', () => {
    const payloads = [
      '{}',
      '{"a":"q\\"uote","b":"back\\\\slash"}',
      '{\n\t"n": "Zoë ✓ 𝄞"\r\n}',
      JSON.stringify({ decision_id: 'x', input: { s: '\u0001\u001f' } }),
    ];
    const overhead = entryLineOverhead('decision', 'up', 'opa_service/up/logs');
    for (const p of payloads) {
      const payload = Buffer.from(p);
      const source = 'opa_service/up/logs';
      const env = { kind: 'decision' as const, stream: 'up', seq: 7, sealedAt: 1_765_000_000_000, source, offset: 12 };
      const line = encodeEntryLine({ ...env, payload }, new Uint8Array(32));
      const bound = overhead + escapedLength(payload);
      assert.ok(line.length <= bound, `${line.length} > ${bound} for ${p}`);
      // seq 7 and offset 12 are 15 and 14 digits short of the widest; sealed_at 3.
      assert.equal(bound - line.length, 15 + 14 + 3, p);
    }
  });

  it('refusal lines: 10 per 10 s, then one saying how many were left out; paths cut; all counted', () => {
    const lines: Record<string, unknown>[] = [];
    const log = { warn: (o: Record<string, unknown>) => lines.push(o) } as unknown as import('pino').Logger;
    const counted: string[] = [];
    const r = new RefusalReporter('up', log, (_input, reason) => counted.push(reason));
    const e = new RequestError(404, 'not_found', 'no such resource');
    for (let i = 0; i < 25; i++) r.report(e, `/x${'A'.repeat(15_000)}`, 1000 + i);
    r.report(new RequestError(503, 'busy', 'budget'), '/logs', 1100);
    assert.equal(lines.length, 10);
    assert.equal(counted.length, 26);
    assert.ok((lines[0]!.path as string).length < 200);
    r.report(e, '/y', 1000 + 10_000);
    assert.equal(lines.length, 11);
    assert.equal(lines[10]!.suppressed, 15);
  });
});

describe('opa_service: events allowed per upload, and admission', () => {
  const start = async (
    consumer: import('../../../../src/sources/source.js').BatchConsumer &
      Partial<import('../../../../src/sources/capabilities.js').Admitter>,
    opaUploadLimit = 1 << 20,
  ) => {
    const { OpaServiceReceiver } = await import('../../../../src/sources/opa-service/receiver.js');
    const { createLogger } = await import('../../../../src/log.js');
    const rx = new OpaServiceReceiver(
      {
        ...RECEIVER,
        opaUploadLimit,
        maxBodyBytes: 8 << 20,
        maxDecodedBytes: 8 << 20,
        maxInflightDecodedBytes: 8 << 20,
      },
      { consumer, log: createLogger('silent') },
    );
    await rx.start();
    return rx;
  };

  it("takes more than max_events up to one event per 16 bytes of OPA's declared limit, never more", async () => {
    const { upload } = await import('../../../helpers/opa-upload.js');
    const { randomUUID } = await import('node:crypto');
    let committed = 0;
    // max_events 1000; opa_upload_size_limit_bytes 96 KiB allows 6,144 events per upload.
    const rx = await start({ commit: (b) => ((committed += b.records.length), true) }, 96 * 1024);
    try {
      const url = `http://127.0.0.1:${rx.address().port}/logs`;
      // Random decision_ids, as OPA's: they keep the gzip'd body at over 16 bytes per event.
      const timestamp = new Date().toISOString();
      const events = (n: number) => Array.from({ length: n }, () => ({ decision_id: randomUUID(), timestamp }));
      const real = await upload(url, events(5000));
      assert.equal(real.status, 200, real.body);
      assert.equal(committed, 5000);
      const bomb = await upload(
        url,
        Array.from({ length: 7000 }, () => ({})),
      );
      assert.equal(bomb.status, 413);
      assert.equal((JSON.parse(bomb.body) as { code: string }).code, 'too_many_events');
      // A body over the declared limit (as an abuser pads it) does not buy more events: 20,000
      // real-looking events in ~700 KB are refused, where the body's size alone would allow 40,000.
      const padded = await upload(url, events(20_000));
      assert.equal(padded.status, 413, padded.body);
      assert.equal((JSON.parse(padded.body) as { code: string }).code, 'too_many_events');
      assert.equal(committed, 5000);
      assert.equal(rx.inflightDecodedBytes(), 0, 'the budget is given back');
    } finally {
      await rx.close();
    }
  });

  it('asks the outbox before reading the body and before sealing: full is 503, too large 413', async () => {
    const { upload, event } = await import('../../../helpers/opa-upload.js');
    const asked: number[] = [];
    let verdict: 'ok' | 'full' | 'never' = 'full';
    let commits = 0;
    const rx = await start({ commit: () => (commits++, true), admit: (n) => (asked.push(n), verdict) });
    try {
      const url = `http://127.0.0.1:${rx.address().port}/logs`;
      const full = await upload(url, [event('a')]);
      assert.equal(full.status, 503);
      assert.equal(full.headers['retry-after'], '7');
      assert.deepEqual(asked, [0], 'refused before the body was read');
      verdict = 'never';
      asked.length = 0;
      const never = await upload(url, [event('a')]);
      assert.equal(never.status, 413);
      assert.equal((JSON.parse(never.body) as { code: string }).code, 'outbox_too_small');
      assert.equal(asked.length, 2);
      assert.ok(asked[1]! > 200, `asked for ${asked[1]} bytes: the entry line, not the raw event`);
      assert.equal(commits, 0);
    } finally {
      await rx.close();
    }
  });
});

// Issue 16 item 18: the start-time check took opa_upload_size_limit_bytes as OPA's limit; a larger
// body says the declaration is wrong (a later, larger chunk may be refused and stall OPA).
describe('opa_service: a body over opa_upload_size_limit_bytes', () => {
  it('is taken within the limits, and said once', async () => {
    const { OpaServiceReceiver } = await import('../../../../src/sources/opa-service/receiver.js');
    const { upload, event } = await import('../../../helpers/opa-upload.js');
    const warned: [Record<string, unknown>, string][] = [];
    const log = { info: () => undefined, warn: (o: Record<string, unknown>, m: string) => warned.push([o, m]) };
    const rx = new OpaServiceReceiver(
      { ...RECEIVER, opaUploadLimit: 100 },
      {
        consumer: { commit: () => true },
        log: log as unknown as import('pino').Logger,
      },
    );
    await rx.start();
    try {
      const url = `http://127.0.0.1:${rx.address().port}/logs`;
      assert.equal((await upload(url, [], { encoding: 'identity' })).status, 200);
      assert.equal(warned.filter(([o]) => o.body_bytes !== undefined).length, 0, 'a body within the limit');
      for (let i = 0; i < 2; i++) assert.equal((await upload(url, [event(`big-${i}`)])).status, 200);
      const over = warned.filter(([o]) => o.body_bytes !== undefined);
      assert.equal(over.length, 1, 'said once');
      assert.equal(over[0]![0].opa_upload_size_limit_bytes, 100);
      assert.match(
        over[0]![1],
        /larger than opa_upload_size_limit_bytes.*set this input's opa_upload_size_limit_bytes/,
      );
    } finally {
      await rx.close();
    }
  });
});

describe('opa_service: answers when committing fails', () => {
  it('a state storage error (disk full) answers 503 with Retry-After, so OPA keeps the chunk', async () => {
    const { OpaServiceReceiver } = await import('../../../../src/sources/opa-service/receiver.js');
    const { createLogger } = await import('../../../../src/log.js');
    const { upload, event } = await import('../../../helpers/opa-upload.js');
    let calls = 0;
    const rx = new OpaServiceReceiver(
      { ...RECEIVER, requestTimeoutMs: 5000 },
      {
        consumer: {
          commit: () => {
            calls++;
            throw new Error('SQLITE_FULL: database or disk is full');
          },
        },
        log: createLogger('silent'),
      },
    );
    await rx.start();
    try {
      const r = await upload(`http://127.0.0.1:${rx.address().port}/logs`, [event('full-1')]);
      assert.equal(r.status, 503);
      assert.equal(r.headers['retry-after'], '7');
      assert.match((JSON.parse(r.body) as { error: string }).error, /cannot commit right now/);
      assert.equal(calls, 1);
    } finally {
      await rx.close();
    }
  });
});
