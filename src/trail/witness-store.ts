// The witness store (docs/trail-format.md §8): where a witness publishes the checkpoints it
// cosigned, in a place the writers cannot write (another directory, bucket or prefix). One object
// per cosigned checkpoint, never overwritten:
//
//   <origin>/<tree size, 20 digits>-<cosign time, POSIX seconds>.cosigned
//
// holding the checkpoint note: the writer's signature line(s) and the witness cosignature line(s).
// The name only files the object; what counts is its content, and the name must agree with it.
import { parseCheckpoint } from './checkpoint.js';
import {
  type Cosignature,
  type VerifyCosignaturesOptions,
  type WitnessVerifier,
  verifyCosignatures,
} from './cosignature.js';
import { TailsealError } from './errors.js';
import { splitNote } from './note.js';

export const COSIGNED_SUFFIX = '.cosigned';
/** The largest cosigned object read: a checkpoint and at most MAX_NOTE_SIGNATURES lines fit easily. */
export const MAX_COSIGNED_BYTES = 64 * 1024;

const NAME_RE = /^(.+)\/([0-9]{20})-(0|[1-9][0-9]{0,15})\.cosigned$/;

function malformed(why: string, details: Record<string, unknown>): TailsealError {
  return new TailsealError('COSIGNATURE_MALFORMED', why, { details });
}

/**
 * True when `origin` can be a folder path of a store: segments of printable ASCII other than
 * space, '\' and '+', none empty, '.' or '..' (an origin is the writer's; a witness must not be
 * led to write outside its store).
 */
export function isStorableOrigin(origin: string): boolean {
  return (
    /^[!-~]+$/.test(origin) &&
    !/[\\+]/.test(origin) &&
    origin.split('/').every((s) => s !== '' && s !== '.' && s !== '..')
  );
}

/** The witness store name of `origin`'s checkpoint of `size`, cosigned at `timeSeconds`. */
export function cosignedObjectName(origin: string, size: number, timeSeconds: number): string {
  if (!isStorableOrigin(origin))
    throw malformed(`origin ${JSON.stringify(origin)} cannot name a folder of the witness store`, { origin });
  return `${origin}/${String(size).padStart(20, '0')}-${timeSeconds}${COSIGNED_SUFFIX}`;
}

/** The origin, size and time a witness store name says, or undefined when it is not one. */
export function parseCosignedObjectName(name: string): { origin: string; size: number; time: number } | undefined {
  const m = NAME_RE.exec(name);
  if (!m || !isStorableOrigin(m[1]!)) return undefined;
  const size = Number(m[2]);
  const time = Number(m[3]);
  if (!Number.isSafeInteger(size) || !Number.isSafeInteger(time)) return undefined;
  return { origin: m[1]!, size, time };
}

/** An origin's newest checkpoint with enough witnesses. */
export interface WitnessedCheckpoint {
  origin: string;
  size: number;
  /** A cosigned note of it (the writer's signature is checked where it is used: verifyTrail's `latest`). */
  note: string;
  /** The valid cosignatures, over all the objects holding this checkpoint; one per witness. */
  cosignatures: Cosignature[];
  objects: string[];
}

/**
 * Per origin, the largest checkpoint that carries at least `minWitnesses` valid cosignatures by
 * `witnesses`, merged over every object of the store that holds the same checkpoint text (one
 * witness per object is the usual layout). Objects whose name is no witness store name are
 * ignored; a name that disagrees with its checkpoint, and any bad cosignature by a trusted witness,
 * is an error (COSIGNATURE_MALFORMED, SIGNATURE_INVALID, ...). `short` lists the origins whose
 * checkpoints have cosignatures, but fewer than `minWitnesses`, with the most found.
 */
export function newestWitnessed(
  objects: readonly { name: string; note: string }[],
  witnesses: readonly WitnessVerifier[],
  minWitnesses: number,
  opts: VerifyCosignaturesOptions = {},
): { witnessed: Map<string, WitnessedCheckpoint>; short: Map<string, number> } {
  const byText = new Map<string, WitnessedCheckpoint>();
  for (const o of objects) {
    const named = parseCosignedObjectName(o.name);
    if (named === undefined) continue;
    const { text } = splitNote(o.note);
    const c = parseCheckpoint(text);
    if (c.origin !== named.origin || c.size !== named.size)
      throw malformed(`${o.name} holds the checkpoint of ${c.origin} at size ${c.size}, not what its name says`, {
        object: o.name,
      });
    const cosigs = verifyCosignatures(o.note, witnesses, opts);
    const key = `${c.origin}\n${text}`;
    const w = byText.get(key) ?? { origin: c.origin, size: c.size, note: o.note, cosignatures: [], objects: [] };
    w.objects.push(o.name);
    for (const s of cosigs)
      if (!w.cosignatures.some((x) => x.name === s.name && x.keyId === s.keyId)) w.cosignatures.push(s);
    byText.set(key, w);
  }
  const witnessed = new Map<string, WitnessedCheckpoint>();
  const short = new Map<string, number>();
  for (const w of byText.values()) {
    if (w.cosignatures.length < minWitnesses) {
      if (w.cosignatures.length > 0) short.set(w.origin, Math.max(short.get(w.origin) ?? 0, w.cosignatures.length));
      continue;
    }
    const prev = witnessed.get(w.origin);
    if (prev !== undefined && prev.size === w.size)
      throw new TailsealError(
        'CHECKPOINT_FORK',
        `${w.origin}: two different checkpoints of size ${w.size} are both witnessed (${prev.objects[0]}, ` +
          `${w.objects[0]}): the log presented a fork`,
        { details: { origin: w.origin, size: w.size } },
      );
    if (prev === undefined || w.size > prev.size) witnessed.set(w.origin, w);
  }
  for (const o of witnessed.keys()) short.delete(o);
  return { witnessed, short };
}
