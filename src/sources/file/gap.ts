// Gap records: data that cannot be sealed (over-long line, truncated before it was read, a
// fragment left when a file went away) is stated inside the trail instead of skipped silently.
import { toHex } from '../../trail/hash.js';
import type { BatchConsumer, SourceRecord } from '../source.js';
import type { KnownFile } from './registry.js';

export type GapReason =
  'line_too_long' | 'truncated_unread' | 'partial_line_at_close' | 'deleted_unread' | 'rotated_unread' | 'out_of_scope';

/** Which file content a gap record is about. */
export interface GapFile {
  /** "<dev>:<ino>", as the tailer keys generations. */
  ident: string;
  /**
   * The fingerprint tailseal held for the content (SHA-256 of its first `fpLen` bytes), when it
   * had one: the inode alone does not say which content it was (copytruncate keeps the inode,
   * and a deleted file's inode is reused), the first bytes do, even against an archived copy.
   */
  fingerprint?: Uint8Array;
  fpLen?: number;
}

/**
 * How much a gap covers: `length` bytes at its offset, or, when the file was destroyed before
 * tailseal could see how much it held, everything from its offset on (`atLeast` bytes of it
 * were seen unread).
 */
export type GapExtent = { length: number } | { length: null; atLeast: number };

/** The gap record for `extent` at `offset` of `path`. Its payload is one JSON object. */
export function gapRecord(
  path: string,
  offset: number,
  reason: GapReason,
  extent: GapExtent,
  file: GapFile,
  extra: Record<string, unknown> = {},
): SourceRecord {
  const body: Record<string, unknown> = { reason, length: extent.length, ...extra };
  if (extent.length === null) {
    body.from = offset;
    body.at_least = extent.atLeast;
  }
  body.file = file.ident;
  if (file.fingerprint && file.fpLen !== undefined) {
    body.fp = toHex(file.fingerprint);
    body.fp_len = file.fpLen;
  }
  return { kind: 'gap', source: path, offset, payload: Buffer.from(JSON.stringify(body)) };
}

/**
 * The longest prefix of `bytes` that does not end inside a UTF-8 sequence, as a string: a cut at
 * an arbitrary byte must not turn the last character into U+FFFD.
 */
export function utf8Prefix(bytes: Buffer): string {
  let end = bytes.length;
  // Step back over continuation bytes (10xxxxxx) to the lead byte of the last character.
  let i = end - 1;
  while (i >= 0 && i > end - 4 && (bytes[i]! & 0xc0) === 0x80) i--;
  if (i >= 0) {
    const lead = bytes[i]!;
    const need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
    if (end - i < need) end = i;
  }
  return bytes.subarray(0, end).toString('utf8');
}

/**
 * Seals the loss of a generation whose content is gone (rotated away, deleted, truncated or
 * replaced while tailseal was not reading it): one gap record of unknown length from its saved
 * offset, committed together with the "finished" mark on its row, so it is reported once.
 * False when the outbox refused it (try again later).
 */
export function sealLostGeneration(
  row: KnownFile,
  reason: GapReason,
  to: { input: string; stream: string },
  consumer: BatchConsumer,
): boolean {
  const gap = gapRecord(
    row.path,
    row.offset,
    reason,
    { length: null, atLeast: 0 },
    { ident: row.ident, fingerprint: row.fingerprint, fpLen: row.fpLen },
  );
  return consumer.commit({
    input: to.input,
    stream: to.stream,
    records: [gap],
    position: { fileId: row.id, offset: row.offset, path: row.path, done: true },
    counters: { [`gap_${reason}`]: 1 },
  });
}
