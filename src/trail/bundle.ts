// Proof bundles, format version 1: what `tailseal prove` writes and `tailseal verify-proof` checks
// offline, with no store (docs/trail-format.md §7). A bundle is one JSON object:
//
//   {"bundle":"tailseal-proof","version":1,"kind":"inclusion","proofs":[
//     {"stream":"opa","seq":7,"leaf_index":7,"tree_size":12,
//      "entry":"<the entry line exactly as stored, with its \n>",
//      "audit_path":["<base64 32 bytes>",...],
//      "checkpoint":"<the signed checkpoint note the path leads to>"}, ...]}
//
// A consistency bundle ("kind":"consistency") has, instead of "proofs", "old_checkpoint",
// "new_checkpoint" (signed notes of one origin) and "proof" (RFC 9162 PROOF(old size, new tree)):
// the tree an auditor saved earlier is a prefix of the newer one, so no history was rewritten.
//
// One bundle may hold several proofs: every occurrence of a decision_id OPA reused. Every member
// is checked and any other member is BUNDLE_MALFORMED: a verifier must not skip what it does not
// know. Verification trusts nothing in the bundle before the checkpoint's signature is verified.
import { openCheckpoint } from './checkpoint.js';
import { type Envelope, envelopeLeafHash } from './envelope.js';
import { TailsealError } from './errors.js';
import { HASH_SIZE, fromBase64Strict, toBase64 } from './hash.js';
import { type NoteVerifier } from './keys.js';
import { MAX_PROOF_LENGTH, verifyConsistency, verifyInclusion } from './merkle.js';
import { objectLines, parseExtension } from './object.js';

/** The value of a bundle's "bundle" member. */
export const PROOF_BUNDLE_TYPE = 'tailseal-proof';
/** The version this code writes and the only one it reads. */
export const PROOF_BUNDLE_VERSION = 1;

/** One inclusion proof: entry `seq` of `stream` is leaf `leafIndex` of the tree the checkpoint signs. */
export interface InclusionProof {
  stream: string;
  seq: number;
  leafIndex: number;
  treeSize: number;
  /** The entry line exactly as stored, with its final "\n". */
  entry: string;
  auditPath: Uint8Array[];
  /** The signed checkpoint note (c2sp.org/tlog-checkpoint) of a tree of treeSize leaves. */
  checkpoint: string;
}

export interface InclusionBundle {
  kind: 'inclusion';
  proofs: InclusionProof[];
}

/** Proof that the tree of `oldCheckpoint` is a prefix of the tree of `newCheckpoint`. */
export interface ConsistencyBundle {
  kind: 'consistency';
  oldCheckpoint: string;
  newCheckpoint: string;
  proof: Uint8Array[];
}

export type ProofBundle = InclusionBundle | ConsistencyBundle;

/** What a verified consistency bundle established. */
export interface VerifiedConsistency {
  origin: string;
  oldSize: number;
  newSize: number;
  oldTime: number;
  newTime: number;
  signedBy: string[];
}

/** What a verified inclusion proof established. */
export interface VerifiedInclusion {
  envelope: Envelope;
  origin: string;
  treeSize: number;
  /** The tailseal/v1 extension's signing time (Unix ms). */
  checkpointTime: number;
  signedBy: string[];
}

function malformed(why: string, details: Record<string, unknown> = {}): TailsealError {
  return new TailsealError('BUNDLE_MALFORMED', `proof bundle: ${why}`, { details });
}

const BUNDLE_MEMBERS = ['bundle', 'version', 'kind', 'proofs'];
const CONSISTENCY_MEMBERS = ['bundle', 'version', 'kind', 'old_checkpoint', 'new_checkpoint', 'proof'];
const INCLUSION_MEMBERS = ['stream', 'seq', 'leaf_index', 'tree_size', 'entry', 'audit_path', 'checkpoint'];

function object(v: unknown, what: string, members: string[]): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw malformed(`${what} is not a JSON object`);
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (!members.includes(k)) throw malformed(`${what} has an unknown member ${JSON.stringify(k)}`);
  for (const k of members) if (!(k in o)) throw malformed(`${what} lacks the member ${JSON.stringify(k)}`);
  return o;
}

function str(o: Record<string, unknown>, k: string, what: string): string {
  if (typeof o[k] !== 'string') throw malformed(`${what}.${k} is not a string`);
  return o[k];
}

function int(o: Record<string, unknown>, k: string, what: string): number {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    throw malformed(`${what}.${k} is not an integer from 0 to 2^53-1`);
  return v;
}

function hashes(o: Record<string, unknown>, k: string, what: string): Uint8Array[] {
  const v = o[k];
  if (!Array.isArray(v)) throw malformed(`${what}.${k} is not an array`);
  if (v.length > MAX_PROOF_LENGTH) throw malformed(`${what}.${k} has more than ${MAX_PROOF_LENGTH} hashes`);
  return v.map((h: unknown, i) => {
    if (typeof h !== 'string') throw malformed(`${what}.${k}[${i}] is not a string`);
    const bytes = fromBase64Strict(h, `${what}.${k}[${i}]`, 'BUNDLE_MALFORMED');
    if (bytes.length !== HASH_SIZE) throw malformed(`${what}.${k}[${i}] is not ${HASH_SIZE} bytes`);
    return bytes;
  });
}

/**
 * Parses a bundle's JSON text. Checks the shape only (types, members, encodings): nothing in it
 * is believed until verifyProofBundle has verified it. Throws TailsealError BUNDLE_MALFORMED.
 */
export function parseProofBundle(text: string): ProofBundle {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw malformed('not valid JSON');
  }
  const kind = (v as { kind?: unknown } | null)?.kind;
  const o = object(v, 'bundle', kind === 'consistency' ? CONSISTENCY_MEMBERS : BUNDLE_MEMBERS);
  if (o.bundle !== PROOF_BUNDLE_TYPE) throw malformed(`"bundle" is not ${JSON.stringify(PROOF_BUNDLE_TYPE)}`);
  if (o.version !== PROOF_BUNDLE_VERSION)
    throw malformed(`unsupported version ${JSON.stringify(o.version)} (this tailseal reads ${PROOF_BUNDLE_VERSION})`);
  if (o.kind === 'consistency') {
    return {
      kind: 'consistency',
      oldCheckpoint: str(o, 'old_checkpoint', 'bundle'),
      newCheckpoint: str(o, 'new_checkpoint', 'bundle'),
      proof: hashes(o, 'proof', 'bundle'),
    };
  }
  if (o.kind !== 'inclusion') throw malformed(`unknown kind ${JSON.stringify(o.kind)}`);
  if (!Array.isArray(o.proofs) || o.proofs.length === 0) throw malformed('"proofs" is not a non-empty array');
  const proofs = o.proofs.map((p: unknown, i): InclusionProof => {
    const what = `proofs[${i}]`;
    const q = object(p, what, INCLUSION_MEMBERS);
    return {
      stream: str(q, 'stream', what),
      seq: int(q, 'seq', what),
      leafIndex: int(q, 'leaf_index', what),
      treeSize: int(q, 'tree_size', what),
      entry: str(q, 'entry', what),
      auditPath: hashes(q, 'audit_path', what),
      checkpoint: str(q, 'checkpoint', what),
    };
  });
  return { kind: 'inclusion', proofs };
}

/** The bundle's JSON text (two-space indented, members in the documented order, final "\n"). */
export function serializeProofBundle(b: ProofBundle): string {
  if (b.kind === 'consistency') {
    const c = {
      bundle: PROOF_BUNDLE_TYPE,
      version: PROOF_BUNDLE_VERSION,
      kind: b.kind,
      old_checkpoint: b.oldCheckpoint,
      new_checkpoint: b.newCheckpoint,
      proof: b.proof.map(toBase64),
    };
    return `${JSON.stringify(c, null, 2)}\n`;
  }
  const proofs = b.proofs.map((p) => ({
    stream: p.stream,
    seq: p.seq,
    leaf_index: p.leafIndex,
    tree_size: p.treeSize,
    entry: p.entry,
    audit_path: p.auditPath.map(toBase64),
    checkpoint: p.checkpoint,
  }));
  const text = JSON.stringify(
    { bundle: PROOF_BUNDLE_TYPE, version: PROOF_BUNDLE_VERSION, kind: b.kind, proofs },
    null,
    2,
  );
  return `${text}\n`;
}

const ENCODER = new TextEncoder();
const streamOf = (origin: string): string => origin.slice(origin.lastIndexOf('/') + 1);

function invalid(why: string, i: number): TailsealError {
  return new TailsealError('PROOF_INVALID', `proofs[${i}]: ${why}`, { details: { proof: i } });
}

function verifyOne(p: InclusionProof, i: number, verifiers: NoteVerifier[]): VerifiedInclusion {
  const at = (err: unknown): never => {
    if (err instanceof TailsealError) {
      throw new TailsealError(err.code, `proofs[${i}]: ${err.message}`, { details: { ...err.details, proof: i } });
    }
    throw err;
  };
  // 1. The signature, before anything else in the proof is believed.
  let opened;
  try {
    opened = openCheckpoint(p.checkpoint, verifiers);
  } catch (err) {
    return at(err);
  }
  const { checkpoint } = opened;
  const ours = checkpoint.extensions.filter((l) => l.startsWith('tailseal/v1 ')).length;
  const ext = ours === 1 ? parseExtension(checkpoint.extensions) : null;
  if (!ext) throw new TailsealError('CHECKPOINT_MALFORMED', `proofs[${i}]: no single valid tailseal/v1 extension line`);
  if (streamOf(checkpoint.origin) !== p.stream)
    throw invalid(`stream ${JSON.stringify(p.stream)} is not the checkpoint's origin ${checkpoint.origin}`, i);
  if (checkpoint.size !== p.treeSize)
    throw invalid(`tree_size ${p.treeSize} is not the signed size ${checkpoint.size}`, i);
  // 2. The entry line: canonical, one entry, the one the proof names; its leaf hash.
  let envelope: Envelope | undefined;
  try {
    for (const line of objectLines(ENCODER.encode(p.entry))) {
      if (line.entry === undefined || envelope !== undefined)
        throw new TailsealError('ENTRY_MALFORMED', 'entry is not exactly one entry line');
      envelope = line.entry.envelope;
    }
  } catch (err) {
    return at(err);
  }
  if (envelope === undefined) throw new TailsealError('ENTRY_MALFORMED', `proofs[${i}]: entry is empty`);
  if (envelope.stream !== p.stream || envelope.seq !== p.seq)
    throw invalid(`the entry line is ${envelope.stream}/${envelope.seq}, not ${p.stream}/${p.seq}`, i);
  // A stream's tree has one leaf per entry, in seq order from 0.
  if (p.leafIndex !== p.seq) throw invalid(`leaf_index ${p.leafIndex} is not seq ${p.seq}`, i);
  // 3. The audit path from that leaf to the signed root.
  try {
    verifyInclusion(p.leafIndex, checkpoint.size, envelopeLeafHash(envelope), p.auditPath, checkpoint.rootHash);
  } catch (err) {
    return at(err);
  }
  return {
    envelope,
    origin: checkpoint.origin,
    treeSize: checkpoint.size,
    checkpointTime: ext.time,
    signedBy: opened.verifiedBy.map((v) => v.name),
  };
}

/** Opens a checkpoint note with the keys and its mandatory tailseal/v1 line (what: for messages). */
function openTailsealCheckpoint(note: string, verifiers: NoteVerifier[], what: string) {
  let opened;
  try {
    opened = openCheckpoint(note, verifiers);
  } catch (err) {
    if (err instanceof TailsealError) throw new TailsealError(err.code, `${what}: ${err.message}`);
    throw err;
  }
  const ours = opened.checkpoint.extensions.filter((l) => l.startsWith('tailseal/v1 ')).length;
  const ext = ours === 1 ? parseExtension(opened.checkpoint.extensions) : null;
  if (!ext) throw new TailsealError('CHECKPOINT_MALFORMED', `${what}: no single valid tailseal/v1 extension line`);
  return { ...opened, time: ext.time };
}

function verifyConsistencyBundle(b: ConsistencyBundle, verifiers: NoteVerifier[]): VerifiedConsistency {
  // Both signatures first; then the two trees must be of one origin, the old one no larger.
  const old = openTailsealCheckpoint(b.oldCheckpoint, verifiers, 'old checkpoint');
  const neu = openTailsealCheckpoint(b.newCheckpoint, verifiers, 'new checkpoint');
  const [o, n] = [old.checkpoint, neu.checkpoint];
  if (o.origin !== n.origin)
    throw new TailsealError('PROOF_INVALID', `the checkpoints are of two origins: ${o.origin} and ${n.origin}`);
  if (o.size > n.size)
    throw new TailsealError('PROOF_INVALID', `the old checkpoint (${o.size}) is larger than the new one (${n.size})`);
  verifyConsistency(o.size, n.size, b.proof, o.rootHash, n.rootHash);
  const signedBy = [...new Set([...old.verifiedBy, ...neu.verifiedBy].map((v) => v.name))];
  return { origin: o.origin, oldSize: o.size, newSize: n.size, oldTime: old.time, newTime: neu.time, signedBy };
}

/**
 * Verifies a bundle against the trusted verifier keys, offline. Inclusion: for each proof, the
 * checkpoint's signature first (SIGNATURE_INVALID, NO_TRUSTED_SIGNATURE, CHECKPOINT_MALFORMED),
 * then the entry line (ENTRY_MALFORMED) and its leaf hash, then the audit path to the signed root
 * (PROOF_INVALID); throws the first failure, with `details.proof` its index. Consistency: both
 * signatures, then the RFC 9162 consistency proof between the two signed roots (PROOF_INVALID).
 */
export function verifyProofBundle(bundle: InclusionBundle, verifiers: NoteVerifier[]): VerifiedInclusion[];
export function verifyProofBundle(bundle: ConsistencyBundle, verifiers: NoteVerifier[]): VerifiedConsistency;
export function verifyProofBundle(
  bundle: ProofBundle,
  verifiers: NoteVerifier[],
): VerifiedInclusion[] | VerifiedConsistency;
export function verifyProofBundle(
  bundle: ProofBundle,
  verifiers: NoteVerifier[],
): VerifiedInclusion[] | VerifiedConsistency {
  if (bundle.kind === 'consistency') return verifyConsistencyBundle(bundle, verifiers);
  if (bundle.proofs.length === 0) throw malformed('no proofs');
  return bundle.proofs.map((p, i) => verifyOne(p, i, verifiers));
}
