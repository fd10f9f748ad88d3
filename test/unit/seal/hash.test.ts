// The sealer hashes leaves, chain links and tree nodes with node:crypto (seal/hash.ts), the trail with noble
// (trail/hash.ts): both must give identical leaves, chains and roots, and the sealed result
// must not depend on which one hashed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nodeHashChildren, nodeSha256, sha256Hex } from '../../../src/seal/hash.js';
import { type SealRecord, sealRecords } from '../../../src/seal/sealer.js';
import { CHAIN_START, type Envelope, envelopeLeafHash, nextChain } from '../../../src/trail/envelope.js';
import { hashChildren, sha256, sha256Hex as nobleSha256Hex, toHex } from '../../../src/trail/hash.js';
import { CompactRange } from '../../../src/trail/merkle.js';

const records: SealRecord[] = [0, 1, 55, 56, 64, 1000, 70_000].map((n, i) => ({
  kind: i === 3 ? 'gap' : 'decision',
  source: `/var/log/opa/${'x'.repeat(i * 30)}.log`,
  offset: n * 3,
  payload: Buffer.from(`{"n":${n},"pad":"${'\u00fc'.repeat(n)}"}`),
  ...(i === 2 ? { meta: { pod: 'opa-0', namespace: 'policy' } } : {}),
}));

describe('noble and node:crypto give the same hashes', () => {
  it('sha256 of parts, of nothing, and over block boundaries', () => {
    for (const len of [0, 1, 55, 56, 63, 64, 65, 256, 257, 1000, 16_383, 16_384, 16_385, 100_000]) {
      const data = Uint8Array.from({ length: len }, (_, i) => (i * 31) & 0xff);
      const cut = Math.floor(len / 3);
      assert.deepEqual(toHex(nodeSha256(data.subarray(0, cut), data.subarray(cut))), toHex(sha256(data)));
      assert.equal(sha256Hex(data), nobleSha256Hex(data));
    }
    assert.equal(toHex(nodeSha256()), toHex(sha256()));
    const left = sha256(Uint8Array.of(1));
    const right = sha256(Uint8Array.of(2));
    assert.equal(toHex(nodeHashChildren(left, right)), toHex(hashChildren(left, right)));
  });

  it('a digest is not overwritten by the next one (the one-shot hash shares a scratch buffer)', () => {
    const a = nodeSha256(Uint8Array.of(1));
    const copy = toHex(a);
    nodeSha256(Uint8Array.of(2), new Uint8Array(40));
    assert.equal(toHex(a), copy);
  });

  it('leaves, chains and roots of envelopes', () => {
    let chainNoble = CHAIN_START;
    let chainNode = CHAIN_START;
    const edgeNoble = CompactRange.empty();
    const edgeNode = CompactRange.empty();
    records.forEach((r, seq) => {
      const e: Envelope = { ...r, stream: 'opa', seq, sealedAt: 1_764_400_000_000 };
      const leafNoble = envelopeLeafHash(e);
      const leafNode = envelopeLeafHash(e, nodeSha256);
      assert.equal(toHex(leafNode), toHex(leafNoble));
      chainNoble = nextChain(chainNoble, leafNoble);
      chainNode = nextChain(chainNode, leafNode, nodeSha256);
      edgeNoble.append(leafNoble);
      edgeNode.append(leafNode, nodeHashChildren);
      assert.equal(toHex(chainNode), toHex(chainNoble));
      assert.equal(toHex(edgeNode.root()), toHex(edgeNoble.root()));
    });
  });

  it('sealRecords (node:crypto leaves) ends at the head the trail computes with noble', () => {
    const sealed = sealRecords(
      { name: 'opa', nextSeq: 0, chainHead: CHAIN_START, edge: CompactRange.empty() },
      records,
      5,
    );
    let chain = CHAIN_START;
    const edge = CompactRange.empty();
    records.forEach((r, seq) => {
      const leaf = envelopeLeafHash({ ...r, stream: 'opa', seq, sealedAt: 5 });
      chain = nextChain(chain, leaf);
      edge.append(leaf);
    });
    assert.equal(toHex(sealed.head.chainHead), toHex(chain));
    assert.equal(toHex(sealed.head.edge.root()), toHex(edge.root()));
  });
});
