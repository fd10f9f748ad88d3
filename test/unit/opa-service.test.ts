// Splitting an OPA upload body into its events' own bytes (no re-serialisation).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RequestError } from '../../src/sources/opa-service/body.js';
import { splitEvents } from '../../src/sources/opa-service/events.js';

const slices = (body: string) => {
  const buf = Buffer.from(body, 'utf8');
  return splitEvents(buf).map((e) => buf.subarray(e.start, e.end).toString('utf8'));
};

describe('opa_service: splitting an upload body', () => {
  const cases: [string, string, string[]][] = [
    ['compact', '[{"a":1},{"b":2}]', ['{"a":1}', '{"b":2}']],
    ['whitespace around and between', ' \n[ {"a":1} ,\n\t{"b":2}\r\n] \n', ['{"a":1}', '{"b":2}']],
    ['pretty-printed element keeps its inner whitespace', '[\n  {\n    "a": 1\n  }\n]', ['{\n    "a": 1\n  }']],
    ['brackets, braces and commas inside strings', '[{"s":"],[{}\\",x"},{"t":"}"}]', ['{"s":"],[{}\\",x"}', '{"t":"}"}']],
    ['escaped backslash before a closing quote', '[{"s":"a\\\\"},{"u":1}]', ['{"s":"a\\\\"}', '{"u":1}']],
    ['nested arrays and objects', '[{"a":[1,[2,{"b":[3]}]],"c":{}},{}]', ['{"a":[1,[2,{"b":[3]}]],"c":{}}', '{}']],
    ['multi-byte UTF-8 and OPA\'s \\u003c escapes', '[{"n":"Zoë ✓ 𝄞","h":"\\u003cb\\u003e"}]', ['{"n":"Zoë ✓ 𝄞","h":"\\u003cb\\u003e"}']],
    ['empty array', '[ ]', []],
  ];
  for (const [desc, body, want] of cases) {
    it(desc, () => {
      const got = slices(body);
      assert.deepEqual(got, want);
      // Every slice is exactly the JSON of its element.
      assert.deepEqual(got.map((s) => JSON.parse(s)), JSON.parse(body));
    });
  }

  it('reads decision_id when it is a non-empty string', () => {
    const ids = splitEvents(Buffer.from('[{"decision_id":"a"},{"decision_id":""},{"decision_id":7},{}]')).map((e) => e.decisionId);
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
  ];
  for (const [desc, body, want] of bad) {
    it(`refuses ${desc} with 400`, () => {
      assert.throws(() => splitEvents(body), (e: RequestError) => e instanceof RequestError && e.status === 400 && want.test(e.message));
    });
  }
});

describe('opa_service: answers when committing fails', () => {
  it('a state storage error (disk full) answers 503 with Retry-After, so OPA keeps the chunk', async () => {
    const { OpaServiceReceiver } = await import('../../src/sources/opa-service/receiver.js');
    const { createLogger } = await import('../../src/log.js');
    const { upload, event } = await import('../helpers/opa-upload.js');
    let calls = 0;
    const rx = new OpaServiceReceiver(
      { input: 'up', stream: 'up', host: '127.0.0.1', port: 0, resource: '/logs', token: undefined, tls: undefined, maxBodyBytes: 1 << 20, maxDecodedBytes: 1 << 20, maxInflightDecodedBytes: 1 << 20, maxEvents: 1000, requestTimeoutMs: 5000, retryAfterMs: 7000, dedupe: { windowMs: 1000, maxIds: 10 } },
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
