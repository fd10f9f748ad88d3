import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  type Checkpoint,
  formatCheckpoint,
  openCheckpoint,
  parseCheckpoint,
  signCheckpoint,
} from '../../../src/trail/checkpoint.js';
import { EMPTY_ROOT, fromBase64Strict, toBase64 } from '../../../src/trail/hash.js';
import { generateKeyPair, parseSignerKey, parseVerifierKey } from '../../../src/trail/keys.js';
import { CompactRange } from '../../../src/trail/merkle.js';
import { signNote } from '../../../src/trail/note.js';
import { VECTORS_DIR } from '../../helpers/paths.js';

interface WireCheckpoint {
  origin: string;
  size: number;
  rootHash: string;
  extensions: string[];
}
interface NoteVectors {
  sumGolangOrg: { verifierKey: string; note: string; checkpoint: WireCheckpoint };
  tailsealTest: {
    name: string;
    signerKey: string;
    verifierKey: string;
    checkpoint: WireCheckpoint;
    text: string;
    note: string;
  };
}

const V = JSON.parse(readFileSync(join(VECTORS_DIR, 'note.json'), 'utf8')) as NoteVectors;
const T = V.tailsealTest;
const signer = parseSignerKey(T.signerKey);
const verifier = parseVerifierKey(T.verifierKey);
const stranger = parseSignerKey(generateKeyPair(T.name, new Uint8Array(32).fill(9)).signerKey); // same name, other key
const code = (c: string) => ({ name: 'TailsealError', code: c });
const fromWire = (c: WireCheckpoint): Checkpoint => ({ ...c, rootHash: fromBase64Strict(c.rootHash, 'root') });
const ROOT = toBase64(fromWire(T.checkpoint).rootHash);
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
// ROOT with one of the two unused low bits of its last base64 digit set: same bytes, other spelling.
const ROOT_PADDING_BITS = `${ROOT.slice(0, 42)}${B64[B64.indexOf(ROOT[42]) ^ 1]}=`;

describe('checkpoint format', () => {
  const cases: { desc: string; c: Checkpoint }[] = [
    { desc: 'the test vector', c: fromWire(T.checkpoint) },
    { desc: 'empty tree', c: { origin: 'example.com/log', size: 0, rootHash: EMPTY_ROOT, extensions: [] } },
    {
      desc: 'two extension lines',
      c: { origin: 'o', size: 1, rootHash: new Uint8Array(32).fill(1), extensions: ['a b', 'c'] },
    },
    {
      desc: 'largest size',
      c: { origin: 'o with spaces', size: Number.MAX_SAFE_INTEGER, rootHash: new Uint8Array(32), extensions: [] },
    },
  ];
  for (const { desc, c } of cases) {
    it(`round trips: ${desc}`, () => assert.deepEqual(parseCheckpoint(formatCheckpoint(c)), c));
  }
  it('formats the test vector text exactly', () => {
    assert.equal(formatCheckpoint(fromWire(T.checkpoint)), T.text);
    assert.deepEqual(parseCheckpoint(T.text), fromWire(T.checkpoint));
  });
  it('writes the empty tree root as SHA-256("")', () => {
    const root = CompactRange.empty().root();
    assert.equal(
      formatCheckpoint({ origin: 'o', size: 0, rootHash: root, extensions: [] }),
      'o\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n',
    );
  });

  const malformed: { desc: string; text: string }[] = [
    { desc: 'leading zero', text: `o\n01\n${ROOT}\n` },
    { desc: 'leading zeros on zero', text: `o\n00\n${ROOT}\n` },
    { desc: 'negative size', text: `o\n-1\n${ROOT}\n` },
    { desc: 'plus sign', text: `o\n+1\n${ROOT}\n` },
    { desc: 'non-numeric size', text: `o\nten\n${ROOT}\n` },
    { desc: 'fractional size', text: `o\n1.0\n${ROOT}\n` },
    { desc: 'exponent size', text: `o\n1e3\n${ROOT}\n` },
    { desc: 'hex size', text: `o\n0x10\n${ROOT}\n` },
    { desc: 'space before size', text: `o\n 1\n${ROOT}\n` },
    { desc: 'empty size', text: `o\n\n${ROOT}\n` },
    { desc: 'size 2^53 (above MAX_SAFE_INTEGER)', text: `o\n9007199254740992\n${ROOT}\n` },
    { desc: 'size 2^64', text: `o\n18446744073709551616\n${ROOT}\n` },
    { desc: 'root of 31 bytes', text: `o\n1\n${toBase64(new Uint8Array(31))}\n` },
    { desc: 'root of 33 bytes', text: `o\n1\n${toBase64(new Uint8Array(33))}\n` },
    { desc: 'root without padding', text: `o\n1\n${ROOT.replace(/=$/, '')}\n` },
    { desc: 'root with non-zero padding bits', text: `o\n1\n${ROOT_PADDING_BITS}\n` },
    { desc: 'root in URL-safe base64', text: `o\n1\n${'_'.repeat(43)}=\n` },
    { desc: 'root as hex', text: `o\n1\n${'00'.repeat(32)}\n` },
    { desc: 'empty origin', text: `\n1\n${ROOT}\n` },
    { desc: 'tab in origin', text: `o\tx\n1\n${ROOT}\n` },
    { desc: 'empty extension line', text: `o\n1\n${ROOT}\n\next\n` },
    { desc: 'trailing empty line', text: `o\n1\n${ROOT}\next\n\n` },
    { desc: 'missing final newline', text: `o\n1\n${ROOT}` },
    { desc: 'only two lines', text: 'o\n1\n' },
    { desc: 'empty text', text: '' },
    { desc: 'carriage return line endings', text: `o\r\n1\r\n${ROOT}\r\n` },
  ];
  for (const c of malformed) {
    it(`parse rejects: ${c.desc}`, () => assert.throws(() => parseCheckpoint(c.text), code('CHECKPOINT_MALFORMED')));
  }

  const good = fromWire(T.checkpoint);
  const unformattable: { desc: string; c: Checkpoint }[] = [
    { desc: 'empty origin', c: { ...good, origin: '' } },
    { desc: 'newline in origin', c: { ...good, origin: 'a\nb' } },
    { desc: 'negative size', c: { ...good, size: -1 } },
    { desc: 'fractional size', c: { ...good, size: 1.5 } },
    { desc: 'NaN size', c: { ...good, size: NaN } },
    { desc: 'size above MAX_SAFE_INTEGER', c: { ...good, size: 2 ** 53 } },
    { desc: 'root of 31 bytes', c: { ...good, rootHash: new Uint8Array(31) } },
    { desc: 'empty extension line', c: { ...good, extensions: [''] } },
    { desc: 'newline in extension line', c: { ...good, extensions: ['a\nb'] } },
  ];
  for (const c of unformattable) {
    it(`format rejects: ${c.desc}`, () => assert.throws(() => formatCheckpoint(c.c), code('CHECKPOINT_MALFORMED')));
  }
});

describe('signed checkpoints', () => {
  it('reproduces the test vector note and opens it', () => {
    assert.equal(signCheckpoint(fromWire(T.checkpoint), signer), T.note);
    const { checkpoint, verifiedBy } = openCheckpoint(T.note, [verifier], T.name);
    assert.deepEqual(checkpoint, fromWire(T.checkpoint));
    assert.deepEqual(verifiedBy, [verifier]);
  });
  it('opens the sum.golang.org checkpoint', () => {
    const { checkpoint } = openCheckpoint(
      V.sumGolangOrg.note,
      [parseVerifierKey(V.sumGolangOrg.verifierKey)],
      'go.sum database tree',
    );
    assert.equal(checkpoint.origin, 'go.sum database tree');
    assert.equal(checkpoint.size, 6476701);
    assert.equal(toBase64(checkpoint.rootHash), 'mb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=');
    assert.deepEqual(checkpoint, fromWire(V.sumGolangOrg.checkpoint));
  });
  it('checks the origin when asked', () => {
    assert.throws(() => openCheckpoint(T.note, [verifier], 'example.com/other'), code('CHECKPOINT_MALFORMED'));
    assert.equal(openCheckpoint(T.note, [verifier]).checkpoint.origin, T.name);
  });

  // A body that is not a checkpoint must be reported as a signature problem when the signature is
  // bad: the text of an untrusted note is never parsed.
  const junk = 'not a checkpoint\n';
  const ordering: { desc: string; note: string; want: string }[] = [
    { desc: 'malformed body signed by an unknown key', note: signNote(junk, [stranger]), want: 'NO_TRUSTED_SIGNATURE' },
    {
      desc: 'malformed body with a forged signature',
      note: signNote('o\n1\n' + ROOT + '\n', [signer]).replace(/^[^]*?\n\n/, junk + '\n'),
      want: 'SIGNATURE_INVALID',
    },
    {
      desc: 'malformed body with a malformed signature line',
      note: `${junk}\n- ${T.name} AAAA\n`,
      want: 'NOTE_MALFORMED',
    },
    { desc: 'tampered size', note: T.note.replace('\n8\n', '\n9\n'), want: 'SIGNATURE_INVALID' },
    { desc: 'malformed body properly signed', note: signNote(junk, [signer]), want: 'CHECKPOINT_MALFORMED' },
  ];
  for (const c of ordering) {
    it(`verifies before parsing: ${c.desc} -> ${c.want}`, () =>
      assert.throws(() => openCheckpoint(c.note, [verifier], T.name), code(c.want)));
  }
});
