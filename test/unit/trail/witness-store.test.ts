// The witness store's names and the choice of each origin's newest witnessed checkpoint.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { signCheckpoint } from '../../../src/trail/checkpoint.js';
import {
  cosign,
  generateWitnessKeyPair,
  parseWitnessSignerKey,
  parseWitnessVerifierKey,
} from '../../../src/trail/cosignature.js';
import { generateKeyPair, parseSignerKey } from '../../../src/trail/keys.js';
import { cosignedObjectName, newestWitnessed, parseCosignedObjectName } from '../../../src/trail/witness-store.js';

const code = (c: string) => ({ name: 'TailsealError', code: c });
const ORIGIN = 'tailseal.test/trail/opa';
const log = parseSignerKey(generateKeyPair(ORIGIN, new Uint8Array(32).fill(1)).signerKey);
const witnesses = [1, 2].map((i) => {
  const k = generateWitnessKeyPair(`w${i}.test/witness`, new Uint8Array(32).fill(0x40 + i));
  return { signer: parseWitnessSignerKey(k.signerKey), verifier: parseWitnessVerifierKey(k.verifierKey) };
});
const [w1, w2] = witnesses as [(typeof witnesses)[0], (typeof witnesses)[0]];
const NOW = 1_764_400_000;
const note = (size: number, fill = size) =>
  signCheckpoint({ origin: ORIGIN, size, rootHash: new Uint8Array(32).fill(fill), extensions: [] }, log);
const stored = (size: number, by: typeof w1, t = NOW, fill = size) => ({
  name: cosignedObjectName(ORIGIN, size, t),
  note: cosign(note(size, fill), by.signer, t),
});

describe('witness store names', () => {
  it('names <origin>/<size, 20 digits>-<time>.cosigned and reads the name back', () => {
    const name = cosignedObjectName(ORIGIN, 42, NOW);
    assert.equal(name, `${ORIGIN}/00000000000000000042-${NOW}.cosigned`);
    assert.deepEqual(parseCosignedObjectName(name), { origin: ORIGIN, size: 42, time: NOW });
  });
  for (const origin of ['', '../x', 'a//b', 'a/./b', 'a b', 'a+b', 'a\\b', '/abs', 'tr\u00e9s']) {
    it(`refuses to file origin ${JSON.stringify(origin)}`, () => {
      assert.throws(() => cosignedObjectName(origin, 1, NOW), code('COSIGNATURE_MALFORMED'));
    });
  }
  for (const name of [
    `${ORIGIN}/42-${NOW}.cosigned`,
    `${ORIGIN}/00000000000000000042-0${NOW}.cosigned`,
    `${ORIGIN}/00000000000000000042-${NOW}.cosigned.tmp`,
    `00000000000000000042-${NOW}.cosigned`,
    `../00000000000000000042-${NOW}.cosigned`,
    `${ORIGIN}/99999999999999999999-1.cosigned`,
  ]) {
    it(`reads ${JSON.stringify(name)} as no witness store name`, () => {
      assert.equal(parseCosignedObjectName(name), undefined);
    });
  }
});

describe('newestWitnessed', () => {
  const verifiers = [w1.verifier, w2.verifier];
  it('picks the largest checkpoint with enough cosignatures, merging objects of the same checkpoint', () => {
    const objs = [stored(3, w1), stored(3, w2, NOW + 1), stored(5, w1)];
    const one = newestWitnessed(objs, verifiers, 1, { nowSeconds: NOW });
    assert.equal(one.witnessed.get(ORIGIN)?.size, 5);
    const two = newestWitnessed(objs, verifiers, 2, { nowSeconds: NOW });
    assert.equal(two.witnessed.get(ORIGIN)?.size, 3);
    assert.deepEqual(
      two.witnessed.get(ORIGIN)?.cosignatures.map((c) => c.name),
      ['w1.test/witness', 'w2.test/witness'],
    );
    const three = newestWitnessed(objs, verifiers, 3, { nowSeconds: NOW });
    assert.equal(three.witnessed.size, 0);
    assert.equal(three.short.get(ORIGIN), 2);
  });
  it('ignores objects by untrusted witnesses and names that are no witness store names', () => {
    const objs = [stored(5, w2), { name: 'README', note: 'x' }];
    const r = newestWitnessed(objs, [w1.verifier], 1, { nowSeconds: NOW });
    assert.equal(r.witnessed.size, 0);
    assert.equal(r.short.size, 0);
  });
  it('refuses an object whose name disagrees with its checkpoint', () => {
    const o = stored(5, w1);
    const moved = { name: cosignedObjectName(ORIGIN, 6, NOW), note: o.note };
    assert.throws(() => newestWitnessed([moved], verifiers, 1, { nowSeconds: NOW }), code('COSIGNATURE_MALFORMED'));
  });
  it('reports two witnessed checkpoints of one size with different roots as a fork', () => {
    const objs = [stored(5, w1), stored(5, w2, NOW, 99)];
    assert.throws(() => newestWitnessed(objs, verifiers, 1, { nowSeconds: NOW }), code('CHECKPOINT_FORK'));
  });
});
