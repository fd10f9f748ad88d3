// Which OPA log lines are decisions.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { classifyLine } from '../../../../src/sources/file/classify.js';
import { decisionLine, otherLine, prng } from '../../../helpers/opa-sample.js';
import { OPA_CORPUS } from '../../../helpers/paths.js';

const b = (s: string | number[]) => (typeof s === 'string' ? Buffer.from(s) : Buffer.from(s));

describe('classifyLine', () => {
  const cases: { desc: string; line: Buffer; cls: string; reason?: string }[] = [
    { desc: 'a console decision line', line: b(decisionLine(1, prng(1))), cls: 'decision' },
    {
      desc: 'type marker only',
      line: b('{"decision_id":"d","type":"openpolicyagent.org/decision_logs"}'),
      cls: 'decision',
    },
    { desc: 'msg marker only', line: b('{"decision_id":"d","msg":"Decision Log"}'), cls: 'decision' },
    { desc: 'a decision with a trailing CR', line: b('{"msg":"Decision Log","decision_id":"d"}\r'), cls: 'decision' },
    { desc: "OPA's request log line", line: b(otherLine(2)), cls: 'other', reason: 'not_decision' },
    {
      desc: 'a marker inside a string value only',
      line: b('{"msg":"Sent response.","note":"Decision Log"}'),
      cls: 'other',
      reason: 'not_decision',
    },
    { desc: 'blank line', line: b('   '), cls: 'other', reason: 'blank' },
    { desc: 'text log format', line: b('[INFO] Decision Log'), cls: 'malformed', reason: 'not_json' },
    { desc: 'truncated JSON', line: b('{"msg":"Decision Log","decision_id":'), cls: 'malformed', reason: 'not_json' },
    { desc: 'JSON array', line: b('[1,2]'), cls: 'malformed', reason: 'not_object' },
    { desc: 'invalid UTF-8', line: b([0x7b, 0x7d, 0xff]), cls: 'malformed', reason: 'invalid_utf8' },
    {
      desc: 'overlong UTF-8 encoding',
      line: b([0x7b, 0x22, 0xc0, 0xaf, 0x22, 0x7d]),
      cls: 'malformed',
      reason: 'invalid_utf8',
    },
  ];
  for (const tc of cases) {
    it(tc.desc, () => {
      const got = classifyLine(tc.line);
      assert.equal(got.cls, tc.cls);
      assert.equal(got.reason, tc.reason);
    });
  }

  it('events from OPA docs (upload body) classify as decisions once in console form', () => {
    const body = readFileSync(join(OPA_CORPUS, 'docs_management-decision-logs.upload-body.json'), 'utf8');
    const events = JSON.parse(body.replace('{{ current_version }}', '1.0.0')) as object[];
    for (const e of events) {
      const line = JSON.stringify({
        ...e,
        level: 'info',
        msg: 'Decision Log',
        time: '2018-01-01T00:00:00Z',
        type: 'openpolicyagent.org/decision_logs',
      });
      assert.equal(classifyLine(b(line)).cls, 'decision');
    }
  });
});
