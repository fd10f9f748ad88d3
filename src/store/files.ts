// The files repository: one row per tailed file generation (its identity, fingerprint, the
// offset up to which it is sealed, whether it is finished) and what each file input reports it
// cannot read. It is the FileRegistry the file source works with (sources/file/registry.ts); a
// generation's offset moves only inside StateStore's commit of the records read up to it (state.ts).
import type { Db, Prepared } from './db.js';
import * as Q from './sql.js';

/**
 * A file an input matches but cannot read, as the input reports it for `tailseal status` (structurally the file
 * source's FileProblem: the store does not depend on sources).
 */
export interface FileProblem {
  path: string;
  /** FILE_UNREADABLE, FILE_NOT_REGULAR or FILE_PROTECTED. */
  code: string;
  message: string;
  /** ISO 8601: since when. */
  since: string;
}

/** Key prefix (meta table) of each file input's unreadable files. */
const FILE_PROBLEMS = 'file_errors/';

export interface FileRecord {
  id: number;
  input: string;
  ident: string;
  path: string;
  fingerprint: Uint8Array;
  fpLen: number;
  offset: number;
  /** Finished: read to its end after a rotation, or its loss sealed as a gap record (a restart skips it). */
  done: boolean;
}

/** A file generation as listed (without its fingerprint). */
export interface FileRow {
  id: number;
  input: string;
  ident: string;
  path: string;
  offset: number;
  done: boolean;
  updatedAt: number;
}

interface FileRowDb {
  id: number;
  input: string;
  ident: string;
  path: string;
  offset: number;
  done: number;
  updated_at: number;
}

/** Where a commit brings a file generation: its offset past the committed records; `done` finishes it. */
export interface FilePosition {
  id: number;
  offset: number;
  path: string;
  done?: boolean | undefined;
}

export class FileRepo {
  constructor(
    private readonly db: Db,
    private readonly q: Prepared,
  ) {}

  findFile(ident: string): FileRecord | undefined {
    const r = this.q(Q.SQL_GET_FILE_BY_IDENT).get(ident) as
      (Omit<FileRowDb, 'updated_at'> & { fingerprint: Buffer; fp_len: number }) | undefined;
    return (
      r && {
        id: r.id,
        input: r.input,
        ident: r.ident,
        path: r.path,
        fingerprint: new Uint8Array(r.fingerprint),
        fpLen: r.fp_len,
        offset: r.offset,
        done: r.done === 1,
      }
    );
  }

  /** Registers a file generation at offset 0, not finished (or re-keys a reused inode's row to the new file). */
  upsertFile(f: Omit<FileRecord, 'id' | 'done'>, existingId?: number): number {
    const now = Date.now();
    if (existingId !== undefined) {
      this.q(Q.SQL_RESET_FILE).run(f.input, f.path, Buffer.from(f.fingerprint), f.fpLen, f.offset, now, existingId);
      return existingId;
    }
    return Number(
      this.q(Q.SQL_INSERT_FILE).run(f.input, f.ident, f.path, Buffer.from(f.fingerprint), f.fpLen, f.offset, now)
        .lastInsertRowid,
    );
  }

  /** In the caller's transaction (the commit of the records read up to `f.offset`). */
  setPosition(f: FilePosition, now: number): void {
    this.q(Q.SQL_UPDATE_FILE_OFFSET).run(f.offset, f.path, f.done ? 1 : 0, now, f.id);
  }

  /** File records of finished generations last updated before `cutoff`: candidates to expire. */
  finishedFilesBefore(cutoff: number): { id: number; input: string; ident: string; path: string }[] {
    return this.q(Q.SQL_FINISHED_FILES_BEFORE).all(cutoff) as never;
  }

  /** Deletes file records (finished generations whose file is gone). */
  deleteFiles(ids: readonly number[]): void {
    this.db.transaction(() => {
      for (const id of ids) this.q(Q.SQL_DELETE_FILE).run(id);
    })();
  }

  listFiles(): FileRow[] {
    return (this.q(Q.SQL_LIST_FILES).all() as FileRowDb[]).map((r) => ({
      id: r.id,
      input: r.input,
      ident: r.ident,
      path: r.path,
      offset: r.offset,
      done: r.done === 1,
      updatedAt: r.updated_at,
    }));
  }

  // ---- files an input cannot read (shown by `tailseal status`) ---------------------------

  /** Replaces what file input `input` reports about files it cannot read (none: the row goes). */
  setFileProblems(input: string, problems: readonly FileProblem[]): void {
    if (problems.length === 0) this.q(Q.SQL_DELETE_META).run(FILE_PROBLEMS + input);
    else this.q(Q.SQL_PUT_META).run(FILE_PROBLEMS + input, JSON.stringify(problems));
  }

  /** What each file input last reported it cannot read. */
  fileProblems(): (FileProblem & { input: string })[] {
    const rows = this.q(Q.SQL_LIST_META_PREFIX).all(FILE_PROBLEMS, FILE_PROBLEMS) as { key: string; value: string }[];
    return rows.flatMap((r) => {
      const input = r.key.slice(FILE_PROBLEMS.length);
      return (JSON.parse(r.value) as FileProblem[]).map((p) => ({ input, ...p }));
    });
  }
}
