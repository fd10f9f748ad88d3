// The state of a one-shot witness (`tailseal cosign --state F`): per origin, the checkpoint it last
// cosigned, and (version 2) where its verification of the store ended, so the next run reads only
// the objects that are new (verifyTrail's incremental mode). A small versioned JSON file, replaced
// atomically (temp file, fsync, rename, fsync of the folder), so a crash leaves the old state or the
// new one, never a mix:
//
//   {"format":"tailseal-witness-state","version":2,"witness":"<witness verifier key>",
//    "origins":{"<origin>":{"size":8,"root":"<base64>","time":1764400000}},
//    "verified":{"store":"<--store>","origins":{"<origin>":{"size":8,"chain_head":"<base64>",
//      "edge":"<base64 CompactRange>","newest_time":1764400000500,"signed_by":["<key name>"],"note":"<newest>",
//      "objects":{"<object name>":"<hex sha-256 of its text, or null for a copy>"}}}}}
//
// Version 1 files (no "verified") are read, and lead to a full run.
import { readFileSync } from 'node:fs';
import { replaceFile } from '../common/synced-file.js';
import { TailsealError, errorMessage } from '../errors.js';
import { CompactRange, fromBase64Strict, toBase64 } from '../trail/index.js';
import type { ResumeState } from '../trail/verify-trail.js';

const FORMAT = 'tailseal-witness-state';
const VERSION = 2;

export interface CosignedState {
  size: number;
  rootHash: Uint8Array;
  /** When it was cosigned, POSIX seconds. */
  time: number;
}

/** Where the witness's verification of one origin ended, and the objects it read. */
export interface VerifiedOrigin {
  resume: Omit<ResumeState, 'digests'>;
  /** The newest checkpoint note verified (what is cosigned when nothing new arrives). */
  note: string;
  /** Object name -> hex SHA-256 of its text (null: a byte-identical copy of another). */
  objects: Map<string, string | null>;
}

export interface WitnessState {
  /** The witness verifier key the state belongs to. */
  witness: string;
  origins: Map<string, CosignedState>;
  /** The store last verified (as --store gave it) and, per origin, where that ended. */
  verified?: { store: string; origins: Map<string, VerifiedOrigin> };
}

function corrupt(file: string, why: string): TailsealError {
  return new TailsealError('STATE_CORRUPT', `witness state ${file}: ${why}; restore it from a backup`);
}

/** Reads the state; a missing file is a witness that cosigned nothing yet. STATE_CORRUPT / STATE_VERSION. */
export function readWitnessState(file: string, witness: string): WitnessState {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { witness, origins: new Map() };
    throw new TailsealError('STATE_UNAVAILABLE', `witness state ${file}: ${errorMessage(err)}`, { cause: err });
  }
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    throw corrupt(file, 'not JSON');
  }
  const s = o as { format?: unknown; version?: unknown; witness?: unknown; origins?: unknown; verified?: unknown };
  if (s.format !== FORMAT) throw corrupt(file, `not a ${FORMAT} file`);
  if (s.version !== VERSION && s.version !== 1)
    throw new TailsealError('STATE_VERSION', `witness state ${file}: version ${String(s.version)}, want ${VERSION}`);
  if (s.witness !== witness)
    throw new TailsealError(
      'USAGE',
      `witness state ${file} belongs to witness key ${String(s.witness)}, not ${witness}: one state per witness key`,
    );
  if (typeof s.origins !== 'object' || s.origins === null) throw corrupt(file, 'no origins');
  const origins = new Map<string, CosignedState>();
  for (const [origin, v] of Object.entries(s.origins)) {
    const e = v as { size?: unknown; root?: unknown; time?: unknown };
    if (!Number.isSafeInteger(e.size) || (e.size as number) < 0 || typeof e.root !== 'string')
      throw corrupt(file, `bad entry for ${origin}`);
    if (!Number.isSafeInteger(e.time)) throw corrupt(file, `bad time for ${origin}`);
    const rootHash = fromBase64Strict(e.root, `witness state ${file}: root of ${origin}`, 'STATE_CORRUPT');
    if (rootHash.length !== 32) throw corrupt(file, `root of ${origin} is not 32 bytes`);
    origins.set(origin, { size: e.size as number, rootHash, time: e.time as number });
  }
  if (s.version === 1 || s.verified === undefined) return { witness, origins };
  return { witness, origins, verified: readVerified(file, s.verified) };
}

function readVerified(file: string, v: unknown): NonNullable<WitnessState['verified']> {
  const x = v as { store?: unknown; origins?: unknown };
  if (typeof x !== 'object' || x === null || typeof x.store !== 'string') throw corrupt(file, 'bad "verified"');
  if (typeof x.origins !== 'object' || x.origins === null) throw corrupt(file, 'bad "verified.origins"');
  const origins = new Map<string, VerifiedOrigin>();
  for (const [origin, raw] of Object.entries(x.origins)) {
    const e = raw as Record<string, unknown>;
    const bad = () => corrupt(file, `bad verified state of ${origin}`);
    if (!Number.isSafeInteger(e.size) || !Number.isSafeInteger(e.newest_time)) throw bad();
    if (typeof e.chain_head !== 'string' || typeof e.edge !== 'string' || typeof e.note !== 'string') throw bad();
    if (!Array.isArray(e.signed_by) || !e.signed_by.every((k) => typeof k === 'string')) throw bad();
    if (typeof e.objects !== 'object' || e.objects === null) throw bad();
    const chainHead = fromBase64Strict(e.chain_head, `witness state ${file}: chain_head of ${origin}`, 'STATE_CORRUPT');
    let edge: CompactRange;
    try {
      edge = CompactRange.deserialize(
        fromBase64Strict(e.edge, `witness state ${file}: edge of ${origin}`, 'STATE_CORRUPT'),
      );
    } catch {
      throw bad();
    }
    if (chainHead.length !== 32 || edge.size !== e.size) throw bad();
    const objects = new Map<string, string | null>();
    for (const [name, digest] of Object.entries(e.objects as Record<string, unknown>)) {
      if (digest !== null && typeof digest !== 'string') throw bad();
      objects.set(name, digest);
    }
    const resume = {
      size: e.size as number,
      chainHead,
      edge,
      newestCheckpointTime: e.newest_time as number,
      signedBy: e.signed_by as string[],
    };
    origins.set(origin, { resume, note: e.note, objects });
  }
  return { store: x.store, origins };
}

/** Replaces the state file atomically (see the top of this file). */
export function writeWitnessState(file: string, state: WitnessState): void {
  const origins = Object.fromEntries(
    [...state.origins]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => [k, { size: v.size, root: toBase64(v.rootHash), time: v.time }]),
  );
  const v = state.verified;
  const verified = v && {
    store: v.store,
    origins: Object.fromEntries(
      [...v.origins]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, { resume: r, note, objects }]) => [
          k,
          {
            size: r.size,
            chain_head: toBase64(r.chainHead),
            edge: toBase64(r.edge.serialize()),
            newest_time: r.newestCheckpointTime,
            signed_by: r.signedBy,
            note,
            objects: Object.fromEntries([...objects].sort(([a], [b]) => a.localeCompare(b))),
          },
        ]),
    ),
  };
  const doc = { format: FORMAT, version: VERSION, witness: state.witness, origins, ...(verified ? { verified } : {}) };
  const text = JSON.stringify(doc, null, 2) + '\n';
  replaceFile(file, text, 0o600);
}
