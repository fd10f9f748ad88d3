// The naive reference Merkle tree: the recursive definitions of RFC 9162 §2.1.1, §2.1.3.1 and
// §2.1.4.1. They hold every leaf hash in memory and recompute subtrees, so they serve tests and
// vector generation only (the product keeps a CompactRange, src/trail/merkle.ts), and check it.
import { EMPTY_ROOT, hashChildren } from '../../src/trail/hash.js';

// largestPowerOfTwoBelow is RFC 9162's split point k: the largest power of two strictly smaller
// than n (n > 1), so the left subtree is always perfect.
function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function mth(leaves: Uint8Array[], lo: number, hi: number): Uint8Array {
  const n = hi - lo;
  if (n === 0) return Uint8Array.from(EMPTY_ROOT);
  if (n === 1) return Uint8Array.from(leaves[lo]);
  const k = largestPowerOfTwoBelow(n);
  return hashChildren(mth(leaves, lo, lo + k), mth(leaves, lo + k, hi));
}

// rootFromLeafHashes is MTH(D[n]) computed from the leaf hashes by the recursive definition.
// https://www.rfc-editor.org/rfc/rfc9162#section-2.1.1
export function rootFromLeafHashes(leafHashes: Uint8Array[]): Uint8Array {
  return mth(leafHashes, 0, leafHashes.length);
}

// inclusionProof is PATH(index, D[n]): the audit path of leaf `index`, leaf side first.
// Requires 0 <= index < leafHashes.length. https://www.rfc-editor.org/rfc/rfc9162#section-2.1.3.1
export function inclusionProof(index: number, leafHashes: Uint8Array[]): Uint8Array[] {
  if (!Number.isSafeInteger(index) || index < 0 || index >= leafHashes.length) {
    throw new RangeError(`index ${index} out of range for size ${leafHashes.length}`);
  }
  const path = (m: number, lo: number, hi: number): Uint8Array[] => {
    if (hi - lo === 1) return [];
    const k = largestPowerOfTwoBelow(hi - lo);
    return m < k
      ? [...path(m, lo, lo + k), mth(leafHashes, lo + k, hi)]
      : [...path(m - k, lo + k, hi), mth(leafHashes, lo, lo + k)];
  };
  return path(index, 0, leafHashes.length);
}

// consistencyProof is PROOF(size1, D[n]) where D[n] are the leaves of the larger tree. It is empty
// when size1 is 0 or n (nothing to prove), matching verifyConsistency's conventions.
// Requires 0 <= size1 <= leafHashes.length. https://www.rfc-editor.org/rfc/rfc9162#section-2.1.4.1
export function consistencyProof(size1: number, leafHashes: Uint8Array[]): Uint8Array[] {
  if (!Number.isSafeInteger(size1) || size1 < 0 || size1 > leafHashes.length) {
    throw new RangeError(`size1 ${size1} out of range for size ${leafHashes.length}`);
  }
  if (size1 === 0) return [];
  const subproof = (m: number, lo: number, hi: number, complete: boolean): Uint8Array[] => {
    if (m === hi - lo) return complete ? [] : [mth(leafHashes, lo, hi)];
    const k = largestPowerOfTwoBelow(hi - lo);
    return m <= k
      ? [...subproof(m, lo, lo + k, complete), mth(leafHashes, lo + k, hi)]
      : [...subproof(m - k, lo + k, hi, false), mth(leafHashes, lo, lo + k)];
  };
  return subproof(size1, 0, leafHashes.length, true);
}
