// Gap records: data that cannot be sealed (over-long line, truncated before it was read, a
// fragment left when a file went away) is stated inside the trail instead of skipped silently.
import type { SourceRecord } from '../source.js';

export type GapReason = 'line_too_long' | 'truncated_unread' | 'partial_line_at_close' | 'deleted_unread';

/** The gap record for `length` bytes at `offset` of `path`. Its payload is one JSON object. */
export function gapRecord(path: string, offset: number, reason: GapReason, length: number): SourceRecord {
  return { kind: 'gap', source: path, offset, payload: Buffer.from(JSON.stringify({ reason, length })) };
}
