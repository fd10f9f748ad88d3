// The trail core's public API: the format (envelope, chain and tree hashing, RFC 9162 compact
// range and proofs, C2SP signed notes and checkpoints, object naming, encoding and parsing) and
// the verifier over a store's ObjectReader. It imports nothing but itself and @noble/*, so it runs
// unchanged in a browser, Deno or Bun (test/unit/trail/browser.test.ts bundles and runs it).
export { type TrailErrorCode, TailsealError, isTailsealError } from './errors.js';
export {
  EMPTY_ROOT,
  HASH_SIZE,
  type Sha256,
  equalBytes,
  fromBase64Strict,
  fromHex,
  hashChildren,
  hashLeaf,
  sha256,
  sha256Hex,
  toBase64,
  toHex,
} from './hash.js';
export {
  CHAIN_START,
  ENVELOPE_VERSION,
  ENVELOPE_VERSION_META,
  type Envelope,
  type RecordKind,
  encodeEnvelope,
  envelopeLeafHash,
  nextChain,
} from './envelope.js';
export { CompactRange, MAX_PROOF_LENGTH, verifyConsistency, verifyInclusion } from './merkle.js';
export { consistencyProof, consistencyProofFrom, inclusionProof, subtreeRoot } from './proofs.js';
export {
  type AddCheckpointRequest,
  MAX_ADD_CHECKPOINT_BYTES,
  MAX_PROOF_LINES,
  TLOG_SIZE_CONTENT_TYPE,
  formatAddCheckpoint,
  formatTlogSize,
  parseAddCheckpoint,
  parseCosignatureLines,
  parseTlogSize,
} from './witness-protocol.js';
export {
  type ConsistencyBundle,
  type InclusionBundle,
  type InclusionProof,
  PROOF_BUNDLE_TYPE,
  PROOF_BUNDLE_VERSION,
  type ProofBundle,
  type VerifiedConsistency,
  type VerifiedInclusion,
  parseProofBundle,
  serializeProofBundle,
  verifyProofBundle,
} from './bundle.js';
export {
  type NoteSigner,
  type NoteVerifier,
  generateKeyPair,
  keyId,
  parseSignerKey,
  parseVerifierKey,
  parseVerifierKeys,
  verifierKeyFromSigner,
} from './keys.js';
export { MAX_NOTE_SIGNATURES, type SignatureLine, openNote, signNote, splitNote } from './note.js';
export {
  COSIGNATURE_SIZE,
  COSIGNATURE_V1_TYPE,
  type Cosignature,
  DEFAULT_MAX_FUTURE_SECONDS,
  type VerifyCosignaturesOptions,
  type WitnessSigner,
  type WitnessVerifier,
  cosign,
  cosignatureMessage,
  generateWitnessKeyPair,
  parseWitnessSignerKey,
  parseWitnessVerifierKey,
  parseWitnessVerifierKeys,
  verifyCosignatures,
} from './cosignature.js';
export {
  COSIGNED_SUFFIX,
  MAX_COSIGNED_BYTES,
  type WitnessedCheckpoint,
  cosignedObjectName,
  isStorableOrigin,
  newestWitnessed,
  parseCosignedObjectName,
} from './witness-store.js';
export { type Checkpoint, formatCheckpoint, openCheckpoint, parseCheckpoint, signCheckpoint } from './checkpoint.js';
export { type Gunzip, gunzipWeb, isGzip } from './gzip.js';
export {
  DEFAULT_MAX_OBJECT_BYTES,
  OBJECT_FORMAT_VERSION,
  type ObjectLine,
  type ParsedObject,
  type StoredEntry,
  encodeCheckpointLine,
  encodeEntryLine,
  formatExtension,
  objectFileName,
  objectLines,
  objectName,
  objectText,
  parseExtension,
  parseObject,
  parseObjectText,
} from './object.js';
export { type StoreTampering, describeTampering, tamperedError } from './tampering.js';
export {
  type DuplicateObject,
  type GapInfo,
  type ObjectReader,
  type ObjectRetention,
  type ResumeState,
  type RetentionReader,
  type StampReader,
  type StreamReport,
  type TamperingReporter,
  type TrailTail,
  type VerifyOptions,
  readsRetention,
  readsStamps,
  reportsTampering,
  storeTampering,
  verifyTrail,
} from './verify-trail.js';
