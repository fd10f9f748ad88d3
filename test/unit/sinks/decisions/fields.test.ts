// decisionFields: what the search sinks index of an OPA event, from real OPA events (the corpus in
// test/fixtures/opa) and hostile ones: only the types OPA gives, bounded strings, no prototype keys.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_FIELD_CHARS, MAX_MAP_ENTRIES, decisionFields } from '../../../../src/sinks/decisions/fields.js';

const REAL = {
  decision_id: '4ca636c1-55e4-417a-b1d8-4aceb67960d1',
  labels: { id: '3f1d2c3e-0000-4000-8000-000000000001', version: '1.4.2', cluster: 'prod' },
  bundles: { authz: { revision: 'W3sibCI6InN5cy9jYXRhbG9nIiwicyI6NDA3MX1d' } },
  path: 'http/example/authz/allow',
  input: { method: 'GET', path: ['finance', 'salary', 'alice'], user: 'alice' },
  result: true,
  requested_by: '127.0.0.1:53322',
  timestamp: '2019-06-03T20:07:16.939402185Z',
  metrics: { timer_rego_query_eval_ns: 12345 },
  req_id: 2,
};

describe('decisionFields', () => {
  it('reads what people filter on from a real event', () => {
    const f = decisionFields(REAL);
    assert.equal(f.decisionId, REAL.decision_id);
    assert.equal(f.path, 'http/example/authz/allow');
    assert.equal(f.allow, true);
    assert.equal(f.result, 'true');
    assert.deepEqual({ ...f.bundles }, { authz: 'W3sibCI6InN5cy9jYXRhbG9nIiwicyI6NDA3MX1d' });
    assert.deepEqual({ ...f.labels }, REAL.labels);
    assert.equal(f.timestampMs, Date.UTC(2019, 5, 3, 20, 7, 16, 939));
    assert.equal(f.requestedBy, '127.0.0.1:53322');
  });

  const cases: [string, unknown, (f: ReturnType<typeof decisionFields>) => void][] = [
    [
      'result.allow of an object result',
      { result: { allow: false, reasons: ['x'] } },
      (f) => assert.equal(f.allow, false),
    ],
    ['no allow from a non-boolean result', { result: 'yes' }, (f) => assert.equal(f.allow, undefined)],
    ['no result member: none', { decision_id: 'a' }, (f) => assert.equal(f.result, undefined)],
    ['result null is a result', { result: null }, (f) => assert.equal(f.result, 'null')],
    ['a path that is no string', { path: ['a'] }, (f) => assert.equal(f.path, undefined)],
    ['a long path is cut', { path: 'p'.repeat(5000) }, (f) => assert.equal(f.path!.length, MAX_FIELD_CHARS)],
    [
      'a long result is cut',
      { result: { pad: 'x'.repeat(5000) } },
      (f) => assert.equal(f.result!.length, MAX_FIELD_CHARS),
    ],
    ['a label that is no string', { labels: { a: 1, b: 'ok' } }, (f) => assert.deepEqual({ ...f.labels }, { b: 'ok' })],
    [
      'too many labels',
      { labels: Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`k${i}`, 'v'])) },
      (f) => assert.equal(Object.keys(f.labels).length, MAX_MAP_ENTRIES),
    ],
    [
      'a __proto__ label stays a key',
      JSON.parse('{"labels":{"__proto__":"x"},"bundles":{"__proto__":{"revision":"r"}}}'),
      (f) => {
        assert.equal(Object.getPrototypeOf(f.labels), null);
        assert.equal(f.labels['__proto__'], 'x');
        assert.equal(f.bundles['__proto__'], 'r');
      },
    ],
    [
      'a bundle without a revision',
      { bundles: { a: {}, b: { revision: 7 } } },
      (f) => assert.deepEqual({ ...f.bundles }, {}),
    ],
    ['a timestamp that is no RFC 3339', { timestamp: 'June 3, 2019' }, (f) => assert.equal(f.timestampMs, undefined)],
    [
      'a timestamp with an offset',
      { timestamp: '2019-06-03T20:07:16-04:00' },
      (f) => assert.equal(f.timestampMs, 1559606836000),
    ],
    ['not an object at all', [1, 2], (f) => assert.deepEqual({ ...f.labels, ...f.bundles }, {})],
  ];
  for (const [what, event, check] of cases) it(what, () => check(decisionFields(event)));
});
