// What the file source needs from the offset store (implemented by store/state.ts).

export interface KnownFile {
  id: number;
  ident: string;
  fingerprint: Uint8Array;
  fpLen: number;
  offset: number;
}

/**
 * Persistent file generations. Offsets themselves only move through BatchConsumer.commit, in
 * the same transaction as the entries they cover.
 */
export interface FileRegistry {
  findFile(ident: string): KnownFile | undefined;
  /** Inserts a generation, or (with `existingId`) re-keys a reused inode's row to a new file. */
  upsertFile(f: { input: string; ident: string; path: string; fingerprint: Uint8Array; fpLen: number; offset: number }, existingId?: number): number;
}
