// The report's cheap read of a decision event (src/report/scan.ts): table-driven against what
// JSON.parse says of the same text, including members of the same name nested deeper (not counted),
// escaped member names, and payloads that are not JSON objects.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type DecisionFacts, decisionFacts, topLevelMembers } from '../../../src/report/index.js';
import { decisionLine, prng } from '../../helpers/opa-sample.js';

const none: DecisionFacts = { path: undefined, result: 'none', revisions: [], masked: [], erased: [], json: true };

describe('report: decisionFacts', () => {
  const cases: [string, string, Partial<DecisionFacts>][] = [
    ['boolean true', '{"path":"a/b","result":true}', { path: 'a/b', result: 'allow' }],
    ['boolean false', '{"result":false,"path":"a/b"}', { path: 'a/b', result: 'deny' }],
    ['object allow true', '{"result":{"reason":"x","allow":true}}', { result: 'allow' }],
    ['object allow false', '{"result":{"allow":false,"n":[1,{"allow":true}]}}', { result: 'deny' }],
    ['object allow nested only', '{"result":{"x":{"allow":true}}}', { result: 'other' }],
    ['object allow not boolean', '{"result":{"allow":"yes"}}', { result: 'other' }],
    ['string result', '{"result":"allow"}', { result: 'other' }],
    ['array result', '{"result":[true]}', { result: 'other' }],
    ['no result', '{"path":"p"}', { path: 'p' }],
    [
      "nested path and result are not the event's",
      '{"input":{"path":"x","result":true,"s":"}\\"{"},"path":"real","result":false}',
      { path: 'real', result: 'deny' },
    ],
    ['escaped member name', '{"p\\u0061th":"esc","result":true}', { path: 'esc', result: 'allow' }],
    ['escaped value', '{"path":"a\\"b\\\\","result":true}', { path: 'a"b\\', result: 'allow' }],
    ['whitespace', ' {\n "path" : "w" ,\t"result" : true }\n', { path: 'w', result: 'allow' }],
    ['non-string path', '{"path":["a"]}', {}],
    [
      'bundles',
      '{"bundles":{"authz":{"revision":"r1"},"data":{"revision":"r2"},"odd":{"revision":3},"x":null}}',
      {
        revisions: [
          ['authz', 'r1'],
          ['data', 'r2'],
        ],
      },
    ],
    [
      'masked and erased',
      '{"masked":["/input/password",7],"erased":["/input/ssn"]}',
      {
        masked: ['/input/password'],
        erased: ['/input/ssn'],
      },
    ],
    ['later duplicate member wins (as JSON.parse)', '{"path":"a","path":"b"}', { path: 'b' }],
    ['empty object', '{}', {}],
  ];
  for (const [name, text, want] of cases)
    it(name, () => {
      assert.deepEqual(decisionFacts(text), { ...none, ...want });
    });

  for (const text of ['', 'not json', '[1,2]', '"s"', '{"path":"a"', '{"path" "a"}', '{"a":1,}x', '{"p":"\\"}'])
    it(`not a JSON object: ${JSON.stringify(text)}`, () => {
      assert.equal(decisionFacts(text).json, false);
    });

  it('agrees with JSON.parse on OPA console lines', () => {
    const rnd = prng(7);
    for (let i = 0; i < 500; i++) {
      const line = decisionLine(i, rnd);
      const o = JSON.parse(line);
      const f = decisionFacts(line);
      assert.equal(f.path, o.path);
      assert.equal(f.result, o.result ? 'allow' : 'deny');
      assert.deepEqual(
        f.revisions,
        Object.entries(o.bundles).map(([k, v]: [string, any]) => [k, v.revision]),
      );
    }
  });

  it('topLevelMembers gives the text of each wanted member', () => {
    const m = topLevelMembers('{"a":{"b":[1,"]"]},"c":12.5e3,"d":null}', new Set(['a', 'c', 'd']));
    assert.deepEqual(
      [...m!],
      [
        ['a', '{"b":[1,"]"]}'],
        ['c', '12.5e3'],
        ['d', 'null'],
      ],
    );
  });
});
