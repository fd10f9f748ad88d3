// The add-checkpoint wire format of c2sp.org/tlog-witness: the spec's example request parses and
// serializes back byte for byte; every deviation is WITNESS_PROTOCOL (table-driven).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toBase64 } from '../../../src/trail/hash.js';
import {
  MAX_ADD_CHECKPOINT_BYTES,
  formatAddCheckpoint,
  formatTlogSize,
  parseAddCheckpoint,
  parseCosignatureLines,
  parseTlogSize,
} from '../../../src/trail/witness-protocol.js';

// The example request body of c2sp.org/tlog-witness ("add-checkpoint").
const SPEC_EXAMPLE = [
  'old 20852014',
  'PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=',
  'jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=',
  '5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=',
  '/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=',
  '',
  'example.com/behind-the-sofa',
  '20852163',
  'CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=',
  '',
  '\u2014 example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+' +
    'zyWE+xeMcTOAYQ8=',
  '\u2014 example.com/behind-the-sofa opLqBQsREYCgu6xQkYQwJr9fo45a62DN9EdmHXnZdXNqlcVGlCum2Wks+49/V6267UEjw6QUXTS5Rov' +
    'nzv++qbSzm9Q=',
  '',
].join('\n');

const PROTOCOL = { code: 'WITNESS_PROTOCOL' };
const hash = (b: number) => toBase64(new Uint8Array(32).fill(b));

describe('add-checkpoint (c2sp.org/tlog-witness)', () => {
  it("parses the spec's example request and serializes it back to the same bytes", () => {
    const r = parseAddCheckpoint(SPEC_EXAMPLE);
    assert.equal(r.oldSize, 20852014);
    assert.equal(r.proof.length, 4);
    assert.equal(toBase64(r.proof[0]!), 'PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=');
    assert.ok(r.checkpoint.startsWith('example.com/behind-the-sofa\n20852163\n'));
    assert.equal(formatAddCheckpoint(r), SPEC_EXAMPLE);
  });

  it('an old size of 0 with no proof lines', () => {
    const body = `old 0\n\nexample.com/log\n0\n${hash(1)}\n\n\u2014 x AAAA\n`;
    assert.deepEqual(parseAddCheckpoint(body), { oldSize: 0, proof: [], checkpoint: body.slice(7) });
  });

  const cp = `o\n5\n${hash(1)}\n\n\u2014 o AAAA\n`;
  const cases: [string, string][] = [
    ['no old line', `${hash(2)}\n\n${cp}`],
    ['old with a leading zero', `old 05\n\n${cp}`],
    ['old not a number', `old five\n\n${cp}`],
    ['old negative', `old -1\n\n${cp}`],
    ['old above 2^53 - 1', `old 9007199254740993\n\n${cp}`],
    ['"old" twice spaced', `old  5\n\n${cp}`],
    ['no empty line', `old 5\n${hash(2)}\n${cp}`],
    ['a proof line not base64', `old 5\nnot base64!\n\n${cp}`],
    ['a proof line of 31 bytes', `old 5\n${toBase64(new Uint8Array(31))}\n\n${cp}`],
    ['64 proof lines', `old 5\n${Array.from({ length: 64 }, () => hash(3)).join('\n')}\n\n${cp}`],
    ['a checkpoint without a final newline', `old 5\n\n${cp.slice(0, -1)}`],
    ['an empty checkpoint', 'old 5\n\n'],
    ['an oversized body', `old 5\n\n${cp}${'x'.repeat(MAX_ADD_CHECKPOINT_BYTES)}\n`],
  ];
  for (const [what, body] of cases)
    it(`refuses ${what}`, () => assert.throws(() => parseAddCheckpoint(body), PROTOCOL));

  it('409 sizes: `<size>\\n` both ways, nothing else', () => {
    assert.equal(formatTlogSize(42), '42\n');
    assert.equal(parseTlogSize('42\n'), 42);
    assert.equal(parseTlogSize('0\n'), 0);
    for (const bad of ['42', '042\n', '-1\n', '4 2\n', '\n', 'x\n', '1'.repeat(30) + '\n'])
      assert.throws(() => parseTlogSize(bad), PROTOCOL, JSON.stringify(bad));
  });

  it('200 answers: one or more signature lines, each ending in a newline', () => {
    assert.deepEqual(parseCosignatureLines('\u2014 w AAAA\n\u2014 w2 BBBB\n'), ['\u2014 w AAAA\n', '\u2014 w2 BBBB\n']);
    for (const bad of ['', '\u2014 w AAAA', 'w AAAA\n', '\u2014 w AAAA\n\n', 'ok\n'])
      assert.throws(() => parseCosignatureLines(bad), PROTOCOL, JSON.stringify(bad));
  });
});
