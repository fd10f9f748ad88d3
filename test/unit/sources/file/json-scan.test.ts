// The classifier's fast path (json-scan.ts) against the reference (TextDecoder + JSON.parse): it may
// answer "unsure" and fall back, but whenever it decides, it must decide as JSON.parse would.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DECISION_LOG_MSG,
  DECISION_LOG_TYPE,
  classifyLine,
  classifyParsed,
} from '../../../../src/sources/file/classify.js';
import { scanJsonObject } from '../../../../src/sources/file/json-scan.js';
import { decisionLine, otherLine, prng } from '../../../helpers/opa-sample.js';

const TYPE = Buffer.from(DECISION_LOG_TYPE);
const MSG = Buffer.from(DECISION_LOG_MSG);
const scan = (s: string | Buffer) => scanJsonObject(typeof s === 'string' ? Buffer.from(s) : s, TYPE, MSG);

describe('scanJsonObject', () => {
  // One case per rule: what the scan must decide itself, and what it must leave to JSON.parse.
  const cases: { desc: string; line: string; want: 'decision' | 'other' | 'unsure' }[] = [
    { desc: 'type marks a decision', line: '{"type":"openpolicyagent.org/decision_logs"}', want: 'decision' },
    { desc: 'msg marks a decision', line: '{"a":1,"msg":"Decision Log"}', want: 'decision' },
    { desc: 'marker as a nested value only', line: '{"x":{"msg":"Decision Log"}}', want: 'other' },
    { desc: 'marker inside another string', line: '{"msg":"Decision Logs"}', want: 'other' },
    { desc: 'marker value not a string', line: '{"msg":["Decision Log"]}', want: 'other' },
    {
      desc: 'the last duplicate key wins (not a decision)',
      line: '{"msg":"Decision Log","msg":"other"}',
      want: 'other',
    },
    { desc: 'the last duplicate key wins (a decision)', line: '{"msg":"x","msg":"Decision Log"}', want: 'decision' },
    {
      desc: 'whitespace everywhere JSON allows it',
      line: ' \t{ "msg" :\r\n"Decision Log" , "n" : [ 1 , { } , [ ] ] }\r',
      want: 'decision',
    },
    {
      desc: 'every value kind',
      line: '{"a":[true,false,null,-0,0.5,1e9,-2.5E-3,1E+2,"s\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9"],"b":{}}',
      want: 'other',
    },
    { desc: 'empty object', line: '{}', want: 'other' },
    { desc: 'escaped top-level key could spell msg', line: '{"\\u006dsg":"Decision Log"}', want: 'unsure' },
    { desc: 'escaped marker value could spell the marker', line: '{"msg":"Decision\\u0020Log"}', want: 'unsure' },
    { desc: 'byte over 0x7f', line: '{"a":"é"}', want: 'unsure' },
    { desc: 'raw control character in a string', line: '{"a":"\t"}', want: 'unsure' },
    { desc: 'bad escape', line: '{"a":"\\x"}', want: 'unsure' },
    { desc: 'short \\u escape', line: '{"a":"\\u12"}', want: 'unsure' },
    { desc: 'leading zero', line: '{"a":01}', want: 'unsure' },
    { desc: 'bare minus', line: '{"a":-}', want: 'unsure' },
    { desc: 'dot without digits', line: '{"a":1.}', want: 'unsure' },
    { desc: 'exponent without digits', line: '{"a":1e}', want: 'unsure' },
    { desc: 'plus sign', line: '{"a":+1}', want: 'unsure' },
    { desc: 'trailing comma in object', line: '{"a":1,}', want: 'unsure' },
    { desc: 'trailing comma in array', line: '{"a":[1,]}', want: 'unsure' },
    { desc: 'missing colon', line: '{"a" 1}', want: 'unsure' },
    { desc: 'unquoted key', line: '{a:1}', want: 'unsure' },
    { desc: 'single quotes', line: "{'a':1}", want: 'unsure' },
    { desc: 'misspelt literal', line: '{"a":tru}', want: 'unsure' },
    { desc: 'unterminated string', line: '{"a":"b', want: 'unsure' },
    { desc: 'unterminated object', line: '{"a":1', want: 'unsure' },
    { desc: 'text after the object', line: '{"a":1} x', want: 'unsure' },
    { desc: 'two objects', line: '{}{}', want: 'unsure' },
    { desc: 'an array at the top', line: '[1]', want: 'unsure' },
    { desc: 'a string at the top', line: '"msg"', want: 'unsure' },
    { desc: 'blank', line: '  ', want: 'unsure' },
    { desc: 'nesting over the depth limit', line: '{"a":' + '['.repeat(100) + ']'.repeat(100) + '}', want: 'unsure' },
    { desc: 'nesting within the depth limit', line: '{"a":' + '['.repeat(60) + ']'.repeat(60) + '}', want: 'other' },
  ];
  for (const tc of cases) {
    it(tc.desc, () => {
      assert.equal(scan(tc.line), tc.want);
      // And the classifier as a whole agrees with the reference either way.
      assert.deepEqual(classifyLine(Buffer.from(tc.line)), classifyParsed(Buffer.from(tc.line)));
    });
  }

  it("decides OPA's own lines itself (the fast path is taken)", () => {
    const rnd = prng(3);
    for (let i = 0; i < 200; i++) {
      assert.equal(scan(decisionLine(i, rnd)), 'decision');
      assert.equal(scan(otherLine(i)), 'other');
    }
  });

  it('agrees with JSON.parse on 30,000 mutated OPA lines', () => {
    // Each line gets one to three edits drawn from JSON's own characters, so most mutants sit
    // right at a grammar boundary (the cases a hand-written scanner gets wrong).
    const rnd = prng(11);
    const alphabet = Buffer.from('{}[]":,\\ \t\r0123456789-+.eEtruefalsn\u0001\u007fu/x');
    const pick = (n: number) => Math.floor(rnd() * n);
    let decided = 0;
    for (let i = 0; i < 30_000; i++) {
      const base = Buffer.from(i % 4 === 0 ? otherLine(i) : decisionLine(i, rnd));
      let bytes = [...base];
      for (let k = 0, edits = 1 + pick(3); k < edits; k++) {
        const at = pick(bytes.length + 1);
        const op = pick(3);
        const b = alphabet[pick(alphabet.length)]!;
        if (op === 0) bytes.splice(at, 0, b);
        else if (op === 1) bytes.splice(at, 1);
        else bytes[Math.min(at, bytes.length - 1)] = b;
      }
      if (i % 10 === 0)
        bytes = [...Buffer.from(`{"msg":"Decision Log","x":${Buffer.from(bytes).toString('latin1')}}`, 'latin1')];
      const line = Buffer.from(bytes);
      const fast = classifyLine(line);
      const ref = classifyParsed(line);
      if (scan(line) !== 'unsure') decided++;
      assert.deepEqual(fast, ref, `mutant ${i}: ${line.toString('latin1')}`);
    }
    // Not everything fell back: the scan decided a good share of the mutants itself.
    assert.ok(decided > 5_000, `the scan decided only ${decided} mutants`);
  });
});
