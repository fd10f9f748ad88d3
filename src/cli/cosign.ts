// `tailseal cosign`: a one-shot witness (docs/trail-format.md §8). It verifies the store as verify
// does, then per origin cosigns the newest checkpoint only if it is consistent with the last one
// this witness cosigned (its --state): a larger tree with a consistency proof from the verified
// leaves, never a second root at one size nor a smaller tree. The state also keeps where the last
// verification ended, so a run reads only the new objects and continues the cosigned trees
// themselves (consistent by construction); when the state does not fit the store, or the new
// objects do not continue it, the run verifies the whole store as without state. The cosigned
// note goes to the witness store, a directory or bucket prefix the writers cannot write
// (src/sinks/witness/writer.ts).
import { resolve } from 'node:path';
import { TailsealError, errorMessage } from '../errors.js';
import { countingReader } from '../monitor/readers.js';
import { NODE_VERIFY } from '../seal/gzip.js';
import { nodeHashChildren } from '../seal/hash.js';
import { loadVerifierKeys, loadWitnessSignerKey } from '../seal/keyfile.js';
import { parseS3Url } from '../sinks/s3/reader.js';
import {
  DEFAULT_MAX_OBJECT_BYTES,
  consistencyProof,
  cosign,
  cosignedObjectName,
  equalBytes,
  openCheckpoint,
  toBase64,
  verifyConsistency,
  verifyTrail,
} from '../trail/index.js';
import type { NoteVerifier } from '../trail/keys.js';
import type { ObjectReader, ResumeState, StreamReport, VerifyOptions } from '../trail/verify-trail.js';
import { EXIT_FAILURE, EXIT_OK, USAGE_CODES } from './exit.js';
import { type StoreOptions, readerFor } from './verify.js';
import {
  type CosignedState,
  type VerifiedOrigin,
  type WitnessState,
  readWitnessState,
  writeWitnessState,
} from './witness-state.js';
import { witnessWriter } from './witness-store.js';

export interface CosignCliOptions extends StoreOptions {
  publicKey: string[];
  /** Verify the whole store even when the state could continue from where the last run ended. */
  full?: boolean;
  witnessKey: string;
  witnessStore: string;
  state: string;
  json?: boolean;
}

/**
 * A stream's leaf hashes packed 32 bytes each in one growing buffer: a million leaves take 32 MB,
 * not a million small arrays. Views are made only for the consistency proof.
 */
class LeafHashes {
  private buf = new Uint8Array(32 * 1024);
  private n = 0;
  push(leaf: Uint8Array): void {
    if ((this.n + 1) * 32 > this.buf.length) {
      const next = new Uint8Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf.set(leaf, this.n * 32);
    this.n++;
  }
  /** The first `count` leaves (fewer if fewer were pushed), as views. */
  views(count: number): Uint8Array[] {
    return Array.from({ length: Math.min(count, this.n) }, (_, i) => this.buf.subarray(i * 32, i * 32 + 32));
  }
}

type Outcome =
  | { origin: string; result: 'cosigned'; size: number; object: string }
  | { origin: string; result: 'unchanged'; size: number }
  | { origin: string; result: 'refused'; size: number; code: string; message: string };

function fork(origin: string, size: number, message: string): Outcome {
  return { origin, result: 'refused', size, code: 'CHECKPOINT_FORK', message };
}

/** Why the newest checkpoint cannot be cosigned after `prev`, or undefined when it is consistent. */
function refusal(
  origin: string,
  prev: CosignedState,
  size: number,
  root: Uint8Array,
  leaves: LeafHashes | undefined,
): Outcome | undefined {
  if (size < prev.size)
    return fork(
      origin,
      size,
      `${origin}: the store's newest checkpoint has size ${size}, below the size ${prev.size} this witness ` +
        'cosigned: the log rolled back (or its newest objects were removed)',
    );
  if (size === prev.size) {
    if (equalBytes(root, prev.rootHash)) return undefined;
    return fork(
      origin,
      size,
      `${origin}: the store's checkpoint of size ${size} has root ${toBase64(root)}, but this witness cosigned ` +
        `root ${toBase64(prev.rootHash)} at that size: the log presented a fork`,
    );
  }
  try {
    verifyConsistency(
      prev.size,
      size,
      consistencyProof(prev.size, leaves?.views(size) ?? [], nodeHashChildren),
      prev.rootHash,
      root,
    );
    return undefined;
  } catch (err) {
    return fork(
      origin,
      size,
      `${origin}: the store's tree of size ${size} does not extend the tree of size ${prev.size} this witness ` +
        `cosigned (${errorMessage(err)}): the log presented a fork`,
    );
  }
}

/** What one verification of the store gave: per origin its report and newest checkpoint note. */
interface Run {
  reports: StreamReport[];
  newest: Map<string, string>;
  leaves: Map<string, LeafHashes>;
  /** The walk continued each cosigned origin's verified state (no consistency proof needed). */
  incremental: boolean;
}

/**
 * The incremental options when the state fits the store: the same store, every cosigned origin
 * verified up to exactly its cosigned tree (size and root), and every object read before still
 * listed. Otherwise undefined: a full run.
 */
function resumeFrom(
  state: WitnessState,
  store: string,
  listed: ReadonlySet<string>,
): VerifyOptions['incremental'] | undefined {
  const v = state.verified;
  if (!v || v.store !== store) return undefined;
  for (const [origin, c] of state.origins) {
    const r = v.origins.get(origin)?.resume;
    if (!r || r.size !== c.size || !equalBytes(r.edge.root(), c.rootHash)) return undefined;
  }
  const skip = new Set<string>();
  const from = new Map<string, ResumeState>();
  for (const [origin, o] of v.origins) {
    const digests = new Map<string, string>();
    for (const [name, digest] of o.objects) {
      if (!listed.has(name)) return undefined; // removed: the full run says what that means
      skip.add(name);
      if (digest !== null) digests.set(digest, name);
    }
    from.set(origin, { ...o.resume, edge: o.resume.edge.clone(), digests });
  }
  return { skip, from };
}

async function verifyRun(
  reader: ObjectReader,
  verifiers: NoteVerifier[],
  state: WitnessState,
  incremental?: VerifyOptions['incremental'],
): Promise<Run> {
  // Leaf hashes, on a full run, only of the streams this witness cosigned before (a first
  // cosignature needs no proof); an incremental run continues the cosigned trees themselves.
  const leaves = new Map<string, LeafHashes>();
  if (!incremental) for (const origin of state.origins.keys()) leaves.set(origin, new LeafHashes());
  const newest = new Map<string, string>();
  const reports = await verifyTrail(reader, {
    verifiers,
    maxObjectBytes: DEFAULT_MAX_OBJECT_BYTES,
    ...NODE_VERIFY,
    ...(incremental ? { incremental } : {}),
    onEntry: (origin, _e, leaf) => {
      leaves.get(origin)?.push(leaf);
    },
    onCheckpoint: (origin, _size, note) => newest.set(origin, note),
  });
  // Incrementally, an origin with nothing new keeps the newest note verified before.
  for (const r of reports)
    if (!newest.has(r.origin)) newest.set(r.origin, state.verified?.origins.get(r.origin)?.note ?? '');
  return { reports, newest, leaves, incremental: incremental !== undefined };
}

export async function cosignCommand(o: CosignCliOptions): Promise<number> {
  const verifiers = loadVerifierKeys(o.publicKey);
  const witness = loadWitnessSignerKey(o.witnessKey);
  const state = readWitnessState(o.state, witness.verifierKey);
  const store = parseS3Url(o.store) ? o.store : resolve(o.store);
  const { reader: inner, close } = readerFor(o);
  const read = new Set<string>();
  const counting = countingReader(inner, read);
  let run: Run;
  try {
    // Listed once (a bucket listing is the costly part of a run with little new).
    const listed = await counting.list();
    const reader: ObjectReader = { ...counting, list: () => Promise.resolve(listed) };
    const incremental = o.full ? undefined : resumeFrom(state, store, new Set(listed));
    try {
      run = await verifyRun(reader, verifiers, state, incremental);
    } catch (err) {
      // New objects that do not continue what was verified (a break, a second history): the full
      // run decides, as without state, whether the store is broken or presents a fork.
      if (!incremental || !(err instanceof TailsealError) || USAGE_CODES.has(err.code)) throw err;
      run = await verifyRun(reader, verifiers, state);
    }
  } catch (err) {
    if (!(err instanceof TailsealError) || USAGE_CODES.has(err.code)) throw err;
    const out = { ok: false, code: err.code, message: err.message };
    process.stdout.write(o.json ? JSON.stringify(out) + '\n' : `FAIL ${err.code}: ${err.message} (nothing cosigned)\n`);
    return EXIT_FAILURE;
  } finally {
    await close();
  }
  const { reports, newest, leaves } = run;

  const outcomes: Outcome[] = [];
  const writer = witnessWriter(o, o.witnessStore);
  try {
    for (const r of reports) {
      const note = newest.get(r.origin)!;
      const { checkpoint } = openCheckpoint(note, verifiers, r.origin);
      const { size, rootHash } = checkpoint;
      const prev = state.origins.get(r.origin);
      const refused = prev && !run.incremental && refusal(r.origin, prev, size, rootHash, leaves.get(r.origin));
      if (refused) {
        outcomes.push(refused);
        continue;
      }
      if (prev && prev.size === size && (await writer.published(r.origin, size))) {
        outcomes.push({ origin: r.origin, result: 'unchanged', size });
        continue;
      }
      const time = Math.floor(Date.now() / 1000);
      const name = cosignedObjectName(r.origin, size, time);
      const cosigned = cosign(note, witness, time);
      // 1. The state first: once this checkpoint is published, no inconsistent one may follow it,
      //    even if the process dies right after publishing. A crash before step 2 leaves a state
      //    ahead of the store, which the next run sees (same size, same root, nothing published) and
      //    publishes then.
      state.origins.set(r.origin, { size, rootHash, time });
      writeWitnessState(o.state, state);
      // 2. The cosigned note, never over an existing object.
      await writer.publish(name, cosigned);
      outcomes.push({ origin: r.origin, result: 'cosigned', size, object: name });
    }
    // 3. Where this verification ended, for the next run to continue from (origins cosigned or
    //    unchanged; a refused one is verified in full again). Written last: a crash before it leaves
    //    a verified state behind the cosigned one, which does not fit, so the next run is full.
    const verified = new Map(run.incremental ? state.verified!.origins : []);
    for (const r of reports) {
      if (outcomes.some((x) => x.origin === r.origin && x.result === 'refused')) verified.delete(r.origin);
      else
        verified.set(r.origin, {
          resume: r.resume,
          note: newest.get(r.origin)!,
          objects: objectsOf(r, verified.get(r.origin)),
        });
    }
    state.verified = { store, origins: verified };
    writeWitnessState(o.state, state);
  } finally {
    await writer.close();
  }

  const refused = outcomes.filter((x) => x.result === 'refused');
  const summary = { ok: refused.length === 0, incremental: run.incremental, objects_read: read.size, outcomes };
  if (o.json) process.stdout.write(JSON.stringify(summary) + '\n');
  else
    for (const x of outcomes) {
      if (x.result === 'cosigned') process.stdout.write(`COSIGNED ${x.origin} at size ${x.size}: ${x.object}\n`);
      else if (x.result === 'unchanged')
        process.stdout.write(`UNCHANGED ${x.origin} at size ${x.size}: already cosigned\n`);
      else process.stdout.write(`REFUSED ${x.code}: ${x.message}\n`);
    }
  return refused.length > 0 ? EXIT_FAILURE : EXIT_OK;
}

/** The objects verified of an origin: those before (incrementally) and those this run read, with their digests. */
function objectsOf(r: StreamReport, before?: VerifiedOrigin): Map<string, string | null> {
  const objects = new Map(before?.objects ?? []);
  const byName = new Map([...r.resume.digests].map(([digest, name]) => [name, digest]));
  for (const name of r.objectNames) objects.set(name, byName.get(name) ?? null);
  for (const d of r.duplicates) objects.set(d.object, null);
  return objects;
}
