// The RFC 9162 Merkle tree (the same tree as RFC 6962): an append-only compact range for the
// sealer, and proof verification for untrusted proofs. The naive reference tree that only tests
// use is test/helpers/merkle-reference.ts.
// https://www.rfc-editor.org/rfc/rfc9162#section-2.1
//
// Sizes and indexes are JS numbers limited to Number.MAX_SAFE_INTEGER (2^53 - 1). Bit operators
// (`>>`, `&`) work on 32 bits in JS, so this file halves with Math.floor(x / 2) and tests the low
// bit with x % 2 instead.
import { TailsealError } from './errors.js';
import { EMPTY_ROOT, HASH_SIZE, equalBytes, hashChildren } from './hash.js';

// COMPACT_RANGE_VERSION is the first byte of CompactRange.serialize(); bump it if the layout changes.
export const COMPACT_RANGE_VERSION = 1;

// MAX_PROOF_LENGTH caps inclusion and consistency proofs. A tree of 2^64 leaves needs at most 64
// hashes, so a longer proof is malformed whatever it contains and is rejected before any hashing.
export const MAX_PROOF_LENGTH = 64;

const HEADER_SIZE = 9; // version (1 byte) + size (8 bytes, big-endian)

function half(x: number): number {
  return Math.floor(x / 2);
}

function isOdd(x: number): boolean {
  return x % 2 === 1;
}

function popcount(x: number): number {
  let n = 0;
  for (; x > 0; x = half(x)) n += x % 2;
  return n;
}

function isPowerOfTwo(x: number): boolean {
  return x > 0 && popcount(x) === 1;
}

// CompactRange is the right edge of the tree of leaves [0, size): one perfect-subtree hash per set
// bit of size, left (largest subtree) to right. It is all the sealer must keep to append leaves
// and compute the root in O(log n) space, the idea of transparency-dev/merkle's compact.Range.
export class CompactRange {
  #size: number;
  #hashes: Uint8Array[];

  private constructor(size: number, hashes: Uint8Array[]) {
    this.#size = size;
    this.#hashes = hashes;
  }

  // empty returns the range of the empty tree.
  static empty(): CompactRange {
    return new CompactRange(0, []);
  }

  // size is the number of leaves appended so far.
  get size(): number {
    return this.#size;
  }

  // append adds one leaf hash (hashLeaf(data), 32 bytes) at index `size`, merging the perfect
  // subtrees it completes. Throws RangeError on a wrong hash length or when size would pass 2^53 - 1.
  // `children` is the interior node hash (noble's hashChildren unless the caller injects a faster one).
  append(leafHash: Uint8Array, children: (left: Uint8Array, right: Uint8Array) => Uint8Array = hashChildren): void {
    if (leafHash.length !== HASH_SIZE)
      throw new RangeError(`leaf hash must be ${HASH_SIZE} bytes, got ${leafHash.length}`);
    if (this.#size >= Number.MAX_SAFE_INTEGER) throw new RangeError('tree size would exceed Number.MAX_SAFE_INTEGER');
    // A copy the caller cannot change (new Uint8Array(typed array) copies; ~50 ns, Uint8Array.from ~130).
    let hash: Uint8Array = new Uint8Array(leafHash);
    for (let s = this.#size; isOdd(s); s = half(s)) hash = children(this.#hashes.pop()!, hash);
    this.#hashes.push(hash);
    this.#size += 1;
  }

  // subtrees returns copies of the perfect-subtree hashes, left (largest) to right: the nodes a
  // consistency proof from this size takes on its left side (proofs.ts consistencyProofFrom).
  subtrees(): Uint8Array[] {
    return this.#hashes.map((h) => Uint8Array.from(h));
  }

  // root is the RFC 9162 Merkle Tree Hash of the leaves [0, size): the subtree hashes folded from
  // the right. The empty tree's root is SHA-256("").
  root(): Uint8Array {
    if (this.#hashes.length === 0) return Uint8Array.from(EMPTY_ROOT);
    let root = this.#hashes[this.#hashes.length - 1];
    for (let i = this.#hashes.length - 2; i >= 0; i--) root = hashChildren(this.#hashes[i], root);
    return Uint8Array.from(root);
  }

  // serialize encodes the range for storage (SQLite). Layout, version 1:
  //   byte 0       version = 1
  //   bytes 1..8   size, unsigned 64-bit big-endian
  //   then         popcount(size) hashes of 32 bytes, left (largest subtree) to right
  // Length is always 9 + 32 * popcount(size); the empty range is the 9 bytes 01 00..00.
  serialize(): Uint8Array {
    const out = new Uint8Array(HEADER_SIZE + HASH_SIZE * this.#hashes.length);
    out[0] = COMPACT_RANGE_VERSION;
    new DataView(out.buffer).setBigUint64(1, BigInt(this.#size), false);
    this.#hashes.forEach((h, i) => out.set(h, HEADER_SIZE + HASH_SIZE * i));
    return out;
  }

  // deserialize is the inverse of serialize. It validates the version, the size (<= 2^53 - 1) and
  // the exact length, and throws TailsealError STATE_CORRUPT on any mismatch, because a damaged
  // range would silently seal a wrong root.
  static deserialize(bytes: Uint8Array): CompactRange {
    const corrupt = (why: string) => new TailsealError('STATE_CORRUPT', `compact range: ${why}`);
    if (bytes.length < HEADER_SIZE) throw corrupt(`${bytes.length} bytes is shorter than the header`);
    if (bytes[0] !== COMPACT_RANGE_VERSION) throw corrupt(`unknown version ${bytes[0]}`);
    const size64 = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(1, false);
    if (size64 > BigInt(Number.MAX_SAFE_INTEGER)) throw corrupt(`size ${size64} exceeds Number.MAX_SAFE_INTEGER`);
    const size = Number(size64);
    const count = popcount(size);
    const want = HEADER_SIZE + HASH_SIZE * count;
    if (bytes.length !== want) throw corrupt(`length ${bytes.length}, want ${want} for size ${size}`);
    const hashes: Uint8Array[] = [];
    for (let i = 0; i < count; i++)
      hashes.push(bytes.slice(HEADER_SIZE + HASH_SIZE * i, HEADER_SIZE + HASH_SIZE * (i + 1)));
    return new CompactRange(size, hashes);
  }

  // clone returns an independent copy (appending to one does not change the other).
  clone(): CompactRange {
    return new CompactRange(
      this.#size,
      this.#hashes.map((h) => Uint8Array.from(h)),
    );
  }
}

// ---- Verification of untrusted proofs (RFC 9162 §2.1.3.2 and §2.1.4.2). ----
// Every input may come from an attacker, so shapes are checked before any hashing, and every
// failure is a TailsealError PROOF_INVALID.

function invalid(why: string): TailsealError {
  return new TailsealError('PROOF_INVALID', why);
}

function checkTreeSize(x: number, what: string): void {
  if (!Number.isSafeInteger(x) || x < 0) throw invalid(`${what} ${x} is not an integer in [0, 2^53)`);
}

function checkHash(h: Uint8Array, what: string): void {
  if (!(h instanceof Uint8Array) || h.length !== HASH_SIZE) throw invalid(`${what} is not ${HASH_SIZE} bytes`);
}

function checkProofShape(proof: Uint8Array[]): void {
  if (!Array.isArray(proof)) throw invalid('proof is not an array');
  if (proof.length > MAX_PROOF_LENGTH) throw invalid(`proof has ${proof.length} hashes, more than ${MAX_PROOF_LENGTH}`);
  proof.forEach((p, i) => checkHash(p, `proof[${i}]`));
}

// walkPath is the loop shared by RFC 9162 §2.1.3.2 step 4 and §2.1.4.2 step 6. Starting from node
// number fn on the right edge sn of its level, it passes each proof hash to `left` when the hash is
// the left sibling and to `right` otherwise, and throws when the proof is longer or shorter than
// the path from fn up to the root.
function walkPath(
  fn: number,
  sn: number,
  path: Uint8Array[],
  left: (h: Uint8Array) => void,
  right: (h: Uint8Array) => void,
): void {
  for (const h of path) {
    if (sn === 0) throw invalid('proof has too many hashes');
    if (isOdd(fn) || fn === sn) {
      left(h);
      while (!isOdd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      right(h);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) throw invalid('proof has too few hashes');
}

// verifyInclusion checks that `leafHash` is leaf `index` of the tree of `size` leaves whose root is
// `root`, given the audit path `proof`. It follows RFC 9162 §2.1.3.2 step by step; a proof with
// extra or missing hashes fails. Returns nothing; throws TailsealError PROOF_INVALID.
// https://www.rfc-editor.org/rfc/rfc9162#section-2.1.3.2
export function verifyInclusion(
  index: number,
  size: number,
  leafHash: Uint8Array,
  proof: Uint8Array[],
  root: Uint8Array,
): void {
  checkTreeSize(index, 'index');
  checkTreeSize(size, 'size');
  if (index >= size) throw invalid(`index is beyond size: ${index} >= ${size}`);
  checkHash(leafHash, 'leaf hash');
  checkHash(root, 'root');
  checkProofShape(proof);

  let r = leafHash;
  walkPath(
    index,
    size - 1,
    proof,
    (p) => (r = hashChildren(p, r)),
    (p) => (r = hashChildren(r, p)),
  );
  if (!equalBytes(r, root)) throw invalid('calculated root does not match the given root');
}

// verifyConsistency checks that the tree of size2 leaves with root root2 extends the tree of size1
// leaves with root root1, following RFC 9162 §2.1.4.2. Conventions of transparency-dev/merkle:
// size1 == size2 needs an empty proof and equal roots; size1 == 0 needs an empty proof (and, here,
// root1 must be the empty root); size1 > size2 fails. Throws TailsealError PROOF_INVALID.
// https://www.rfc-editor.org/rfc/rfc9162#section-2.1.4.2
export function verifyConsistency(
  size1: number,
  size2: number,
  proof: Uint8Array[],
  root1: Uint8Array,
  root2: Uint8Array,
): void {
  checkTreeSize(size1, 'size1');
  checkTreeSize(size2, 'size2');
  if (size1 > size2) throw invalid(`size1 ${size1} > size2 ${size2}`);
  checkHash(root1, 'root1');
  checkHash(root2, 'root2');
  checkProofShape(proof);

  if (size1 === size2) {
    if (proof.length !== 0) throw invalid('size1 == size2 but the proof is not empty');
    if (!equalBytes(root1, root2)) throw invalid('size1 == size2 but the roots differ');
    return;
  }
  if (size1 === 0) {
    if (proof.length !== 0) throw invalid('size1 == 0 but the proof is not empty');
    if (!equalBytes(root1, EMPTY_ROOT)) throw invalid('size1 == 0 but root1 is not the empty root');
    return;
  }
  if (proof.length === 0) throw invalid('empty proof');

  const path = isPowerOfTwo(size1) ? [root1, ...proof] : proof;
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (isOdd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr = path[0];
  let sr = path[0];
  walkPath(
    fn,
    sn,
    path.slice(1),
    (c) => {
      fr = hashChildren(c, fr);
      sr = hashChildren(c, sr);
    },
    (c) => (sr = hashChildren(sr, c)),
  );
  if (!equalBytes(fr, root1)) throw invalid('calculated root1 does not match the given root1');
  if (!equalBytes(sr, root2)) throw invalid('calculated root2 does not match the given root2');
}
