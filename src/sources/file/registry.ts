// What the file source needs from the offset store (implemented by store/state.ts).

export interface KnownFile {
  id: number;
  ident: string;
  /** The path last committed (with the done marker once finished, see donePath). */
  path: string;
  fingerprint: Uint8Array;
  fpLen: number;
  offset: number;
}

/** A generation as listed at start-up (fingerprints via findFile). */
export interface ListedFile {
  id: number;
  input: string;
  ident: string;
  path: string;
  offset: number;
}

/** A file an input matches but cannot read (FILE_UNREADABLE, FILE_NOT_REGULAR, FILE_PROTECTED). */
export interface FileProblem {
  path: string;
  code: string;
  message: string;
  /** ISO 8601: since when. */
  since: string;
}

/**
 * Persistent file generations. Offsets themselves only move through BatchConsumer.commit, in
 * the same transaction as the entries they cover.
 */
export interface FileRegistry {
  findFile(ident: string): KnownFile | undefined;
  /** Every generation of every input (read-only; a restart looks for the unfinished ones). */
  listFiles(): ListedFile[];
  /** Inserts a generation, or (with `existingId`) re-keys a reused inode's row to a new file. */
  upsertFile(
    f: { input: string; ident: string; path: string; fingerprint: Uint8Array; fpLen: number; offset: number },
    existingId?: number,
  ): number;
  /** Optional: records the files `input` cannot read now, for `tailseal status`. */
  setFileProblems?(input: string, problems: readonly FileProblem[]): void;
}

/**
 * A generation tailseal is finished with (read to its end after a rotation, or its loss sealed
 * as a gap record) keeps its row, offset and fingerprint (it may be found again, e.g. under a
 * glob widened later), but its path is stored with this prefix so a restart does not look for
 * it again. The marker rides on the commit of the generation's last records, so "finished" and
 * the gap record that says why are one transaction. Tracked paths are absolute, so a path with
 * the prefix is never a real one.
 */
const DONE_PREFIX = 'done:';

/** The row path that marks the generation last seen at `path` as finished. */
export function donePath(path: string): string {
  return DONE_PREFIX + path;
}

/** The path a row's generation was last seen at (without the finished marker). */
export function lastPath(rowPath: string): string {
  return isDone(rowPath) ? rowPath.slice(DONE_PREFIX.length) : rowPath;
}

/** Whether a row's path marks its generation as finished. */
export function isDone(rowPath: string): boolean {
  return rowPath.startsWith(DONE_PREFIX);
}
