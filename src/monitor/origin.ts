// The origin an object claims, before anything is verified: the first line of its checkpoint
// note (c2sp.org/tlog-checkpoint). Used only to pick the keys the object must be signed with and
// to group objects by origin; verifyTrail then opens the note with those keys, signature first.
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
