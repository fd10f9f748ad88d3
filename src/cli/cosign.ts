// `tailseal cosign`: a one-shot witness (docs/trail-format.md §8). It verifies the store as verify
// does, then per origin cosigns the newest checkpoint only if it is consistent with the last one
// this witness cosigned (its --state): a larger tree with a consistency proof from the verified
// leaves, never a second root at one size nor a smaller tree. The cosigned note goes to the
// witness store, a directory or bucket prefix the writers cannot write (src/sinks/witness/writer.ts).
import { TailsealError, errorMessage } from '../errors.js';
import { NODE_VERIFY } from '../seal/gzip.js';
import { nodeHashChildren } from '../seal/hash.js';
import { loadVerifierKeys, loadWitnessSignerKey } from '../seal/keyfile.js';
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
import { EXIT_FAILURE, EXIT_OK, USAGE_CODES } from './exit.js';
import { type StoreOptions, readerFor } from './verify.js';
import { type CosignedState, readWitnessState, writeWitnessState } from './witness-state.js';
import { witnessWriter } from './witness-store.js';

export interface CosignCliOptions extends StoreOptions {
  publicKey: string[];
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

export async function cosignCommand(o: CosignCliOptions): Promise<number> {
  const verifiers = loadVerifierKeys(o.publicKey);
  const witness = loadWitnessSignerKey(o.witnessKey);
  const state = readWitnessState(o.state, witness.verifierKey);
  // Leaf hashes only of the streams this witness cosigned before (a first cosignature needs no proof).
  const leaves = new Map<string, LeafHashes>();
  for (const origin of state.origins.keys()) leaves.set(origin, new LeafHashes());
  const newest = new Map<string, string>();
  const { reader, close } = readerFor(o);
  let reports;
  try {
    reports = await verifyTrail(reader, {
      verifiers,
      maxObjectBytes: DEFAULT_MAX_OBJECT_BYTES,
      ...NODE_VERIFY,
      onEntry: (origin, _e, leaf) => {
        leaves.get(origin)?.push(leaf);
      },
      onCheckpoint: (origin, _size, note) => newest.set(origin, note),
    });
  } catch (err) {
    if (!(err instanceof TailsealError) || USAGE_CODES.has(err.code)) throw err;
    const out = { ok: false, code: err.code, message: err.message };
    process.stdout.write(o.json ? JSON.stringify(out) + '\n' : `FAIL ${err.code}: ${err.message} (nothing cosigned)\n`);
    return EXIT_FAILURE;
  } finally {
    await close();
  }

  const outcomes: Outcome[] = [];
  const writer = witnessWriter(o, o.witnessStore);
  try {
    for (const r of reports) {
      const note = newest.get(r.origin)!;
      const { checkpoint } = openCheckpoint(note, verifiers, r.origin);
      const { size, rootHash } = checkpoint;
      const prev = state.origins.get(r.origin);
      const refused = prev && refusal(r.origin, prev, size, rootHash, leaves.get(r.origin));
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
  } finally {
    await writer.close();
  }

  const refused = outcomes.filter((x) => x.result === 'refused');
  if (o.json) process.stdout.write(JSON.stringify({ ok: refused.length === 0, outcomes }) + '\n');
  else
    for (const x of outcomes) {
      if (x.result === 'cosigned') process.stdout.write(`COSIGNED ${x.origin} at size ${x.size}: ${x.object}\n`);
      else if (x.result === 'unchanged')
        process.stdout.write(`UNCHANGED ${x.origin} at size ${x.size}: already cosigned\n`);
      else process.stdout.write(`REFUSED ${x.code}: ${x.message}\n`);
    }
  return refused.length > 0 ? EXIT_FAILURE : EXIT_OK;
}
