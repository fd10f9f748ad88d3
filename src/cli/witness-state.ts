// The state of a one-shot witness (`tailseal cosign --state F`): per origin, the checkpoint it last
// cosigned. A small versioned JSON file, replaced atomically (temp file, fsync, rename, fsync of the
// folder), so a crash leaves the old state or the new one, never a mix:
//
//   {"format":"tailseal-witness-state","version":1,"witness":"<witness verifier key>",
//    "origins":{"<origin>":{"size":8,"root":"<base64>","time":1764400000}}}
import { readFileSync } from 'node:fs';
import { replaceFile } from '../common/synced-file.js';
import { TailsealError, errorMessage } from '../errors.js';
import { fromBase64Strict, toBase64 } from '../trail/index.js';

const FORMAT = 'tailseal-witness-state';
const VERSION = 1;

export interface CosignedState {
  size: number;
  rootHash: Uint8Array;
  /** When it was cosigned, POSIX seconds. */
  time: number;
}

export interface WitnessState {
  /** The witness verifier key the state belongs to. */
  witness: string;
  origins: Map<string, CosignedState>;
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
  const s = o as { format?: unknown; version?: unknown; witness?: unknown; origins?: unknown };
  if (s.format !== FORMAT) throw corrupt(file, `not a ${FORMAT} file`);
  if (s.version !== VERSION)
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
  return { witness, origins };
}

/** Replaces the state file atomically (see the top of this file). */
export function writeWitnessState(file: string, state: WitnessState): void {
  const origins = Object.fromEntries(
    [...state.origins]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => [k, { size: v.size, root: toBase64(v.rootHash), time: v.time }]),
  );
  const text = JSON.stringify({ format: FORMAT, version: VERSION, witness: state.witness, origins }, null, 2) + '\n';
  replaceFile(file, text, 0o600);
}
