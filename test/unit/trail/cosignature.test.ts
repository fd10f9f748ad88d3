// Witness cosignatures (c2sp.org/tlog-cosignature): the committed vectors, a second implementation
// written from the spec with node:crypto (no trail code), and table-driven rejections.
import assert from 'node:assert/strict';
import { createHash, createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  type WitnessSigner,
  cosign,
  generateWitnessKeyPair,
  parseWitnessSignerKey,
  parseWitnessVerifierKey,
  parseWitnessVerifierKeys,
  verifyCosignatures,
} from '../../../src/trail/cosignature.js';
import { signCheckpoint } from '../../../src/trail/checkpoint.js';
import { fromHex } from '../../../src/trail/hash.js';
import { generateKeyPair, parseSignerKey } from '../../../src/trail/keys.js';
import { signNote } from '../../../src/trail/note.js';
import { VECTORS_DIR } from '../../helpers/paths.js';

interface CosigVectors {
  specExample: { note: string; witnessName: string; keyId: string; time: number; message: string };
  transparencyDev: {
    witnessVerifierKey: string;
    ed25519VerifierKey: string;
    cosignature: { base64: string; keyId: string; time: number };
    notACosignature: string;
  };
  tailsealTest: {
    seed: string;
    name: string;
    keyId: string;
    signerKey: string;
    verifierKey: string;
    time: number;
    note: string;
    cosigned: string;
  };
}

const V = JSON.parse(readFileSync(join(VECTORS_DIR, 'cosignature.json'), 'utf8')) as CosigVectors;
const T = V.tailsealTest;
const EM = '\u2014';
const code = (c: string) => ({ name: 'TailsealError', code: c });
const witness = parseWitnessSignerKey(T.signerKey);
const trusted = parseWitnessVerifierKey(T.verifierKey);
const at = { nowSeconds: T.time };

// ---- an independent cosignature/v1 implementation, from the spec text only ----

const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex');
const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');

/** Key text `<name>+<id>+base64(type || 32 bytes)` → its raw bytes, checking the key ID per signed-note. */
function specKey(text: string, wantType: number): { name: string; id: number; key: Buffer } {
  const [name, idHex] = text.split('+', 2) as [string, string];
  const raw = Buffer.from(text.slice(name.length + idHex.length + 2), 'base64');
  assert.equal(raw[0], wantType);
  return { name, id: parseInt(idHex, 16), key: raw.subarray(1) };
}
function createHashId(name: string, typeAndKey: Buffer): number {
  // SHA-256(name || "\n" || type || key)[:4], big-endian (c2sp.org/signed-note, tlog-cosignature).
  return createHash('sha256')
    .update(Buffer.concat([Buffer.from(name + '\n'), typeAndKey]))
    .digest()
    .readUInt32BE(0);
}

function specMessage(checkpointText: string, time: number): Buffer {
  return Buffer.from(`cosignature/v1\ntime ${time}\n${checkpointText}`);
}

/** Checks every cosignature line of `note` by `vkey` the way the spec says; returns the times. */
function specVerify(note: string, vkey: string): number[] {
  const { name, id, key } = specKey(vkey, 0x04);
  assert.equal(createHashId(name, Buffer.concat([Buffer.of(0x04), key])), id);
  const pub = createPublicKey({ key: Buffer.concat([SPKI_ED25519, key]), format: 'der', type: 'spki' });
  const cut = note.lastIndexOf('\n\n');
  const text = note.slice(0, cut + 1);
  const times: number[] = [];
  for (const line of note.slice(cut + 2, -1).split('\n')) {
    const [dash, who, b64] = line.split(' ');
    assert.equal(dash, EM);
    const raw = Buffer.from(b64!, 'base64');
    if (who !== name || raw.readUInt32BE(0) !== id) continue;
    assert.equal(raw.length, 4 + 8 + 64);
    const time = Number(raw.readBigUInt64BE(4));
    assert.ok(verify(null, specMessage(text, time), pub, raw.subarray(12)), 'spec verify');
    times.push(time);
  }
  return times;
}

/** Adds a cosignature line the way the spec says, from a PRIVATE+KEY+ witness key. */
function specCosign(note: string, skey: string, time: number): string {
  const { name, id, key: seed } = specKey(skey.slice('PRIVATE+KEY+'.length), 0x04);
  const priv = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, seed]), format: 'der', type: 'pkcs8' });
  const pub = createPublicKey(priv).export({ format: 'der', type: 'spki' }).subarray(SPKI_ED25519.length);
  assert.equal(createHashId(name, Buffer.concat([Buffer.of(0x04), pub])), id);
  const text = note.slice(0, note.lastIndexOf('\n\n') + 1);
  const head = Buffer.alloc(12);
  head.writeUInt32BE(id, 0);
  head.writeBigUInt64BE(BigInt(time), 4);
  const sig = sign(null, specMessage(text, time), priv);
  return `${note}${EM} ${name} ${Buffer.concat([head, sig]).toString('base64')}\n`;
}

// ---- helpers ----

/** The cosigned note with its last line's payload (after the key ID) replaced. */
function withPayload(note: string, payload: Buffer): string {
  const lines = note.slice(0, -1).split('\n');
  const [dash, name, b64] = lines.at(-1)!.split(' ');
  const id = Buffer.from(b64!, 'base64').subarray(0, 4);
  lines[lines.length - 1] = `${dash} ${name} ${Buffer.concat([id, payload]).toString('base64')}`;
  return lines.join('\n') + '\n';
}
function lastPayload(note: string): Buffer {
  return Buffer.from(note.slice(0, -1).split('\n').at(-1)!.split(' ')[2]!, 'base64').subarray(4);
}
function otherWitness(fill: number): { signer: WitnessSigner; vkey: string } {
  const k = generateWitnessKeyPair(`witness${fill}.test/w`, new Uint8Array(32).fill(fill));
  return { signer: parseWitnessSignerKey(k.signerKey), vkey: k.verifierKey };
}

describe('cosignature vectors', () => {
  it('reproduces the tailseal witness key and its cosigned note byte for byte', () => {
    const keys = generateWitnessKeyPair(T.name, fromHex(T.seed));
    assert.deepEqual(keys, { signerKey: T.signerKey, verifierKey: T.verifierKey });
    assert.equal(cosign(T.note, witness, T.time), T.cosigned);
    assert.deepEqual(verifyCosignatures(T.cosigned, [trusted], at), [
      { name: T.name, keyId: parseInt(T.keyId, 16), time: T.time },
    ]);
  });
  it('agrees with an implementation written from the spec (node:crypto), both ways', () => {
    assert.deepEqual(specVerify(T.cosigned, T.verifierKey), [T.time]);
    // Ed25519 is deterministic: the spec's signer must write the same line.
    assert.equal(specCosign(T.note, T.signerKey, T.time), T.cosigned);
    const later = specCosign(T.note, T.signerKey, T.time + 7);
    assert.deepEqual(verifyCosignatures(later, [trusted], at), [
      { name: T.name, keyId: trusted.keyId, time: T.time + 7 },
    ]);
  });
  it("reads the spec example's line layout and ignores it without its witness key", () => {
    assert.deepEqual(verifyCosignatures(V.specExample.note, [trusted], at), []);
  });
  it('parses the published type-0x04 witness key of transparency-dev/formats', () => {
    assert.equal(parseWitnessVerifierKey(V.transparencyDev.witnessVerifierKey).keyId, 0xda77ade7);
  });
});

describe('cosign and verifyCosignatures', () => {
  it('adds one line per witness and finds each; a line by an unknown key is ignored', () => {
    const b = otherWitness(9);
    const two = cosign(cosign(T.note, witness, T.time), b.signer, T.time - 5);
    const found = verifyCosignatures(two, [trusted, parseWitnessVerifierKey(b.vkey)], at);
    assert.deepEqual(
      found.map((c) => [c.name, c.time]),
      [
        [T.name, T.time],
        [b.signer.name, T.time - 5],
      ],
    );
    assert.deepEqual(verifyCosignatures(two, [parseWitnessVerifierKey(b.vkey)], at).length, 1);
    assert.deepEqual(verifyCosignatures(two, [], at), []);
  });
  it('refuses to cosign twice, or a note whose text is no checkpoint', () => {
    assert.throws(() => cosign(T.cosigned, witness, T.time + 1), code('COSIGNATURE_MALFORMED'));
    const log = parseSignerKey(generateKeyPair('tailseal.test/x', new Uint8Array(32).fill(3)).signerKey);
    assert.throws(() => cosign(signNote('just a note\n', [log]), witness, T.time), code('CHECKPOINT_MALFORMED'));
    assert.throws(() => cosign(T.note, witness, -1), code('COSIGNATURE_MALFORMED'));
    assert.throws(() => cosign(T.note, witness, 1.5), code('COSIGNATURE_MALFORMED'));
  });
  it('accepts a time up to maxFutureSeconds ahead, and refuses one beyond it', () => {
    assert.equal(verifyCosignatures(T.cosigned, [trusted], { nowSeconds: T.time - 300 }).length, 1);
    assert.throws(
      () => verifyCosignatures(T.cosigned, [trusted], { nowSeconds: T.time - 301 }),
      code('COSIGNATURE_TIME'),
    );
    assert.equal(
      verifyCosignatures(T.cosigned, [trusted], { nowSeconds: T.time - 3600, maxFutureSeconds: 3600 }).length,
      1,
    );
    assert.equal(verifyCosignatures(T.cosigned, [trusted], { nowSeconds: 0, maxFutureSeconds: 2 ** 40 }).length, 1);
  });

  const payload = lastPayload(T.cosigned);
  const timeTo = (t: bigint) => {
    const p = Buffer.from(payload);
    p.writeBigUInt64BE(t, 0);
    return p;
  };
  const flip = (i: number) => {
    const p = Buffer.from(payload);
    p[i] = p[i]! ^ 1;
    return p;
  };
  const cases: [string, string, string][] = [
    [
      'a plain Ed25519 signature (64 bytes, no time)',
      withPayload(T.cosigned, payload.subarray(8)),
      'COSIGNATURE_MALFORMED',
    ],
    ['a payload one byte short', withPayload(T.cosigned, payload.subarray(1)), 'COSIGNATURE_MALFORMED'],
    [
      'a payload one byte long',
      withPayload(T.cosigned, Buffer.concat([payload, Buffer.of(0)])),
      'COSIGNATURE_MALFORMED',
    ],
    ['a timestamp over 2^63 - 1', withPayload(T.cosigned, timeTo(1n << 63n)), 'COSIGNATURE_MALFORMED'],
    ['the timestamp changed', withPayload(T.cosigned, timeTo(BigInt(T.time - 1))), 'SIGNATURE_INVALID'],
    ['a signature bit flipped', withPayload(T.cosigned, flip(40)), 'SIGNATURE_INVALID'],
    ['the size changed', T.cosigned.replace('\n8\n', '\n9\n'), 'SIGNATURE_INVALID'],
    ['the text is no checkpoint', T.cosigned.replace(/^[^\n]*\n8\n/, 'x\n'), 'CHECKPOINT_MALFORMED'],
    ['no blank line', T.cosigned.replace('\n\n', '\n'), 'NOTE_MALFORMED'],
    ['a line without a key ID', T.cosigned.slice(0, -1) + `\n${EM} ${T.name} AAA=\n`, 'NOTE_MALFORMED'],
  ];
  for (const [what, note, want] of cases) {
    it(`rejects a trusted witness's line with ${what}: ${want}`, () => {
      assert.throws(() => verifyCosignatures(note, [trusted], at), code(want));
    });
  }
  it('ignores the same broken lines when their witness is not trusted', () => {
    const b = parseWitnessVerifierKey(otherWitness(9).vkey);
    for (const [, note, want] of cases.slice(0, 7)) {
      assert.deepEqual(verifyCosignatures(note, [b], at), [], want);
    }
  });
  it('does not take a witness key for the log key, nor a log signature for a cosignature', () => {
    const logVerifierKeyBytes = T.verifierKey.split('+')[2]!;
    // The witness's public key under type 0x01 has another key ID: the log line is not its.
    assert.deepEqual(verifyCosignatures(T.note, [trusted], at), []);
    assert.throws(
      () => parseWitnessVerifierKey(`${T.name}+${T.keyId}+A${logVerifierKeyBytes.slice(1)}`),
      code('KEY_INVALID'),
    );
  });
});

describe('witness key text', () => {
  const table: [string, string][] = [
    ['a type-0x01 (log) key', V.transparencyDev.ed25519VerifierKey],
    ['a wrong key ID', T.verifierKey.replace(T.keyId, '00000000')],
    ['a key ID not hex', T.verifierKey.replace(T.keyId, 'zzzzzzzz')],
    ['two parts only', T.verifierKey.split('+').slice(0, 2).join('+')],
    ['bad base64', `${T.name}+${T.keyId}+!!!!`],
    ['a short key', `${T.name}+${T.keyId}+BAEC`],
    ['a name with a space', `a b+${T.keyId}+${T.verifierKey.split('+')[2]}`],
    ['an empty name', `+${T.keyId}+${T.verifierKey.split('+')[2]}`],
  ];
  for (const [what, vkey] of table) {
    it(`refuses a verifier key with ${what}: KEY_INVALID`, () => {
      assert.throws(() => parseWitnessVerifierKey(vkey), code('KEY_INVALID'));
    });
  }
  it('refuses a log signer key as a witness key, and reads key files with comments', () => {
    const log = generateKeyPair('tailseal.test/x', new Uint8Array(32).fill(3));
    assert.throws(() => parseWitnessSignerKey(log.signerKey), code('KEY_INVALID'));
    assert.throws(() => parseWitnessSignerKey(T.verifierKey), code('KEY_INVALID'));
    const keys = parseWitnessVerifierKeys(`# witnesses\n${T.verifierKey}\n\n${V.transparencyDev.witnessVerifierKey}\n`);
    assert.deepEqual(
      keys.map((k) => k.name),
      [T.name, 'remora.n621.de'],
    );
    assert.throws(() => parseWitnessVerifierKeys('# none\n'), code('KEY_INVALID'));
  });
  it('gives a signer its verifier key, which verifies its cosignatures', () => {
    const w = otherWitness(11);
    assert.equal(w.signer.verifierKey, w.vkey);
    const log = parseSignerKey(generateKeyPair('tailseal.test/x', new Uint8Array(32).fill(3)).signerKey);
    const note = signCheckpoint(
      { origin: 'tailseal.test/x', size: 0, rootHash: new Uint8Array(32), extensions: [] },
      log,
    );
    assert.deepEqual(specVerify(cosign(note, w.signer, 5), w.vkey), [5]);
  });
});
