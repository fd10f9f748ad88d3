import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EMPTY_ROOT, fromHex, hashChildren, hashLeaf, toHex } from '../../../src/trail/hash.js';
import { CompactRange, MAX_PROOF_LENGTH, verifyConsistency, verifyInclusion } from '../../../src/trail/merkle.js';
import { consistencyProof, inclusionProof, rootFromLeafHashes } from '../../helpers/merkle-reference.js';
import { VECTORS_DIR } from '../../helpers/paths.js';

interface InclusionCase {
  index: number;
  size: number;
  proof: string[];
}
interface ConsistencyCase {
  size1: number;
  size2: number;
  proof: string[];
}
interface MerkleVectors {
  hashLeaf: { data: string; hash: string }[];
  hashChildren: { left: string; right: string; hash: string }[];
  rfc6962Tree: {
    leafData: string[];
    roots: { size: number; root: string }[];
    inclusion: InclusionCase[];
    consistency: ConsistencyCase[];
  };
  generated: { roots: { size: number; root: string }[]; inclusion: InclusionCase[]; consistency: ConsistencyCase[] };
}

const V = JSON.parse(readFileSync(join(VECTORS_DIR, 'merkle.json'), 'utf8')) as MerkleVectors;
const PROOF_INVALID = { name: 'TailsealError', code: 'PROOF_INVALID' };
const STATE_CORRUPT = { name: 'TailsealError', code: 'STATE_CORRUPT' };

// Leaf i of the generated vectors: hashLeaf(uint32 big-endian i).
function leaf(i: number): Uint8Array {
  const d = new Uint8Array(4);
  new DataView(d.buffer).setUint32(0, i, false);
  return hashLeaf(d);
}
const LEAVES = Array.from({ length: 70 }, (_, i) => leaf(i));
const KAT_LEAVES = V.rfc6962Tree.leafData.map((d) => hashLeaf(fromHex(d)));
const rootOf = (leaves: Uint8Array[]) => rootFromLeafHashes(leaves);
const flip = (b: Uint8Array, bit = 0) => {
  const c = Uint8Array.from(b);
  c[Math.floor(bit / 8)] ^= 1 << (bit % 8);
  return c;
};

describe('hashing known answers', () => {
  it('hashLeaf and hashChildren match transparency-dev/merkle', () => {
    for (const v of V.hashLeaf) assert.equal(toHex(hashLeaf(fromHex(v.data))), v.hash);
    for (const v of V.hashChildren) assert.equal(toHex(hashChildren(fromHex(v.left), fromHex(v.right))), v.hash);
  });
  it('EMPTY_ROOT is SHA-256 of nothing', () => {
    assert.equal(toHex(EMPTY_ROOT), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    assert.equal(toHex(rootFromLeafHashes([])), toHex(EMPTY_ROOT));
  });
});

describe('RFC 6962 reference tree (8 leaves)', () => {
  it('roots for n = 1..8 from the reference and the compact range', () => {
    const range = CompactRange.empty();
    for (const { size, root } of V.rfc6962Tree.roots) {
      range.append(KAT_LEAVES[size - 1]);
      assert.equal(toHex(rootOf(KAT_LEAVES.slice(0, size))), root);
      assert.equal(toHex(range.root()), root);
    }
  });
  for (const [name, cases] of [
    ['rfc6962Tree', V.rfc6962Tree],
    ['generated', V.generated],
  ] as const) {
    const leaves = name === 'rfc6962Tree' ? KAT_LEAVES : LEAVES;
    it(`${name}: inclusion proofs are reproduced and verify`, () => {
      for (const c of cases.inclusion) {
        const tree = leaves.slice(0, c.size);
        assert.deepEqual(inclusionProof(c.index, tree).map(toHex), c.proof);
        verifyInclusion(c.index, c.size, leaves[c.index], c.proof.map(fromHex), rootOf(tree));
      }
    });
    it(`${name}: consistency proofs are reproduced and verify`, () => {
      for (const c of cases.consistency) {
        assert.deepEqual(consistencyProof(c.size1, leaves.slice(0, c.size2)).map(toHex), c.proof);
        verifyConsistency(
          c.size1,
          c.size2,
          c.proof.map(fromHex),
          rootOf(leaves.slice(0, c.size1)),
          rootOf(leaves.slice(0, c.size2)),
        );
      }
    });
  }
});

describe('CompactRange', () => {
  it('root equals the reference root for sizes 0..70, also after serialize/deserialize', () => {
    let range = CompactRange.empty();
    for (const { size, root } of V.generated.roots) {
      if (size > 0) range.append(LEAVES[size - 1]);
      assert.equal(range.size, size);
      assert.equal(toHex(range.root()), root);
      assert.equal(toHex(rootOf(LEAVES.slice(0, size))), root);
      const bytes = range.serialize();
      const popcount = [...size.toString(2)].filter((b) => b === '1').length;
      assert.equal(bytes.length, 9 + 32 * popcount);
      range = CompactRange.deserialize(bytes); // keep appending to the round-tripped copy
      assert.equal(toHex(range.root()), root);
    }
  });
  it('serializes to the documented layout', () => {
    assert.equal(toHex(CompactRange.empty().serialize()), '010000000000000000');
    const r = CompactRange.empty();
    [0, 1, 2].forEach((i) => r.append(LEAVES[i]));
    assert.equal(toHex(r.serialize()), `010000000000000003${toHex(rootOf(LEAVES.slice(0, 2)))}${toHex(LEAVES[2])}`);
  });
  it('clone is independent', () => {
    const a = CompactRange.empty();
    a.append(LEAVES[0]);
    const b = a.clone();
    b.append(LEAVES[1]);
    assert.equal(a.size, 1);
    assert.equal(toHex(a.root()), toHex(LEAVES[0]));
    assert.equal(toHex(b.root()), toHex(rootOf(LEAVES.slice(0, 2))));
  });
  it('root() returns a copy', () => {
    const r = CompactRange.empty();
    r.root().fill(0);
    assert.equal(toHex(EMPTY_ROOT), V.generated.roots[0].root);
    r.append(LEAVES[0]);
    r.root().fill(0);
    assert.equal(toHex(r.root()), V.generated.roots[1].root);
  });
  it('append rejects a hash of the wrong length', () => {
    assert.throws(() => CompactRange.empty().append(new Uint8Array(31)), RangeError);
  });

  const good = (() => {
    const r = CompactRange.empty();
    [0, 1, 2].forEach((i) => r.append(LEAVES[i]));
    return r.serialize();
  })();
  const withSize = (size: bigint, hashes: number) => {
    const b = new Uint8Array(9 + 32 * hashes);
    b[0] = 1;
    new DataView(b.buffer).setBigUint64(1, size, false);
    return b;
  };
  const corrupt: { desc: string; bytes: Uint8Array }[] = [
    { desc: 'empty', bytes: new Uint8Array(0) },
    { desc: 'shorter than the header', bytes: good.subarray(0, 8) },
    { desc: 'version 0', bytes: Uint8Array.from([0, ...good.subarray(1)]) },
    { desc: 'version 2', bytes: Uint8Array.from([2, ...good.subarray(1)]) },
    { desc: 'a hash missing', bytes: good.subarray(0, good.length - 32) },
    { desc: 'one byte missing', bytes: good.subarray(0, good.length - 1) },
    { desc: 'one byte extra', bytes: Uint8Array.from([...good, 0]) },
    { desc: 'size above 2^53 - 1', bytes: withSize(2n ** 53n, 1) },
    { desc: 'size 2^64 - 1', bytes: withSize(2n ** 64n - 1n, 64) },
  ];
  for (const c of corrupt) {
    it(`deserialize rejects: ${c.desc}`, () => assert.throws(() => CompactRange.deserialize(c.bytes), STATE_CORRUPT));
  }
  it('deserialize accepts a subarray of a larger buffer', () => {
    const padded = new Uint8Array(good.length + 5);
    padded.set(good, 3);
    assert.equal(
      toHex(CompactRange.deserialize(padded.subarray(3, 3 + good.length)).root()),
      toHex(rootOf(LEAVES.slice(0, 3))),
    );
  });
});

describe('reference proofs verify for every (m, n) with n <= 20', () => {
  it('inclusion', () => {
    for (let n = 1; n <= 20; n++) {
      const tree = LEAVES.slice(0, n);
      const root = rootOf(tree);
      for (let m = 0; m < n; m++) verifyInclusion(m, n, tree[m], inclusionProof(m, tree), root);
    }
  });
  it('consistency', () => {
    for (let n = 0; n <= 20; n++) {
      const tree = LEAVES.slice(0, n);
      for (let m = 0; m <= n; m++)
        verifyConsistency(m, n, consistencyProof(m, tree), rootOf(tree.slice(0, m)), rootOf(tree));
    }
  });
});

describe('verifyInclusion rejects', () => {
  const size = 13;
  const index = 5;
  const tree = LEAVES.slice(0, size);
  const root = rootOf(tree);
  const proof = inclusionProof(index, tree);
  const cases: { desc: string; args: [number, number, Uint8Array, Uint8Array[], Uint8Array] }[] = [
    { desc: 'wrong root', args: [index, size, tree[index], proof, rootOf(tree.slice(0, 12))] },
    { desc: 'wrong leaf hash', args: [index, size, tree[index + 1], proof, root] },
    { desc: 'wrong index', args: [index + 1, size, tree[index], proof, root] },
    { desc: 'wrong size (different proof shape)', args: [index, size + 4, tree[index], proof, root] },
    {
      desc: 'flipped bit in a proof element',
      args: [index, size, tree[index], [proof[0], flip(proof[1], 77), ...proof.slice(2)], root],
    },
    {
      desc: 'proof element of 31 bytes',
      args: [index, size, tree[index], [proof[0].subarray(1), ...proof.slice(1)], root],
    },
    {
      desc: 'proof element of 33 bytes',
      args: [index, size, tree[index], [Uint8Array.from([...proof[0], 0]), ...proof.slice(1)], root],
    },
    { desc: 'extra element', args: [index, size, tree[index], [...proof, proof[0]], root] },
    { desc: 'missing element', args: [index, size, tree[index], proof.slice(0, -1), root] },
    { desc: 'empty proof', args: [index, size, tree[index], [], root] },
    { desc: 'index == size', args: [size, size, tree[index], proof, root] },
    { desc: 'index > size', args: [size + 3, size, tree[index], proof, root] },
    { desc: 'size 0', args: [0, 0, tree[0], [], EMPTY_ROOT] },
    { desc: 'negative index', args: [-1, size, tree[index], proof, root] },
    { desc: 'fractional index', args: [0.5, size, tree[index], proof, root] },
    { desc: 'size above 2^53 - 1', args: [index, 2 ** 53, tree[index], proof, root] },
    { desc: 'root of 31 bytes', args: [index, size, tree[index], proof, root.subarray(1)] },
    {
      desc: `more than ${MAX_PROOF_LENGTH} elements`,
      args: [index, size, tree[index], Array(MAX_PROOF_LENGTH + 1).fill(proof[0]), root],
    },
  ];
  for (const c of cases) it(c.desc, () => assert.throws(() => verifyInclusion(...c.args), PROOF_INVALID));
});

describe('verifyConsistency rejects', () => {
  const size1 = 6;
  const size2 = 13;
  const tree = LEAVES.slice(0, size2);
  const root1 = rootOf(tree.slice(0, size1));
  const root2 = rootOf(tree);
  const proof = consistencyProof(size1, tree);
  const cases: { desc: string; args: [number, number, Uint8Array[], Uint8Array, Uint8Array] }[] = [
    { desc: 'wrong root1', args: [size1, size2, proof, rootOf(tree.slice(0, 5)), root2] },
    { desc: 'wrong root2', args: [size1, size2, proof, root1, rootOf(tree.slice(0, 12))] },
    { desc: 'wrong size1', args: [size1 + 1, size2, proof, root1, root2] },
    { desc: 'wrong size2 (different proof shape)', args: [size1, size2 + 4, proof, root1, root2] },
    {
      desc: 'flipped bit in a proof element',
      args: [size1, size2, [flip(proof[0], 3), ...proof.slice(1)], root1, root2],
    },
    {
      desc: 'proof element of 31 bytes',
      args: [size1, size2, [...proof.slice(0, -1), proof[proof.length - 1].subarray(1)], root1, root2],
    },
    { desc: 'extra element', args: [size1, size2, [...proof, proof[0]], root1, root2] },
    { desc: 'missing element', args: [size1, size2, proof.slice(1), root1, root2] },
    { desc: 'empty proof', args: [size1, size2, [], root1, root2] },
    { desc: 'size1 > size2', args: [size2, size1, proof, root2, root1] },
    { desc: 'size1 == size2 with a proof', args: [size2, size2, proof, root2, root2] },
    { desc: 'size1 == size2 with different roots', args: [size2, size2, [], root1, root2] },
    { desc: 'size1 == 0 with a proof', args: [0, size2, proof, EMPTY_ROOT, root2] },
    { desc: 'size1 == 0 with a root that is not the empty root', args: [0, size2, [], root1, root2] },
    { desc: 'negative size1', args: [-1, size2, proof, root1, root2] },
    { desc: 'size2 above 2^53 - 1', args: [size1, 2 ** 53, proof, root1, root2] },
    {
      desc: `more than ${MAX_PROOF_LENGTH} elements`,
      args: [size1, size2, Array(MAX_PROOF_LENGTH + 1).fill(proof[0]), root1, root2],
    },
  ];
  for (const c of cases) it(c.desc, () => assert.throws(() => verifyConsistency(...c.args), PROOF_INVALID));
});

describe('sizes beyond 2^32 use exact arithmetic', () => {
  const big = 2 ** 40;
  const left = leaf(1000); // stands in for the root of a perfect subtree of 2^40 leaves
  it('inclusion of the last leaf of a tree of 2^40 + 1 leaves', () => {
    verifyInclusion(big, big + 1, LEAVES[0], [left], hashChildren(left, LEAVES[0]));
    assert.throws(() => verifyInclusion(big, big + 2, LEAVES[0], [left], hashChildren(left, LEAVES[0])), PROOF_INVALID);
  });
  it('consistency from 2^40 to 2^40 + 1 leaves', () => {
    verifyConsistency(big, big + 1, [LEAVES[0]], left, hashChildren(left, LEAVES[0]));
  });
  it('compact range of 2^52 + 2^40 leaves appends, serializes and round-trips', () => {
    const size = 2 ** 52 + big;
    const bytes = new Uint8Array(9 + 64);
    bytes[0] = 1;
    new DataView(bytes.buffer).setBigUint64(1, BigInt(size), false);
    bytes.set(LEAVES[1], 9);
    bytes.set(LEAVES[2], 41);
    const r = CompactRange.deserialize(bytes);
    assert.equal(r.size, size);
    assert.equal(toHex(r.root()), toHex(hashChildren(LEAVES[1], LEAVES[2])));
    r.append(LEAVES[3]);
    assert.equal(r.size, size + 1);
    assert.equal(toHex(r.root()), toHex(hashChildren(LEAVES[1], hashChildren(LEAVES[2], LEAVES[3]))));
    assert.equal(CompactRange.deserialize(r.serialize()).size, size + 1);
  });
  it('append refuses to pass Number.MAX_SAFE_INTEGER', () => {
    const bytes = new Uint8Array(9 + 32 * 53);
    bytes[0] = 1;
    new DataView(bytes.buffer).setBigUint64(1, BigInt(Number.MAX_SAFE_INTEGER), false);
    const r = CompactRange.deserialize(bytes);
    assert.throws(() => r.append(LEAVES[0]), RangeError);
  });
});
