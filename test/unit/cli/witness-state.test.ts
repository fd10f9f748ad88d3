// The one-shot witness's state file: round trip, atomic replacement, and every refusal with its code.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readWitnessState, writeWitnessState } from '../../../src/cli/witness-state.js';

const dir = mkdtempSync(join(tmpdir(), 'tailseal-wstate-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const W = 'w1.test/witness+01020304+BAAA';
const code = (c: string) => ({ name: 'TailsealError', code: c });
const root = new Uint8Array(32).fill(7);

describe('witness state file', () => {
  it('reads a missing file as empty and reads back what it wrote, leaving no temp file', () => {
    const file = join(dir, 'state.json');
    assert.equal(readWitnessState(file, W).origins.size, 0);
    writeWitnessState(file, { witness: W, origins: new Map([['a.test/o', { size: 9, rootHash: root, time: 5 }]]) });
    const back = readWitnessState(file, W);
    assert.deepEqual([...back.origins], [['a.test/o', { size: 9, rootHash: root, time: 5 }]]);
    assert.deepEqual(readdirSync(dir), ['state.json']);
    assert.equal((JSON.parse(readFileSync(file, 'utf8')) as { version: number }).version, 1);
  });
  const good = { format: 'tailseal-witness-state', version: 1, witness: W, origins: {} };
  const entry = (e: object) => ({ ...good, origins: { 'a.test/o': e } });
  const cases: [string, string, string][] = [
    ['not JSON', '{', 'STATE_CORRUPT'],
    ['another format', JSON.stringify({ ...good, format: 'x' }), 'STATE_CORRUPT'],
    ['a newer version', JSON.stringify({ ...good, version: 2 }), 'STATE_VERSION'],
    ["another witness's state", JSON.stringify({ ...good, witness: 'w2+00000000+BAAA' }), 'USAGE'],
    ['no origins', JSON.stringify({ ...good, origins: null }), 'STATE_CORRUPT'],
    ['a negative size', JSON.stringify(entry({ size: -1, root: 'x', time: 1 })), 'STATE_CORRUPT'],
    ['a root that is no base64', JSON.stringify(entry({ size: 1, root: '!!', time: 1 })), 'STATE_CORRUPT'],
    ['a short root', JSON.stringify(entry({ size: 1, root: 'AAAA', time: 1 })), 'STATE_CORRUPT'],
    ['no time', JSON.stringify(entry({ size: 1, root: Buffer.from(root).toString('base64') })), 'STATE_CORRUPT'],
  ];
  for (const [what, text, want] of cases) {
    it(`refuses ${what}: ${want}`, () => {
      const file = join(dir, 'bad.json');
      writeFileSync(file, text);
      assert.throws(() => readWitnessState(file, W), code(want));
    });
  }
});
