// Proof bundles (src/trail/bundle.ts, docs/trail-format.md §7): the committed vectors of
// test/vectors/proof.json, parse/serialize symmetry, and the shape checks, table-driven.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  type ConsistencyBundle,
  type InclusionBundle,
  parseProofBundle,
  serializeProofBundle,
  verifyProofBundle,
} from '../../../src/trail/bundle.js';
import { generateKeyPair, parseVerifierKey } from '../../../src/trail/keys.js';
import { VECTORS_DIR } from '../../helpers/paths.js';

interface ProofVectors {
  verifierKey: string;
  bundle: { text: string };
  twoProofs: { text: string };
  reject: { about: string; bundle: string; code: string }[];
  consistency: { text: string; reject: { about: string; bundle: string; code: string }[] };
}
const V = JSON.parse(readFileSync(join(VECTORS_DIR, 'proof.json'), 'utf8')) as ProofVectors;
const verifiers = [parseVerifierKey(V.verifierKey)];
const MALFORMED = { name: 'TailsealError', code: 'BUNDLE_MALFORMED' };

describe('proof bundles', () => {
  it('the vector bundles verify and say what they prove', () => {
    const [one] = verifyProofBundle(parseProofBundle(V.bundle.text) as InclusionBundle, verifiers);
    assert.equal(one!.envelope.seq, 3);
    assert.equal(one!.envelope.stream, 'opa');
    assert.equal(one!.treeSize, 5);
    assert.match(one!.origin, /\/opa$/);
    assert.deepEqual(one!.signedBy, ['tailseal.test/trail']);
    const parsed = parseProofBundle(V.twoProofs.text);
    assert.equal(parsed.kind, 'inclusion');
    const two = verifyProofBundle(parsed as InclusionBundle, verifiers);
    assert.deepEqual(
      two.map((p) => [p.envelope.seq, p.treeSize]),
      [
        [0, 3],
        [4, 5],
      ],
    );
  });

  it('parse and serialize are symmetric', () => {
    for (const text of [V.bundle.text, V.twoProofs.text]) {
      const b = parseProofBundle(text);
      assert.equal(serializeProofBundle(b), text);
      assert.deepEqual(parseProofBundle(serializeProofBundle(b)), b);
    }
  });

  for (const r of V.reject) {
    it(`rejects: ${r.about} (${r.code})`, () => {
      assert.throws(() => verifyProofBundle(parseProofBundle(r.bundle), verifiers), { code: r.code });
    });
  }

  it('the consistency vector verifies, round-trips, and its reject cases fail with their codes', () => {
    const b = parseProofBundle(V.consistency.text);
    assert.equal(b.kind, 'consistency');
    assert.equal(serializeProofBundle(b), V.consistency.text);
    const c = verifyProofBundle(b as ConsistencyBundle, verifiers);
    assert.deepEqual([c.oldSize, c.newSize, c.signedBy], [3, 5, ['tailseal.test/trail']]);
    for (const r of V.consistency.reject)
      assert.throws(() => verifyProofBundle(parseProofBundle(r.bundle), verifiers), { code: r.code }, r.about);
  });

  it('rejects a bundle signed by a key it was not given', () => {
    const other = parseVerifierKey(generateKeyPair('someone.else', new Uint8Array(32).fill(7)).verifierKey);
    assert.throws(() => verifyProofBundle(parseProofBundle(V.bundle.text), [other]), {
      code: 'NO_TRUSTED_SIGNATURE',
    });
  });

  it('the second proof of a bundle failing names its index', () => {
    const o = JSON.parse(V.twoProofs.text) as { proofs: { tree_size: number }[] };
    o.proofs[1]!.tree_size = 4;
    assert.throws(
      () => verifyProofBundle(parseProofBundle(JSON.stringify(o)), verifiers),
      (err: unknown) => {
        const e = err as { code: string; details: { proof: number } };
        return e.code === 'PROOF_INVALID' && e.details.proof === 1;
      },
    );
  });

  it('checks every member: types, encodings, unknown and missing members', () => {
    const base = JSON.parse(V.bundle.text) as Record<string, unknown> & { proofs: Record<string, unknown>[] };
    const withProof = (k: string, v: unknown) => JSON.stringify({ ...base, proofs: [{ ...base.proofs[0], [k]: v }] });
    const without = (k: string) => {
      const p = { ...base.proofs[0] };
      delete p[k];
      return JSON.stringify({ ...base, proofs: [p] });
    };
    const table: [string, string][] = [
      ['array at top', '[]'],
      ['null', 'null'],
      ['wrong bundle type', JSON.stringify({ ...base, bundle: 'other' })],
      ['version as string', JSON.stringify({ ...base, version: '1' })],
      ['unknown kind', JSON.stringify({ ...base, kind: 'exclusion' })],
      ['proofs not an array', JSON.stringify({ ...base, proofs: {} })],
      ['proof not an object', JSON.stringify({ ...base, proofs: [1] })],
      ['unknown proof member', withProof('note', 'x')],
      ['seq negative', withProof('seq', -1)],
      ['seq fractional', withProof('seq', 1.5)],
      ['seq beyond 2^53', withProof('seq', 2 ** 53)],
      ['tree_size as string', withProof('tree_size', '5')],
      ['entry not a string', withProof('entry', { v: 1 })],
      ['checkpoint not a string', withProof('checkpoint', null)],
      ['audit path not an array', withProof('audit_path', 'AAAA')],
      ['audit path hash not base64', withProof('audit_path', ['not base64!'])],
      ['audit path hash of 31 bytes', withProof('audit_path', [Buffer.alloc(31).toString('base64')])],
      ['audit path hash unpadded', withProof('audit_path', [Buffer.alloc(32).toString('base64').replace('=', '')])],
      ['audit path too long', withProof('audit_path', Array(65).fill(Buffer.alloc(32).toString('base64')))],
      ['missing stream', without('stream')],
      ['missing audit_path', without('audit_path')],
    ];
    for (const [what, text] of table) assert.throws(() => parseProofBundle(text), MALFORMED, what);
  });

  it('an entry line that is not exactly one canonical entry is ENTRY_MALFORMED', () => {
    const base = JSON.parse(V.bundle.text) as { proofs: { entry: string }[] };
    const entry = base.proofs[0]!.entry;
    const cases = [entry.replace('{"v":1,', '{"v":1 ,'), entry + entry, entry.slice(0, -1), ''];
    for (const e of cases) {
      base.proofs[0]!.entry = e;
      assert.throws(() => verifyProofBundle(parseProofBundle(JSON.stringify(base)), verifiers), {
        code: 'ENTRY_MALFORMED',
      });
    }
  });
});
