// What the file source needs from the offset store (implemented by store/files.ts, `StateStore.files`):
// the file source's factory takes the host's state handle (SourceDeps.state) as this interface.
import { TailsealError } from '../../errors.js';
import type { FileProblem, FileRecord, FileRow } from '../../store/files.js';

/** A generation as the registry finds it by identity (the store's row, without its input). */
export type KnownFile = Omit<FileRecord, 'input'>;

/** A generation as listed at start-up (fingerprints via findFile). */
export type ListedFile = Omit<FileRow, 'updatedAt'>;

/**
 * Persistent file generations. Offsets themselves only move through BatchConsumer.commit, in
 * the same transaction as the entries they cover.
 *
 * A generation tailseal is finished with (read to its end after a rotation, or its loss sealed
 * as a gap record) keeps its row, offset and fingerprint (it may be found again, e.g. under a
 * glob widened later), but is marked `done` so a restart does not look for it again. The mark
 * rides on the commit of the generation's last records (a position with `done`), so "finished"
 * and the gap record that says why are one transaction.
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
  /** Records the files `input` cannot read now, for `tailseal status`. */
  setFileProblems(input: string, problems: readonly FileProblem[]): void;
}

/** The host's state handle as a FileRegistry; throws when it is none (a host without file state). */
export function asFileRegistry(state: unknown): FileRegistry {
  // The host's state handle (store/state.ts StateStore) keeps file generations in its `files` repository.
  const r = (state as { files?: Partial<FileRegistry> } | null | undefined)?.files;
  const methods: (keyof FileRegistry)[] = ['findFile', 'listFiles', 'upsertFile', 'setFileProblems'];
  if (r && methods.every((m) => typeof r[m] === 'function')) return r as FileRegistry;
  throw new TailsealError('STATE_UNAVAILABLE', 'file inputs need a state database that keeps file offsets');
}
