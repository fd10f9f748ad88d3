// `tailseal prove` and `tailseal verify-proof`: a proof bundle (docs/trail-format.md §7) for one
// decision, made from a verified store, and checked offline with nothing but the public key.
import { readFileSync, writeFileSync } from 'node:fs';
import { loadVerifierKeys } from '../seal/keyfile.js';
import { NODE_VERIFY } from '../seal/gzip.js';
import { nodeHashChildren } from '../seal/hash.js';
import { TailsealError, errorMessage } from '../errors.js';
import {
  type InclusionProof,
  type StoredEntry,
  consistencyProof,
  describeTampering,
  encodeEntryLine,
  inclusionProof,
  openCheckpoint,
  parseProofBundle,
  serializeProofBundle,
  storeTampering,
  verifyProofBundle,
  verifyTrail,
} from '../trail/index.js';
import { EXIT_FAILURE, EXIT_OK, USAGE_CODES } from './exit.js';
import { type StoreOptions, readerFor } from './verify.js';

export interface ProveCliOptions extends StoreOptions {
  publicKey: string[];
  stream?: string;
  seq?: string;
  decisionId?: string;
  out?: string;
  /** Prove that the checkpoint in file `old` is a prefix of the store's newest one. */
  consistency?: boolean;
  old?: string;
  /** The auditor's index (`tailseal index`): updated first, then only the objects holding the entries are read. */
  index?: string;
}

const DECODER = new TextDecoder('utf-8', { ignoreBOM: true });

/** The decision_id of a decision entry's payload, or undefined (not JSON, or no string id). */
export function decisionIdOf(e: StoredEntry, needle?: Buffer): string | undefined {
  if (e.envelope.kind !== 'decision') return undefined;
  const p = e.envelope.payload;
  // Cheap pre-filter on the bytes: most entries never reach JSON.parse.
  if (needle && !Buffer.from(p.buffer, p.byteOffset, p.byteLength).includes(needle)) return undefined;
  try {
    const id = (JSON.parse(DECODER.decode(p)) as { decision_id?: unknown }).decision_id;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

/** The index path (prove-indexed.ts), loaded only with --index: SQLite is not needed otherwise. */
const indexedTrees: typeof import('./prove-indexed.js').indexedTrees = async (...args) =>
  (await import('./prove-indexed.js')).indexedTrees(...args);

function parseSeq(s: string): number {
  if (!/^(0|[1-9][0-9]{0,15})$/.test(s) || !Number.isSafeInteger(Number(s)))
    throw new TailsealError('USAGE', `--seq ${JSON.stringify(s)} is not a sequence number`);
  return Number(s);
}

/** What a verified pass over the store gives a proof: every origin's leaf hashes and newest checkpoint. */
export interface Trees {
  leaves: Map<string, Uint8Array[]>;
  newest: Map<string, { size: number; note: string }>;
}

/** What `prove` looks for: a decision_id, or one stream's seq. */
export type Wanted = { decisionId: string } | { stream: string; seq: number };

/**
 * Verifies the store as `verify` does, keeping each origin's leaf hashes (only `origin`'s when
 * given) and its newest checkpoint; `onEntry` sees every verified entry. Throws the first break.
 */
async function verifiedTrees(
  o: ProveCliOptions,
  verifiers: ReturnType<typeof loadVerifierKeys>,
  only?: string,
  onEntry?: (origin: string, entry: StoredEntry) => void,
): Promise<Trees> {
  const trees: Trees = { leaves: new Map(), newest: new Map() };
  const { reader, close } = readerFor(o);
  try {
    await verifyTrail(reader, {
      verifiers,
      ...NODE_VERIFY,
      onEntry: (origin, entry, leaf) => {
        if (only === undefined || origin === only)
          (trees.leaves.get(origin) ?? trees.leaves.set(origin, []).get(origin)!).push(leaf);
        onEntry?.(origin, entry);
      },
      // Objects come in signed-size order: the last checkpoint of an origin is its newest.
      onCheckpoint: (origin, size, note) => trees.newest.set(origin, { size, note }),
    });
  } finally {
    await close();
  }
  for (const t of storeTampering(reader)) process.stderr.write(`warning: STORE_TAMPERED: ${describeTampering(t)}\n`);
  return trees;
}

export async function proveCommand(o: ProveCliOptions): Promise<number> {
  if (o.consistency || o.old !== undefined) return proveConsistency(o);
  const byId = o.decisionId !== undefined;
  if (
    byId === (o.stream !== undefined || o.seq !== undefined) ||
    (!byId && (o.stream === undefined || o.seq === undefined))
  )
    throw new TailsealError('USAGE', 'give either --stream and --seq, or --decision-id');
  const seq = o.seq === undefined ? -1 : parseSeq(o.seq);
  // The pre-filter looks for the id's bytes, which only holds when JSON can spell it one way only
  // (printable ASCII, no quote or backslash); any other id parses every decision's payload.
  const plain = /^[\x20-\x21\x23-\x5b\x5d-\x7e]*$/.test(o.decisionId ?? '');
  const needle = Buffer.from(plain ? (o.decisionId ?? '') : '', 'utf8');
  const verifiers = loadVerifierKeys(o.publicKey);

  // Verify the whole store as `verify` does, keeping every leaf hash and the matching entries.
  let found: { origin: string; entry: StoredEntry }[] = [];
  let trees: Trees;
  try {
    if (o.index !== undefined) {
      const wanted: Wanted = byId ? { decisionId: o.decisionId! } : { stream: o.stream!, seq };
      ({ found, trees } = await indexedTrees({ ...o, index: o.index }, verifiers, wanted));
    } else {
      trees = await verifiedTrees(o, verifiers, undefined, (origin, entry) => {
        const e = entry.envelope;
        const match = byId ? decisionIdOf(entry, needle) === o.decisionId : e.stream === o.stream && e.seq === seq;
        if (match) found.push({ origin, entry });
      });
    }
  } catch (err) {
    if (!(err instanceof TailsealError) || USAGE_CODES.has(err.code)) throw err;
    process.stdout.write(`FAIL ${err.code}: ${err.message}\n`);
    return EXIT_FAILURE;
  }
  const { leaves, newest } = trees;
  if (found.length === 0) {
    const what = byId ? `decision_id ${JSON.stringify(o.decisionId)}` : `stream ${o.stream} seq ${seq}`;
    throw new TailsealError('NOT_FOUND', `the store holds no entry with ${what}`);
  }
  const proofs = found.map(({ origin, entry }): InclusionProof => {
    const cp = newest.get(origin)!;
    const e = entry.envelope;
    return {
      stream: e.stream,
      seq: e.seq,
      leafIndex: e.seq,
      treeSize: cp.size,
      entry: DECODER.decode(encodeEntryLine(e, entry.chain)),
      auditPath: inclusionProof(e.seq, leaves.get(origin)!.slice(0, cp.size), nodeHashChildren),
      checkpoint: cp.note,
    };
  });
  const bundle = { kind: 'inclusion' as const, proofs };
  // What is written must verify: a bug here must not hand an auditor a bundle that fails.
  verifyProofBundle(bundle, verifiers);
  writeBundle(
    o,
    serializeProofBundle(bundle),
    proofs.map((p) => `proved stream ${p.stream} seq ${p.seq} in the tree of ${p.treeSize} entries`),
  );
  return EXIT_OK;
}

/** Writes the bundle to --out (which must not exist) or stdout. */
function writeBundle(o: ProveCliOptions, text: string, summary: string[]): void {
  if (o.out === undefined) {
    process.stdout.write(text);
    return;
  }
  writeFileSync(o.out, text, { flag: 'wx' });
  for (const line of summary) process.stdout.write(`${line}\n`);
  process.stdout.write(`wrote ${o.out}\n`);
}

/**
 * `prove --consistency --old FILE`: verifies the store, then proves that the tree the saved
 * checkpoint signed is a prefix of the newest tree of its origin. When it is not (the store was
 * rewritten, even if re-signed with the same key since), exit 1 with PROOF_INVALID.
 */
async function proveConsistency(o: ProveCliOptions): Promise<number> {
  if (!o.consistency || o.old === undefined) throw new TailsealError('USAGE', '--consistency and --old go together');
  if (o.decisionId !== undefined || o.stream !== undefined || o.seq !== undefined)
    throw new TailsealError('USAGE', '--consistency takes no --decision-id, --stream or --seq');
  const verifiers = loadVerifierKeys(o.publicKey);
  let oldNote: string;
  try {
    oldNote = readFileSync(o.old, 'utf8');
  } catch (err) {
    throw new TailsealError('USAGE', `cannot read --old ${o.old}: ${errorMessage(err)}`);
  }
  try {
    // The saved checkpoint is believed only once a trusted key's signature on it verifies.
    const old = openCheckpoint(oldNote, verifiers).checkpoint;
    const { leaves, newest } =
      o.index === undefined
        ? await verifiedTrees(o, verifiers, old.origin)
        : (await indexedTrees({ ...o, index: o.index }, verifiers, { origin: old.origin })).trees;
    const cp = newest.get(old.origin);
    if (cp === undefined) throw new TailsealError('NOT_FOUND', `the store holds no object of ${old.origin}`);
    if (old.size > cp.size)
      throw new TailsealError(
        'TAIL_TRUNCATED',
        `the saved checkpoint has ${old.size} entries but the store's newest has ${cp.size}: entries were removed`,
      );
    const tree = leaves.get(old.origin)!.slice(0, cp.size);
    const bundle = {
      kind: 'consistency' as const,
      oldCheckpoint: oldNote,
      newCheckpoint: cp.note,
      proof: consistencyProof(old.size, tree, nodeHashChildren),
    };
    try {
      verifyProofBundle(bundle, verifiers);
    } catch (err) {
      if (!(err instanceof TailsealError) || err.code !== 'PROOF_INVALID') throw err;
      throw new TailsealError(
        'PROOF_INVALID',
        `the store's first ${old.size} entries of ${old.origin} are not the tree the saved checkpoint signed: ` +
          'the history was rewritten since',
      );
    }
    writeBundle(o, serializeProofBundle(bundle), [
      `proved ${old.origin}: ${old.size} entries are a prefix of ${cp.size}`,
    ]);
    return EXIT_OK;
  } catch (err) {
    if (!(err instanceof TailsealError) || USAGE_CODES.has(err.code) || err.code === 'NOT_FOUND') throw err;
    process.stdout.write(`FAIL ${err.code}: ${err.message}\n`);
    return EXIT_FAILURE;
  }
}

export interface VerifyProofCliOptions {
  publicKey: string[];
  json?: boolean;
}

export function verifyProofCommand(file: string, o: VerifyProofCliOptions): number {
  const verifiers = loadVerifierKeys(o.publicKey);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new TailsealError('USAGE', `cannot read ${file}: ${errorMessage(err)}`);
  }
  try {
    const bundle = parseProofBundle(text);
    if (bundle.kind === 'consistency') {
      const c = verifyProofBundle(bundle, verifiers);
      if (o.json) process.stdout.write(JSON.stringify({ ok: true, consistency: c }) + '\n');
      else
        process.stdout.write(
          `OK ${c.origin}: the tree of ${c.oldSize} entries (checkpoint of ${new Date(c.oldTime).toISOString()}) ` +
            `is a prefix of the tree of ${c.newSize} entries (checkpoint of ${new Date(c.newTime).toISOString()}), ` +
            `signed by ${c.signedBy.join(', ')}\n`,
        );
      return EXIT_OK;
    }
    const proven = verifyProofBundle(bundle, verifiers);
    if (o.json) {
      const proofs = proven.map((p) => ({
        stream: p.envelope.stream,
        seq: p.envelope.seq,
        kind: p.envelope.kind,
        sealed_at: p.envelope.sealedAt,
        origin: p.origin,
        tree_size: p.treeSize,
        checkpoint_time: p.checkpointTime,
        signed_by: p.signedBy,
      }));
      process.stdout.write(JSON.stringify({ ok: true, proofs }) + '\n');
    } else {
      for (const p of proven) {
        const e = p.envelope;
        process.stdout.write(
          `OK stream ${e.stream} seq ${e.seq} (${e.kind}, sealed ${new Date(e.sealedAt).toISOString()}) is in the ` +
            `tree of ${p.treeSize} entries of ${p.origin}, checkpoint of ${new Date(p.checkpointTime).toISOString()} ` +
            `signed by ${p.signedBy.join(', ')}\n`,
        );
      }
    }
    return EXIT_OK;
  } catch (err) {
    if (!(err instanceof TailsealError) || USAGE_CODES.has(err.code)) throw err;
    if (o.json)
      process.stdout.write(JSON.stringify({ ok: false, code: err.code, message: err.message, ...err.details }) + '\n');
    else process.stdout.write(`FAIL ${err.code}: ${err.message}\n`);
    return EXIT_FAILURE;
  }
}
