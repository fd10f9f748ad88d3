// `tailseal verify --witness-key`: per origin, a checkpoint cosigned by enough trusted witnesses
// (docs/trail-format.md §8), which verify then treats as a trusted `--latest`: the trail must reach
// its size with its root, so a store whose newest objects were removed fails TAIL_TRUNCATED.
import { TailsealError, errorMessage } from '../errors.js';
import { loadWitnessVerifierKeys } from '../seal/keyfile.js';
import { parseS3Url } from '../sinks/s3/reader.js';
import {
  COSIGNED_SUFFIX,
  type Cosignature,
  MAX_COSIGNED_BYTES,
  type StreamReport,
  type WitnessVerifier,
  type NoteVerifier,
  type ObjectReader,
  isTailsealError,
  openNote,
  type WitnessedCheckpoint,
  newestWitnessed,
  verifyCosignatures,
} from '../trail/index.js';

/** Opens a store (verify's readerFor, listing the names `match` takes). */
export type OpenStore = (store: string, match: RegExp) => { reader: ObjectReader; close: () => Promise<void> };

/** The objects a witness store reader lists. */
export const COSIGNED_RE = new RegExp(`\\${COSIGNED_SUFFIX}$`);

export interface WitnessCliOptions {
  witnessKey?: string[];
  minWitnesses?: string;
  witnessStore?: string;
}

/** What verify prints per origin when its witnesses are satisfied. */
export interface WitnessedReport {
  origin: string;
  size: number;
  cosignatures: Cosignature[];
  /** The witness store objects it was read from (none: the trail's own newest checkpoint). */
  objects: string[];
}

/** The witness check of one verify run: notes to pass as `latest` before, and the check after. */
export interface WitnessCheck {
  latest: string[];
  onCheckpoint: (origin: string, size: number, note: string) => void;
  /** Every verified origin must be witnessed: WITNESS_QUORUM otherwise. */
  finish(reports: readonly StreamReport[]): WitnessedReport[];
}

function parseMin(text: string | undefined): number {
  if (text === undefined) return 1;
  const n = Number(text);
  if (!/^[1-9][0-9]{0,2}$/.test(text) || !Number.isSafeInteger(n))
    throw new TailsealError('USAGE', `--min-witnesses ${JSON.stringify(text)} is not a whole number from 1 to 999`);
  return n;
}

function quorum(origin: string, min: number, found: number, where: string): TailsealError {
  return new TailsealError(
    'WITNESS_QUORUM',
    `${origin}: ${where} ${min} valid cosignature(s) by the given witness keys (the most found: ${found})`,
    { details: { origin, min, found } },
  );
}

/** The witness keys and quorum of the options (USAGE / KEY_INVALID: exit 2). */
export function witnessOptions(o: WitnessCliOptions): { witnesses: WitnessVerifier[]; min: number } | undefined {
  if (o.witnessKey === undefined || o.witnessKey.length === 0) {
    if (o.minWitnesses !== undefined || o.witnessStore !== undefined)
      throw new TailsealError('USAGE', '--min-witnesses and --witness-store need --witness-key');
    return undefined;
  }
  return { witnesses: loadWitnessVerifierKeys(o.witnessKey), min: parseMin(o.minWitnesses) };
}

/** True when a trusted writer signed `note`; false when none of them did (NO_TRUSTED_SIGNATURE). */
function signedBy(note: string, writers: NoteVerifier[]): boolean {
  try {
    openNote(note, writers);
    return true;
  } catch (err) {
    if (isTailsealError(err, 'NO_TRUSTED_SIGNATURE')) return false;
    throw err;
  }
}

/** Reads the witness store's cosigned objects (all of them; each is at most MAX_COSIGNED_BYTES). */
async function readWitnessStore(store: string, open: OpenStore): Promise<{ name: string; note: string }[]> {
  const { reader, close } = open(store, COSIGNED_RE);
  // An s3 reader's names are keys, prefix included; a witness store name starts after it.
  const prefix = parseS3Url(store)?.prefix ?? '';
  const base = prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
  try {
    const out: { name: string; note: string }[] = [];
    for (const key of await reader.list()) {
      const bytes = await reader.read(key, MAX_COSIGNED_BYTES);
      const name = key.startsWith(base) ? key.slice(base.length) : key;
      let note: string;
      try {
        note = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
      } catch (err) {
        throw new TailsealError('NOTE_MALFORMED', `${name}: not UTF-8 (${errorMessage(err)})`, { cause: err });
      }
      out.push({ name, note });
    }
    return out;
  } finally {
    await close();
  }
}

/**
 * The witness check for `o`: with a witness store, each origin's newest witnessed checkpoint in it
 * (read now, so verify can hold the trail to it); without one, the trail's own newest checkpoint,
 * checked once verify has walked the trail.
 */
export async function witnessCheck(
  o: WitnessCliOptions,
  keys: { witnesses: WitnessVerifier[]; min: number; writers: NoteVerifier[] },
  open: OpenStore,
): Promise<WitnessCheck> {
  const { witnesses, min } = keys;
  if (o.witnessStore !== undefined) {
    // One witness store may serve a whole fleet: only the checkpoints of the writers whose keys
    // are given count here (a bad signature by one of them is still an error, in openNote).
    const objects = (await readWitnessStore(o.witnessStore, open)).filter((x) => signedBy(x.note, keys.writers));
    const { witnessed, short } = newestWitnessed(objects, witnesses, min);
    const report = (w: WitnessedCheckpoint): WitnessedReport => {
      const { origin, size, cosignatures, objects: names } = w;
      return { origin, size, cosignatures, objects: names };
    };
    return {
      latest: [...witnessed.values()].map((w) => w.note),
      onCheckpoint: () => undefined,
      finish(reports) {
        return reports.map((r) => {
          const w = witnessed.get(r.origin);
          if (!w)
            throw quorum(
              r.origin,
              min,
              short.get(r.origin) ?? 0,
              `no checkpoint in the witness store ${o.witnessStore} carries`,
            );
          return report(w);
        });
      },
    };
  }
  const newest = new Map<string, { size: number; note: string }>();
  return {
    latest: [],
    onCheckpoint: (origin, size, note) => newest.set(origin, { size, note }),
    finish(reports) {
      return reports.map((r) => {
        const n = newest.get(r.origin);
        const cosignatures = n ? verifyCosignatures(n.note, witnesses) : [];
        if (!n || cosignatures.length < min)
          throw quorum(r.origin, min, cosignatures.length, "the store's newest checkpoint does not carry");
        return { origin: r.origin, size: n.size, cosignatures, objects: [] };
      });
    },
  };
}

/** `WITNESSED <origin> at size N: <witness> (<time>), ...` */
export function describeWitnessed(w: WitnessedReport): string {
  const by = w.cosignatures.map((c) => `${c.name} at ${new Date(c.time * 1000).toISOString()}`).join(', ');
  return `WITNESSED ${w.origin}: the trail reaches the checkpoint of size ${w.size} cosigned by ${by}`;
}
