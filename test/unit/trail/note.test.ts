import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fromBase64Strict, fromHex, toBase64 } from '../../../src/trail/hash.js';
import {
  generateKeyPair,
  keyId,
  parseSignerKey,
  parseVerifierKey,
  verifierKeyFromSigner,
} from '../../../src/trail/keys.js';
import { MAX_NOTE_SIGNATURES, openNote, signNote } from '../../../src/trail/note.js';
import { VECTORS_DIR } from '../../helpers/paths.js';

interface NoteVectors {
  peterNeumann: { signerKey: string; verifierKey: string; keyId: string; text: string; note: string };
  sumGolangOrg: { verifierKey: string; keyId: string; note: string };
  tailsealTest: {
    seed: string;
    name: string;
    keyId: string;
    signerKey: string;
    verifierKey: string;
    text: string;
    note: string;
  };
}

const V = JSON.parse(readFileSync(join(VECTORS_DIR, 'note.json'), 'utf8')) as NoteVectors;
const PETER = V.peterNeumann;
const peterSigner = parseSignerKey(PETER.signerKey);
const peterVerifier = parseVerifierKey(PETER.verifierKey);
const sumdbVerifier = parseVerifierKey(V.sumGolangOrg.verifierKey);
const other = generateKeyPair('example.com/other', new Uint8Array(32).fill(7));
const otherSigner = parseSignerKey(other.signerKey);
const otherVerifier = parseVerifierKey(other.verifierKey);
const code = (c: string) => ({ name: 'TailsealError', code: c });
const EM = '\u2014';

// The key bytes of a verifier key string (after the type byte).
function publicKeyOf(vkey: string): Uint8Array {
  return fromBase64Strict(vkey.split('+').slice(2).join('+'), 'test key').subarray(1);
}
// A verifier key string for `name` and `key` bytes, with the correct key ID unless `id` is given.
function vkeyFor(name: string, key: Uint8Array, id?: number, type = 1): string {
  const idHex = (id ?? keyId(name, key.subarray(1))).toString(16).padStart(8, '0');
  const raw = Uint8Array.from(key);
  raw[0] = type;
  return `${name}+${idHex}+${toBase64(raw)}`;
}

describe('signed note vectors', () => {
  it('reproduces the PeterNeumann signature byte for byte from the signer key', () => {
    assert.equal(signNote(PETER.text, [peterSigner]), PETER.note);
  });
  it('opens the PeterNeumann note with its verifier key', () => {
    const { text, verifiedBy } = openNote(PETER.note, [peterVerifier]);
    assert.equal(text, PETER.text);
    assert.deepEqual(
      verifiedBy.map((v) => v.name),
      ['PeterNeumann'],
    );
  });
  it('opens the sum.golang.org checkpoint note', () => {
    const { text, verifiedBy } = openNote(V.sumGolangOrg.note, [sumdbVerifier]);
    assert.equal(text, 'go.sum database tree\n6476701\nmb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=\n');
    assert.equal(verifiedBy[0], sumdbVerifier);
  });
  it('reproduces the tailseal test key and its note', () => {
    const keys = generateKeyPair(V.tailsealTest.name, fromHex(V.tailsealTest.seed));
    assert.deepEqual(keys, { signerKey: V.tailsealTest.signerKey, verifierKey: V.tailsealTest.verifierKey });
    assert.equal(signNote(V.tailsealTest.text, [parseSignerKey(keys.signerKey)]), V.tailsealTest.note);
    assert.equal(openNote(V.tailsealTest.note, [parseVerifierKey(keys.verifierKey)]).text, V.tailsealTest.text);
  });
});

describe('keys', () => {
  it('computes key IDs as SHA-256(name || 0x0A || 0x01 || pk)[:4]', () => {
    assert.equal(keyId('PeterNeumann', publicKeyOf(PETER.verifierKey)), 0xc74f20a3);
    assert.equal(keyId('sum.golang.org', publicKeyOf(V.sumGolangOrg.verifierKey)), 0x033de0ae);
    assert.equal(peterSigner.keyId, 0xc74f20a3);
    assert.equal(peterVerifier.keyId, parseInt(PETER.keyId, 16));
    assert.equal(parseVerifierKey(V.tailsealTest.verifierKey).keyId, parseInt(V.tailsealTest.keyId, 16));
  });
  it('derives the verifier key from the signer key', () => {
    assert.equal(verifierKeyFromSigner(PETER.signerKey), PETER.verifierKey);
  });
  it('generates fresh key pairs that sign and verify', () => {
    const a = generateKeyPair('example.com/log');
    const b = generateKeyPair('example.com/log');
    assert.notEqual(a.signerKey, b.signerKey);
    assert.equal(verifierKeyFromSigner(a.signerKey), a.verifierKey);
    assert.match(a.signerKey, /^PRIVATE\+KEY\+example\.com\/log\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}$/);
    const note = signNote('hello\n', [parseSignerKey(a.signerKey)]);
    assert.equal(openNote(note, [parseVerifierKey(a.verifierKey)]).text, 'hello\n');
    assert.throws(() => openNote(note, [parseVerifierKey(b.verifierKey)]), code('NO_TRUSTED_SIGNATURE'));
  });

  const pk = fromBase64Strict(PETER.verifierKey.split('+')[2], 'k');
  const badVerifierKeys: { desc: string; vkey: string }[] = [
    { desc: 'wrong key id', vkey: vkeyFor('PeterNeumann', pk, 0xc74f20a4) },
    { desc: 'key id of another name', vkey: vkeyFor('PeterNeumann', pk, keyId('Peter', pk.subarray(1))) },
    { desc: 'key id too short', vkey: PETER.verifierKey.replace('+c74f20a3+', '+c74f20a+') },
    { desc: 'key id not hex', vkey: PETER.verifierKey.replace('+c74f20a3+', '+c74f20ag+') },
    { desc: 'signature type 2', vkey: vkeyFor('PeterNeumann', pk, undefined, 2) },
    { desc: 'short key', vkey: `PeterNeumann+c74f20a3+${toBase64(pk.subarray(0, 32))}` },
    { desc: 'long key', vkey: `PeterNeumann+c74f20a3+${toBase64(Uint8Array.from([...pk, 0]))}` },
    { desc: "name with '+'", vkey: `Peter+Neumann+c74f20a3+${toBase64(pk)}` },
    { desc: 'name with a space', vkey: vkeyFor('Peter Neumann', pk) },
    { desc: 'empty name', vkey: vkeyFor('', pk) },
    { desc: 'missing key', vkey: 'PeterNeumann+c74f20a3' },
    { desc: 'trailing newline (callers trim files)', vkey: `${PETER.verifierKey}\n` },
    { desc: 'URL-safe base64', vkey: PETER.verifierKey.replace('/', '_') },
    { desc: 'not an Ed25519 point', vkey: vkeyFor('bad', Uint8Array.from([1, ...new Uint8Array(32).fill(0xff)])) },
  ];
  for (const c of badVerifierKeys) {
    it(`parseVerifierKey rejects: ${c.desc}`, () => assert.throws(() => parseVerifierKey(c.vkey), code('KEY_INVALID')));
  }

  const seedB64 = PETER.signerKey.split('+').slice(4).join('+');
  const seed = fromBase64Strict(seedB64, 's');
  const badSignerKeys: { desc: string; skey: string }[] = [
    { desc: 'no PRIVATE+KEY prefix', skey: PETER.signerKey.slice('PRIVATE+KEY+'.length) },
    { desc: 'wrong key id', skey: PETER.signerKey.replace('+c74f20a3+', '+c74f20a4+') },
    {
      desc: 'signature type 2',
      skey: `PRIVATE+KEY+PeterNeumann+c74f20a3+${toBase64(Uint8Array.from([2, ...seed.subarray(1)]))}`,
    },
    {
      desc: 'short seed',
      skey: `PRIVATE+KEY+PeterNeumann+c74f20a3+${toBase64(fromBase64Strict(seedB64, 's').subarray(0, 32))}`,
    },
    { desc: 'empty name', skey: `PRIVATE+KEY++c74f20a3+${seedB64}` },
  ];
  for (const c of badSignerKeys) {
    it(`parseSignerKey rejects: ${c.desc}, without echoing the key`, () => {
      assert.throws(
        () => parseSignerKey(c.skey),
        (err: Error) => {
          assert.equal((err as { code?: string }).code, 'KEY_INVALID');
          assert.ok(!err.message.includes(seedB64.slice(4, 20)), err.message);
          return true;
        },
      );
    });
  }
  it('generateKeyPair rejects a bad name or seed', () => {
    assert.throws(() => generateKeyPair('a+b'), code('KEY_INVALID'));
    assert.throws(() => generateKeyPair('a b'), code('KEY_INVALID'));
    assert.throws(() => generateKeyPair('ok', new Uint8Array(31)), code('KEY_INVALID'));
  });
});

describe('openNote', () => {
  it('ignores unknown signatures while a known one verifies', () => {
    const note = signNote(PETER.text, [otherSigner, peterSigner]);
    const { verifiedBy } = openNote(note, [peterVerifier, sumdbVerifier]);
    assert.deepEqual(verifiedBy, [peterVerifier]);
  });
  it('reports every trusted signer once', () => {
    const note = signNote(PETER.text, [peterSigner, otherSigner, peterSigner]);
    assert.deepEqual(openNote(note, [otherVerifier, peterVerifier]).verifiedBy, [peterVerifier, otherVerifier]);
  });
  it('splits text and signatures at the last blank line', () => {
    const text = 'para one\n\npara two\n';
    assert.equal(openNote(signNote(text, [peterSigner]), [peterVerifier]).text, text);
  });
  it(`accepts ${MAX_NOTE_SIGNATURES} signatures`, () => {
    const unknown = `${EM} unknown.example ${toBase64(new Uint8Array(68))}\n`;
    const note = signNote(PETER.text, [peterSigner]) + unknown.repeat(MAX_NOTE_SIGNATURES - 1);
    assert.equal(openNote(note, [peterVerifier]).text, PETER.text);
  });

  const sigLine = PETER.note.slice(PETER.text.length + 1);
  const sigB64 = sigLine.split(' ')[2].trimEnd();
  const malformed: { desc: string; note: string }[] = [
    { desc: 'missing blank line', note: PETER.text + sigLine },
    { desc: 'no em dash (hyphen)', note: `${PETER.text}\n${sigLine.replace(EM, '-')}` },
    { desc: 'en dash instead of em dash', note: `${PETER.text}\n${sigLine.replace(EM, '\u2013')}` },
    { desc: 'two spaces after the dash', note: `${PETER.text}\n${sigLine.replace(`${EM} `, `${EM}  `)}` },
    { desc: 'no space before the signature', note: `${PETER.text}\n${EM} PeterNeumann\n` },
    { desc: 'bad base64 characters', note: `${PETER.text}\n${sigLine.replace(sigB64, sigB64.replace('/', '_'))}` },
    { desc: 'base64 without padding', note: `${PETER.text}\n${sigLine.replace(sigB64, sigB64.replace(/=$/, ''))}` },
    { desc: 'short signature (4 bytes)', note: `${PETER.text}\n${EM} PeterNeumann ${toBase64(fromHex('c74f20a3'))}\n` },
    { desc: 'empty signature', note: `${PETER.text}\n${EM} PeterNeumann \n` },
    { desc: 'no final newline', note: PETER.note.slice(0, -1) },
    { desc: 'empty signature block', note: `${PETER.text}\n` },
    { desc: 'carriage return line ending', note: PETER.note.replace(/\n$/, '\r\n') },
    { desc: 'control character in the text', note: `x\u0007${PETER.note}` },
    { desc: 'lone surrogate in the text', note: `\uD800${PETER.note}` },
    {
      desc: `more than ${MAX_NOTE_SIGNATURES} signatures`,
      note: PETER.note + `${EM} unknown.example ${toBase64(new Uint8Array(68))}\n`.repeat(MAX_NOTE_SIGNATURES),
    },
  ];
  for (const c of malformed) {
    it(`rejects as NOTE_MALFORMED: ${c.desc}`, () =>
      assert.throws(() => openNote(c.note, [peterVerifier]), code('NOTE_MALFORMED')));
  }

  const sig = fromBase64Strict(sigB64, 'sig');
  sig[10] ^= 1;
  const invalid: { desc: string; note: string }[] = [
    { desc: 'tampered text', note: PETER.note.replace('problem,', 'Problem,') },
    { desc: 'flipped signature bit', note: `${PETER.text}\n${EM} PeterNeumann ${toBase64(sig)}\n` },
    { desc: 'truncated signature', note: `${PETER.text}\n${EM} PeterNeumann ${toBase64(sig.subarray(0, 67))}\n` },
    {
      desc: 'bad known signature next to a good one',
      note: `${signNote(PETER.text, [peterSigner])}${EM} PeterNeumann ${toBase64(sig)}\n`,
    },
  ];
  for (const c of invalid) {
    it(`rejects as SIGNATURE_INVALID: ${c.desc}`, () =>
      assert.throws(() => openNote(c.note, [peterVerifier]), code('SIGNATURE_INVALID')));
  }

  const untrusted: { desc: string; note: string; verifiers: (typeof peterVerifier)[] }[] = [
    { desc: 'only unknown keys', note: PETER.note, verifiers: [sumdbVerifier, otherVerifier] },
    { desc: 'no verifiers', note: PETER.note, verifiers: [] },
    {
      desc: 'known name with another key id',
      note: PETER.note.replace(`${EM} PeterNeumann x08go`, `${EM} PeterNeumann x08gp`),
      verifiers: [peterVerifier],
    },
    {
      desc: 'known key id under another name',
      note: PETER.note.replace(`${EM} PeterNeumann`, `${EM} PeterNeumann2`),
      verifiers: [peterVerifier],
    },
  ];
  for (const c of untrusted) {
    it(`rejects as NO_TRUSTED_SIGNATURE: ${c.desc}`, () =>
      assert.throws(() => openNote(c.note, c.verifiers), code('NO_TRUSTED_SIGNATURE')));
  }
});

describe('signNote', () => {
  const bad: { desc: string; text: string }[] = [
    { desc: 'text without final newline', text: 'hello' },
    { desc: 'empty text', text: '' },
    { desc: 'tab in the text', text: 'a\tb\n' },
    { desc: 'carriage return in the text', text: 'a\r\n' },
  ];
  for (const c of bad) {
    it(`rejects as NOTE_MALFORMED: ${c.desc}`, () =>
      assert.throws(() => signNote(c.text, [peterSigner]), code('NOTE_MALFORMED')));
  }
  it('rejects an empty signer list', () => assert.throws(() => signNote('x\n', []), code('NOTE_MALFORMED')));
});
