// Rebuilding a lost state database from the trail a sink already holds (docs/operations.md "Lost state").
// The trail is verified in full with this daemon's key before anything is taken from it: a
// chain is only ever continued from a tail that verifies.
import { TailsealError, isTailsealError } from '../errors.js';
import type { NoteVerifier } from '../trail/keys.js';
import { NODE_VERIFY, objectText } from '../seal/gzip.js';
import { objectLines } from '../trail/object.js';
import { type TrailTail, type ObjectReader, readNamed, verifyTrail } from '../trail/verify-trail.js';

export interface StreamTail extends TrailTail {
  size: number;
  newestCheckpointTime: number;
}

/**
 * The verified tail of each of `streams` (origin `<origin>/<stream>`) that the store holds;
 * streams it does not hold are absent. Throws the verification break (ENTRY_ALTERED ...) or the
 * read error: a trail that does not verify is never continued.
 */
export async function readStreamTails(
  reader: ObjectReader,
  origin: string,
  streams: readonly string[],
  verifiers: NoteVerifier[],
  /** Per object, stored and after gunzip (runtime/read-limits.ts). */
  maxObjectBytes: number,
): Promise<Map<string, StreamTail>> {
  const out = new Map<string, StreamTail>();
  let reports;
  try {
    reports = await verifyTrail(reader, { verifiers, collectTail: true, maxObjectBytes, ...NODE_VERIFY });
  } catch (err) {
    if (isTailsealError(err, 'STORE_EMPTY')) return out;
    // A store whose objects fail to open is this daemon's broken trail only if at least one of
    // them claims to be a checkpointed object of its streams; files that do not (someone
    // else's, or junk) say nothing about a lost state.
    if (!(await holdsOwnObject(reader, origin, streams, maxObjectBytes))) return out;
    throw err;
  }
  for (const r of reports) {
    const stream = streams.find((s) => r.origin === `${origin}/${s}`);
    if (stream !== undefined && r.tail && r.entries > 0)
      out.set(stream, { ...r.tail, size: r.entries, newestCheckpointTime: r.newestCheckpointTime });
  }
  return out;
}

/**
 * Whether the store holds an object whose checkpoint claims one of our streams' origins. The
 * claim is read unverified on purpose: an object of ours that our keys no longer open (a key
 * rotated without its old public key in signing.verify_keys) must stop start-up with its error,
 * not count as "no trail" and have new chains fork the one the store holds.
 */
async function holdsOwnObject(
  reader: ObjectReader,
  origin: string,
  streams: readonly string[],
  maxBytes: number,
): Promise<boolean> {
  const origins = new Set(streams.map((s) => `${origin}/${s}`));
  for (const name of await reader.list()) {
    // Read as verifyTrail reads (bounded, non-blocking). A read failure is not an answer: it
    // propagates, a planted FIFO as STORE_UNSAFE, an object over the limit (ours, written
    // under a larger checkpoint.max_bytes, or not) as ENTRY_MALFORMED.
    const bytes = await readNamed(reader, name, maxBytes);
    const claimed = claimedOrigin(bytes, maxBytes);
    if (claimed !== null && origins.has(claimed)) return true;
  }
  return false;
}

/** The origin line of an object's checkpoint note, unverified; null when it has none. */
function claimedOrigin(bytes: Uint8Array, maxBytes: number): string | null {
  try {
    for (const line of objectLines(objectText(bytes, maxBytes))) {
      if (!line.entry) return line.note.slice(0, line.note.indexOf('\n'));
    }
  } catch (err) {
    // Too large to tell (maybe ours, from a larger checkpoint.max_bytes): never guess.
    if (isTailsealError(err, 'ENTRY_MALFORMED') && err.details.maxBytes !== undefined) throw err;
    // else not an object at all: junk, not ours
  }
  return null;
}

/** The error that stops start-up under `on_state_loss: refuse`, naming the ways forward. */
export function stateLostError(detail: string, sink: string, tails: ReadonlyMap<string, StreamTail>): TailsealError {
  const held = [...tails].map(([s, t]) => `stream ${s} (${t.size} entries)`).join(', ');
  return new TailsealError(
    'STATE_LOST',
    `the state database is lost (${detail}) but sink ${sink} holds the trail of ${held}; starting new chains would ` +
      `fork it. ` +
      'Restore the state directory, or set recovery.on_state_loss to chain_tail (continue the chain; files resume ' +
      'after the last line the trail holds) ' +
      'or end_of_files (continue the chain; what the files hold now is skipped) and start again. ' +
      'See docs/operations.md "Lost state".',
    { details: { sink, streams: [...tails.keys()] } },
  );
}
