// The origin an object claims, before anything is verified: the first line of its checkpoint
// note (c2sp.org/tlog-checkpoint). Used only to pick the keys the object must be signed with and
// to group objects by origin; verifyTrail then opens the note with those keys, signature first.
// An object with no readable note is put with the known origin whose stream folder holds it.
import { objectText } from '../seal/gzip.js';
import { objectLines } from '../trail/object.js';

/** The origin line of the object's checkpoint note, or undefined when it has no readable one. */
export function noteOrigin(bytes: Uint8Array, maxBytes: number): string | undefined {
  try {
    let note: string | undefined;
    for (const line of objectLines(objectText(bytes, maxBytes))) if (line.note !== undefined) note = line.note;
    if (note === undefined) return undefined;
    const origin = note.slice(0, note.indexOf('\n'));
    return origin === '' ? undefined : origin;
  } catch {
    return undefined;
  }
}

const streamOf = (origin: string): string => origin.slice(origin.lastIndexOf('/') + 1);

/** An object that says no origin (no checkpoint line) belongs to the known origin whose stream folder holds it. */
export function originByPath(name: string, known: readonly string[]): string | undefined {
  const parts = name.split('/').slice(0, -1);
  return known.find((o) => parts.includes(streamOf(o)));
}
