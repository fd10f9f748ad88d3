// Generates the committed test vectors test/vectors/{merkle,note}.json.
//
//   npm run vectors                         (writes the files)
//   node dist/test/vectors/generate.js --check   (fails if the files on disk differ)
//
// Published known answers are written below as literals and recomputed with tailseal's code; any
// difference throws, so the JSON can never drift from the sources it cites. Output is deterministic
// (Ed25519 signatures are deterministic, the test key has a fixed seed). When `npm test` runs this
// file under `node --test` (NODE_TEST_CONTEXT is set) it only checks, it never writes.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatCheckpoint, openCheckpoint, signCheckpoint } from '../../src/seal/checkpoint.js';
import { fromHex, hashChildren, hashLeaf, toBase64, toHex } from '../../src/seal/hash.js';
import { generateKeyPair, parseSignerKey, parseVerifierKey } from '../../src/seal/keys.js';
import { CompactRange, consistencyProof, inclusionProof, rootFromLeafHashes, verifyConsistency, verifyInclusion } from '../../src/seal/merkle.js';
import { openNote, signNote } from '../../src/seal/note.js';
import { VECTORS_DIR } from '../helpers/paths.js';

function expectEqual(what: string, got: unknown, want: unknown): void {
  const g = JSON.stringify(got);
  const w = JSON.stringify(want);
  if (g !== w) throw new Error(`known answer mismatch for ${what}:\n got  ${g}\n want ${w}`);
}

const utf8 = (s: string) => new TextEncoder().encode(s);
const hexes = (hs: Uint8Array[]) => hs.map(toHex);

// ---- merkle.json ----

// Known answers from transparency-dev/merkle: rfc6962/rfc6962_test.go@78493b07 (hashes) and
// proof/verify_test.go@02194e9a (the RFC 6962 8-leaf reference tree, its roots and proofs; the Go
// file stores 1-based leaf numbers, converted to 0-based indexes here).
const KAT_HASH_LEAF_EMPTY = '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d';
const KAT_HASH_LEAF_L123456 = '395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56';
const KAT_HASH_CHILDREN_N123_N456 = 'aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb';
const KAT_LEAF_DATA = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'];
const KAT_ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
const H = {
  m0: '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
  m1: '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
  m2: '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
  m3: 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
  m4: 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
  m5: '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
  m6: 'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
};
const KAT_INCLUSION = [
  { index: 0, size: 8, proof: [H.m0, H.m1, H.m2] },
  { index: 5, size: 8, proof: [H.m3, H.m4, KAT_ROOTS[3]] },
  { index: 2, size: 3, proof: [KAT_ROOTS[1]] },
  { index: 1, size: 5, proof: [KAT_ROOTS[0], H.m1, H.m3] },
];
const KAT_CONSISTENCY = [
  { size1: 1, size2: 8, proof: [H.m0, H.m1, H.m2] },
  { size1: 6, size2: 8, proof: [H.m5, H.m4, KAT_ROOTS[3]] },
  { size1: 2, size2: 5, proof: [H.m1, H.m3] },
  { size1: 6, size2: 7, proof: [H.m5, H.m6, KAT_ROOTS[3]] },
];

// The leaves of the generated cases: leaf i is hashLeaf(4-byte big-endian i).
function generatedLeaf(i: number): Uint8Array {
  const data = new Uint8Array(4);
  new DataView(data.buffer).setUint32(0, i, false);
  return hashLeaf(data);
}

function merkleVectors(): unknown {
  expectEqual('HashLeaf("")', toHex(hashLeaf(new Uint8Array(0))), KAT_HASH_LEAF_EMPTY);
  expectEqual('HashLeaf("L123456")', toHex(hashLeaf(utf8('L123456'))), KAT_HASH_LEAF_L123456);
  expectEqual('HashChildren("N123","N456")', toHex(hashChildren(utf8('N123'), utf8('N456'))), KAT_HASH_CHILDREN_N123_N456);

  const leaves = KAT_LEAF_DATA.map((d) => hashLeaf(fromHex(d)));
  const range = CompactRange.empty();
  leaves.forEach((leaf, i) => {
    range.append(leaf);
    expectEqual(`reference root n=${i + 1}`, toHex(rootFromLeafHashes(leaves.slice(0, i + 1))), KAT_ROOTS[i]);
    expectEqual(`compact range root n=${i + 1}`, toHex(range.root()), KAT_ROOTS[i]);
  });
  for (const p of KAT_INCLUSION) {
    expectEqual(`inclusion ${p.index}/${p.size}`, hexes(inclusionProof(p.index, leaves.slice(0, p.size))), p.proof);
    verifyInclusion(p.index, p.size, leaves[p.index], p.proof.map(fromHex), fromHex(KAT_ROOTS[p.size - 1]));
  }
  for (const p of KAT_CONSISTENCY) {
    expectEqual(`consistency ${p.size1}->${p.size2}`, hexes(consistencyProof(p.size1, leaves.slice(0, p.size2))), p.proof);
    verifyConsistency(p.size1, p.size2, p.proof.map(fromHex), fromHex(KAT_ROOTS[p.size1 - 1]), fromHex(KAT_ROOTS[p.size2 - 1]));
  }

  const big = Array.from({ length: 70 }, (_, i) => generatedLeaf(i));
  const inclusionCases: [number, number][] = [[0, 1], [1, 2], [6, 7], [7, 8], [8, 9], [0, 31], [30, 31], [16, 32], [32, 33], [63, 64], [41, 70], [69, 70]];
  const consistencyCases: [number, number][] = [[1, 2], [3, 7], [7, 8], [8, 9], [1, 70], [13, 70], [32, 64], [33, 70], [64, 70], [69, 70]];
  return {
    description: 'RFC 9162 Merkle tree known answers (hex). Indexes are 0-based; proofs are leaf side first.',
    source: 'transparency-dev/merkle rfc6962/rfc6962_test.go@78493b07 and proof/verify_test.go@02194e9a',
    hashLeaf: [
      { data: '', hash: KAT_HASH_LEAF_EMPTY },
      { data: toHex(utf8('L123456')), hash: KAT_HASH_LEAF_L123456 },
    ],
    hashChildren: [{ left: toHex(utf8('N123')), right: toHex(utf8('N456')), hash: KAT_HASH_CHILDREN_N123_N456 }],
    rfc6962Tree: {
      leafData: KAT_LEAF_DATA,
      roots: KAT_ROOTS.map((root, i) => ({ size: i + 1, root })),
      inclusion: KAT_INCLUSION,
      consistency: KAT_CONSISTENCY,
    },
    generated: {
      description: 'Computed with the naive reference tree of src/seal/merkle.ts; leaf i = hashLeaf(uint32 big-endian i).',
      roots: Array.from({ length: 71 }, (_, n) => ({ size: n, root: toHex(rootFromLeafHashes(big.slice(0, n))) })),
      inclusion: inclusionCases.map(([index, size]) => ({ index, size, proof: hexes(inclusionProof(index, big.slice(0, size))) })),
      consistency: consistencyCases.map(([size1, size2]) => ({ size1, size2, proof: hexes(consistencyProof(size1, big.slice(0, size2))) })),
    },
  };
}

// ---- note.json ----

// Go package-doc example of golang.org/x/mod/sumdb/note (note.go).
const PETER = {
  signerKey: 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz',
  verifierKey: 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW',
  keyId: 'c74f20a3',
  text: 'If you think cryptography is the answer to your problem,\nthen you don\'t know what your problem is.\n',
  note:
    'If you think cryptography is the answer to your problem,\nthen you don\'t know what your problem is.\n\n' +
    '\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n',
};
// A production sum.golang.org checkpoint, from transparency-dev/formats log/note_test.go@5242c178.
const SUMDB = {
  verifierKey: 'sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8',
  keyId: '033de0ae',
  note:
    'go.sum database tree\n6476701\nmb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=\n\n' +
    '\u2014 sum.golang.org Az3grsLX85Gz+s1SiTbgkuqxgItqFq7gsMUEyVnrsa9LM7Us9S+1xbFIGu95949rj4nPRYfvimWEPWL+o3GeoWwOoAw=\n',
  checkpoint: { origin: 'go.sum database tree', size: 6476701, rootHash: 'mb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=', extensions: [] },
};
const TEST_KEY_NAME = 'tailseal.test/vectors';
const TEST_SEED = Uint8Array.from({ length: 32 }, (_, i) => i + 1);

function noteVectors(): unknown {
  const peterSigner = parseSignerKey(PETER.signerKey);
  expectEqual('PeterNeumann key id', peterSigner.keyId.toString(16).padStart(8, '0'), PETER.keyId);
  expectEqual('PeterNeumann signature', signNote(PETER.text, [peterSigner]), PETER.note);
  expectEqual('PeterNeumann open', openNote(PETER.note, [parseVerifierKey(PETER.verifierKey)]).text, PETER.text);
  expectEqual('sum.golang.org key id', parseVerifierKey(SUMDB.verifierKey).keyId.toString(16).padStart(8, '0'), SUMDB.keyId);
  const sumdb = openCheckpoint(SUMDB.note, [parseVerifierKey(SUMDB.verifierKey)], SUMDB.checkpoint.origin).checkpoint;
  expectEqual('sum.golang.org checkpoint', { ...sumdb, rootHash: toBase64(sumdb.rootHash) }, SUMDB.checkpoint);

  const keys = generateKeyPair(TEST_KEY_NAME, TEST_SEED);
  const signer = parseSignerKey(keys.signerKey);
  const checkpoint = { origin: TEST_KEY_NAME, size: 8, rootHash: fromHex(KAT_ROOTS[7]), extensions: ['example-extension opaque to parsers'] };
  const note = signCheckpoint(checkpoint, signer);
  openCheckpoint(note, [parseVerifierKey(keys.verifierKey)], TEST_KEY_NAME);
  return {
    description: 'c2sp.org/signed-note and c2sp.org/tlog-checkpoint vectors; notes are exact strings (U+2014 em dash).',
    peterNeumann: { source: 'golang.org/x/mod/sumdb/note package documentation (note.go)', ...PETER },
    sumGolangOrg: { source: 'transparency-dev/formats log/note_test.go@5242c178 (TestSumDBNoteParsing)', ...SUMDB },
    tailsealTest: {
      source: 'generated by test/vectors/generate.ts with seed = bytes 0x01..0x20',
      seed: toHex(TEST_SEED),
      name: TEST_KEY_NAME,
      keyId: signer.keyId.toString(16).padStart(8, '0'),
      signerKey: keys.signerKey,
      verifierKey: keys.verifierKey,
      checkpoint: { ...checkpoint, rootHash: toBase64(checkpoint.rootHash) },
      text: formatCheckpoint(checkpoint),
      note,
    },
  };
}

// ---- write or check ----

const files: Record<string, unknown> = { 'merkle.json': merkleVectors(), 'note.json': noteVectors() };
const check = process.argv.includes('--check') || process.env.NODE_TEST_CONTEXT !== undefined;
for (const [name, data] of Object.entries(files)) {
  const path = join(VECTORS_DIR, name);
  const text = `${JSON.stringify(data, null, 2)}\n`;
  if (!check) {
    writeFileSync(path, text);
    console.log(`wrote ${path}`);
  } else if (readFileSync(path, 'utf8') !== text) {
    throw new Error(`${path} is out of date: run npm run vectors`);
  }
}
