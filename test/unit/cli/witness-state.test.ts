// The one-shot witness's state file: round trip, atomic replacement, and every refusal with its code.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readWitnessState, writeWitnessState } from '../../../src/cli/witness-state.js';
import { CompactRange } from '../../../src/trail/merkle.js';

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
    assert.equal((JSON.parse(readFileSync(file, 'utf8')) as { version: number }).version, 2);
  });
  it('reads back where the verification ended (version 2), and reads a version 1 file without it', () => {
    const file = join(dir, 'verified.json');
    const edge = CompactRange.empty();
    for (let i = 0; i < 5; i++) edge.append(new Uint8Array(32).fill(i));
    const resume = { size: 5, chainHead: root, edge, newestCheckpointTime: 1_764_400_000_500, signedBy: ['k1'] };
    const objects = new Map<string, string | null>([
      ['opa/0-4.ndjson', 'ab'.repeat(32)],
      ['copy/0-4.ndjson', null],
    ]);
    const origins = new Map([['a.test/o', { size: 5, rootHash: edge.root(), time: 5 }]]);
    const verified = { store: '/srv/store', origins: new Map([['a.test/o', { resume, note: 'n\n', objects }]]) };
    writeWitnessState(file, { witness: W, origins, verified });
    const back = readWitnessState(file, W).verified!;
    assert.equal(back.store, '/srv/store');
    const o = back.origins.get('a.test/o')!;
    assert.deepEqual({ ...o.resume, edge: o.resume.edge.root() }, { ...resume, edge: edge.root() });
    assert.deepEqual([o.note, [...o.objects].sort()], ['n\n', [...objects].sort()]);
    const v1 = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    writeFileSync(file, JSON.stringify({ ...v1, version: 1 }));
    assert.equal(readWitnessState(file, W).verified, undefined, 'version 1: no verified part, a full run');
  });
  const good = { format: 'tailseal-witness-state', version: 2, witness: W, origins: {} };
  const edge5 = (() => {
    const e = CompactRange.empty();
    for (let i = 0; i < 5; i++) e.append(root);
    return Buffer.from(e.serialize()).toString('base64');
  })();
  const b64 = Buffer.from(root).toString('base64');
  const vgood = { size: 5, chain_head: b64, edge: edge5, newest_time: 1, signed_by: [], note: 'n', objects: {} };
  const ver = (e: object) => ({ ...good, verified: { store: '/s', origins: { 'a.test/o': { ...vgood, ...e } } } });
  const entry = (e: object) => ({ ...good, origins: { 'a.test/o': e } });
  const cases: [string, string, string][] = [
    ['not JSON', '{', 'STATE_CORRUPT'],
    ['another format', JSON.stringify({ ...good, format: 'x' }), 'STATE_CORRUPT'],
    ['a newer version', JSON.stringify({ ...good, version: 3 }), 'STATE_VERSION'],
    ['a verified part without its store', JSON.stringify({ ...good, verified: { origins: {} } }), 'STATE_CORRUPT'],
    ['a verified edge of another size', JSON.stringify(ver({ size: 6 })), 'STATE_CORRUPT'],
    ['a verified edge that is no tree edge', JSON.stringify(ver({ edge: b64 })), 'STATE_CORRUPT'],
    ['a short chain head', JSON.stringify(ver({ chain_head: 'AAAA' })), 'STATE_CORRUPT'],
    ['a verified part without its note', JSON.stringify(ver({ note: 1 })), 'STATE_CORRUPT'],
    ['an object digest that is a number', JSON.stringify(ver({ objects: { 'o/1-1.ndjson': 1 } })), 'STATE_CORRUPT'],
    ["another witness's state", JSON.stringify({ ...good, witness: 'w2+00000000+BAAA' }), 'USAGE'],
    ['no origins', JSON.stringify({ ...good, origins: null }), 'STATE_CORRUPT'],
    ['a negative size', JSON.stringify(entry({ size: -1, root: 'x', time: 1 })), 'STATE_CORRUPT'],
    ['a root that is no base64', JSON.stringify(entry({ size: 1, root: '!!', time: 1 })), 'STATE_CORRUPT'],
    ['a short root', JSON.stringify(entry({ size: 1, root: 'AAAA', time: 1 })), 'STATE_CORRUPT'],
    ['no time', JSON.stringify(entry({ size: 1, root: Buffer.from(root).toString('base64') })), 'STATE_CORRUPT'],
  ];
  it('reads the valid verified part the refusals below alter', () => {
    const file = join(dir, 'ok.json');
    writeFileSync(file, JSON.stringify(ver({})));
    assert.equal(readWitnessState(file, W).verified?.origins.get('a.test/o')?.resume.size, 5);
  });
  for (const [what, text, want] of cases) {
    it(`refuses ${what}: ${want}`, () => {
      const file = join(dir, 'bad.json');
      writeFileSync(file, text);
      assert.throws(() => readWitnessState(file, W), code(want));
    });
  }
});
