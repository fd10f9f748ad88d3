// RFC 9162 proof generation from a stream's leaf hashes: the audit path PATH(m, D[n]) of
// §2.1.3.1 and the consistency proof PROOF(m, D[n]) / SUBPROOF of §2.1.4.1. The verifiers are
// verifyInclusion and verifyConsistency in merkle.ts; every proof made here passes them.
//
// The caller holds the leaf hashes (32 bytes each, in leaf order; a verifier that read the stream
// collects them). Each proof hashes disjoint subtrees, so one proof costs O(n) hashes and
// O(log n) stack, whatever the size. Sizes and indexes are JS safe integers, as in merkle.ts.
// `children` is the interior node hash (noble's hashChildren unless the caller injects a faster
// one, as CompactRange.append does): a proof in a tree of a million leaves hashes a million nodes.
// https://www.rfc-editor.org/rfc/rfc9162#section-2.1.3.1
// https://www.rfc-editor.org/rfc/rfc9162#section-2.1.4.1
import { EMPTY_ROOT, HASH_SIZE, hashChildren } from './hash.js';
import type { CompactRange } from './merkle.js';

type Children = (left: Uint8Array, right: Uint8Array) => Uint8Array;

// splitPoint is RFC 9162's k: the largest power of two strictly smaller than n (n > 1).
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function checkLeaves(leafHashes: readonly Uint8Array[]): void {
  if (!Array.isArray(leafHashes)) throw new TypeError('leaf hashes must be an array');
  leafHashes.forEach((h, i) => {
    if (!(h instanceof Uint8Array) || h.length !== HASH_SIZE)
      throw new RangeError(`leaf hash ${i} must be ${HASH_SIZE} bytes`);
  });
}

// subtreeRoot is MTH(D[lo:hi]) (RFC 9162 §2.1.1), computed by appending left to right into a stack
// of perfect subtrees: no recursion, one hash per interior node.
export function subtreeRoot(
  leafHashes: readonly Uint8Array[],
  lo = 0,
  hi = leafHashes.length,
  children: Children = hashChildren,
): Uint8Array {
  if (!Number.isSafeInteger(lo) || !Number.isSafeInteger(hi) || lo < 0 || hi < lo || hi > leafHashes.length)
    throw new RangeError(`range [${lo}, ${hi}) is not within ${leafHashes.length} leaves`);
  if (hi === lo) return Uint8Array.from(EMPTY_ROOT);
  const stack: Uint8Array[] = [];
  for (let i = lo; i < hi; i++) {
    let h = leafHashes[i]!;
    for (let s = i - lo; s % 2 === 1; s = Math.floor(s / 2)) h = children(stack.pop()!, h);
    stack.push(h);
  }
  let root = stack[stack.length - 1]!;
  for (let i = stack.length - 2; i >= 0; i--) root = children(stack[i]!, root);
  return Uint8Array.from(root);
}

// inclusionProof is PATH(index, D[n]) with n = leafHashes.length: the audit path of leaf `index`,
// leaf side first, as verifyInclusion(index, n, leafHashes[index], proof, root) expects.
// Throws RangeError when index is not in [0, n) or a leaf hash is not 32 bytes.
export function inclusionProof(
  index: number,
  leafHashes: readonly Uint8Array[],
  children: Children = hashChildren,
): Uint8Array[] {
  checkLeaves(leafHashes);
  if (!Number.isSafeInteger(index) || index < 0 || index >= leafHashes.length)
    throw new RangeError(`index ${index} out of range for size ${leafHashes.length}`);
  // Walk from the root down, collecting the sibling of each step; the path lists them leaf side first.
  const siblings: Uint8Array[] = [];
  let lo = 0;
  let hi = leafHashes.length;
  while (hi - lo > 1) {
    const k = splitPoint(hi - lo);
    if (index < lo + k) {
      siblings.push(subtreeRoot(leafHashes, lo + k, hi, children));
      hi = lo + k;
    } else {
      siblings.push(subtreeRoot(leafHashes, lo, lo + k, children));
      lo = lo + k;
    }
  }
  return siblings.reverse();
}

// consistencyProof is PROOF(size1, D[n]) with n = leafHashes.length (SUBPROOF(m, D[n], true)),
// as verifyConsistency(size1, n, proof, root1, root2) expects. It is empty when size1 is 0 or n
// (nothing to prove; the conventions of verifyConsistency and transparency-dev/merkle).
// Throws RangeError when size1 is not in [0, n] or a leaf hash is not 32 bytes.
export function consistencyProof(
  size1: number,
  leafHashes: readonly Uint8Array[],
  children: Children = hashChildren,
): Uint8Array[] {
  checkLeaves(leafHashes);
  if (!Number.isSafeInteger(size1) || size1 < 0 || size1 > leafHashes.length)
    throw new RangeError(`size1 ${size1} out of range for size ${leafHashes.length}`);
  if (size1 === 0 || size1 === leafHashes.length) return [];
  // SUBPROOF(m, D[lo:hi], b) unrolled: each step records one sibling subtree, root side first.
  const fromRoot: Uint8Array[] = [];
  let m = size1;
  let lo = 0;
  let hi = leafHashes.length;
  let complete = true;
  for (;;) {
    if (m === hi - lo) {
      if (!complete) fromRoot.push(subtreeRoot(leafHashes, lo, hi, children));
      break;
    }
    const k = splitPoint(hi - lo);
    if (m <= k) {
      fromRoot.push(subtreeRoot(leafHashes, lo + k, hi, children));
      hi = lo + k;
    } else {
      fromRoot.push(subtreeRoot(leafHashes, lo, lo + k, children));
      m -= k;
      lo = lo + k;
      complete = false;
    }
  }
  return fromRoot.reverse();
}

// consistencyProofFrom is PROOF(m, D[n]) made without the leaves before m: from the compact range
// at m (`edge`) and the leaf hashes [m, n) (`newLeaves`). That is all a writer keeps that submits
// each checkpoint to a witness (c2sp.org/tlog-witness add-checkpoint) with a proof from the size the
// witness cosigned last. It takes SUBPROOF's steps as consistencyProof does; the sibling of a step
// is either a perfect subtree [lo, lo + k) with lo + k <= m, which is then the next of edge's
// subtrees left to right (each such step consumes the largest power of two left of m), or lies
// within [m, n), hashed from newLeaves. The proof is byte-identical to consistencyProof's over all
// n leaves (test/unit/trail/proofs.test.ts compares every m < n up to 70).
export function consistencyProofFrom(
  edge: CompactRange,
  newLeaves: readonly Uint8Array[],
  children: Children = hashChildren,
): Uint8Array[] {
  checkLeaves(newLeaves);
  const size1 = edge.size;
  const n = size1 + newLeaves.length;
  if (size1 === 0 || newLeaves.length === 0) return [];
  const left = edge.subtrees();
  let used = 0;
  const right = (lo: number, hi: number) => subtreeRoot(newLeaves, lo - size1, hi - size1, children);
  const fromRoot: Uint8Array[] = [];
  let m = size1;
  let lo = 0;
  let hi = n;
  let complete = true;
  for (;;) {
    if (m === hi - lo) {
      // [lo, hi) is the last perfect subtree of the left edge (hi = size1).
      if (!complete) fromRoot.push(left[used]!);
      break;
    }
    const k = splitPoint(hi - lo);
    if (m <= k) {
      fromRoot.push(right(lo + k, hi));
      hi = lo + k;
    } else {
      fromRoot.push(left[used++]!);
      m -= k;
      lo = lo + k;
      complete = false;
    }
  }
  return fromRoot.reverse();
}
