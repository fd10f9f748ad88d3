// Changes made to a write-once store after tailseal wrote it: a later version or a delete marker
// over an object key (S3 versioning). tailseal writes each key once, so each is an attempt to
// replace or hide a stored object; the original (oldest) version is what is verified.
import { TailsealError } from './errors.js';

export interface StoreTampering {
  key: string;
  /** `version`: content stored over the object; `delete_marker`: the object made to look deleted. */
  kind: 'version' | 'delete_marker';
  versionId: string;
  /** When and by whom, as the store says (S3 LastModified and Owner). */
  lastModified: string;
  owner?: string;
}

/** One line per attempt, for messages. */
export function describeTampering(t: StoreTampering): string {
  const what = t.kind === 'version' ? 'a later version' : 'a delete marker';
  const when = t.lastModified || 'time unknown';
  return `${what} over ${t.key} (version ${t.versionId}, ${when}, owner ${t.owner ?? 'unknown'})`;
}

/** Listed in full by `tailseal verify`; the error (and so the audit's log line) names this many. */
const NAMED = 20;

/** STORE_TAMPERED for a non-empty list: the oldest versions verified, these were added over them. */
export function tamperedError(list: readonly StoreTampering[]): TailsealError {
  const keys = new Set(list.map((t) => t.key)).size;
  const more = list.length > NAMED ? `; and ${list.length - NAMED} more` : '';
  const msg =
    `${list.length} change(s) over ${keys} stored object(s) after tailseal wrote them: ` +
    `${list.slice(0, NAMED).map(describeTampering).join('; ')}${more}. The original (oldest) versions were ` +
    'verified. Find out who wrote these (S3 server access logs, CloudTrail data events): they hold the ' +
    "bucket's write credentials";
  const details = { tampering: list.slice(0, NAMED), count: list.length };
  return new TailsealError('STORE_TAMPERED', msg, { details });
}
