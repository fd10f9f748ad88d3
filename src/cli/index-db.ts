// The auditor's index database (`tailseal index`, `prove --index`): what a verified pass over a
// store learned, so that later runs read only new objects and a proof reads only the object that
// holds its entry. SQL in index-sql.ts; crash safety: each run is one transaction (a crash or a
// failing store leaves the index as the last good run left it).
import Database from 'better-sqlite3';
import { TailsealError, errorMessage } from '../errors.js';
import { mkdirPrivate, touchPrivate } from '../store/private.js';
import { dirname } from 'node:path';
import { CompactRange, type ResumeState } from '../trail/index.js';
import * as Q from './index-sql.js';

/** The index format this build writes. A newer index is refused, never downgraded. */
export const INDEX_VERSION = Q.INDEX_MIGRATIONS.length;

/** One origin as the index keeps it. */
export interface IndexedStream {
  id: number;
  origin: string;
  resume: ResumeState;
  newest: { size: number; note: string };
}

/** One object read by a run, to record. */
export interface IndexedObject {
  name: string;
  firstSeq: number;
  endSeq: number;
  stamp: string | null;
  digest: string;
  duplicateOf: string | null;
  note: string;
  leaves: Uint8Array;
}

type StreamRow = {
  id: number;
  origin: string;
  size: number;
  chain_head: Uint8Array;
  tree_edge: Uint8Array;
  newest_time: number;
  signed_by: string;
  newest_size: number;
  newest_note: string;
};

export class ProveIndex {
  private readonly stmt: Record<string, Database.Statement<unknown[], unknown>> = {};

  private constructor(readonly db: Database.Database) {}

  /** Opens (creating if needed) the index at `file` and brings its schema up to date. */
  static open(file: string): ProveIndex {
    let db: Database.Database;
    try {
      mkdirPrivate(dirname(file));
      touchPrivate(file);
      db = new Database(file);
    } catch (err) {
      throw new TailsealError('STATE_UNAVAILABLE', `cannot open index ${file}: ${errorMessage(err)}`, { cause: err });
    }
    try {
      for (const p of Q.INDEX_PRAGMAS) db.pragma(p.replace(/^PRAGMA /, ''));
      const version = db.pragma('user_version', { simple: true }) as number;
      if (version > INDEX_VERSION)
        throw new TailsealError(
          'STATE_VERSION',
          `index ${file} has format version ${version}, newer than this tailseal (${INDEX_VERSION}); run a newer ` +
            'tailseal or give another --index',
        );
      for (let v = version; v < INDEX_VERSION; v++) {
        // Each migration and its version bump commit together: a crash leaves the old version intact.
        db.transaction(() => {
          db.exec(Q.INDEX_MIGRATIONS[v]!);
          db.pragma(`user_version = ${v + 1}`);
        })();
      }
      return new ProveIndex(db);
    } catch (err) {
      db.close();
      if (err instanceof TailsealError) throw err;
      throw new TailsealError(
        'STATE_CORRUPT',
        `index ${file} is unreadable: ${errorMessage(err)}; delete it to rebuild it from the store`,
        { cause: err },
      );
    }
  }

  close(): void {
    this.db.close();
  }

  private q(sql: string): Database.Statement<unknown[], unknown> {
    return (this.stmt[sql] ??= this.db.prepare(sql));
  }

  /**
   * Runs `work` in one transaction, across its awaits (the store is read meanwhile; nothing else
   * uses this handle): committed when it returns, rolled back when it throws. A crash before the
   * commit leaves the index as the previous run left it (SQLite's WAL discards the open one).
   */
  async transaction<T>(work: () => Promise<T>): Promise<T> {
    this.q(Q.SQL_INDEX_BEGIN).run();
    try {
      const out = await work();
      this.q(Q.SQL_INDEX_COMMIT).run();
      return out;
    } catch (err) {
      if (this.db.inTransaction) this.q(Q.SQL_INDEX_ROLLBACK).run();
      throw err;
    }
  }

  streams(): IndexedStream[] {
    return (this.q(Q.SQL_INDEX_STREAMS).all() as StreamRow[])
      .filter((r) => r.newest_note !== '')
      .map((r) => {
        const digests = new Map<string, string>();
        for (const d of this.q(Q.SQL_INDEX_OBJECT_DIGESTS).all(r.id) as { digest: string; name: string }[])
          if (!digests.has(d.digest)) digests.set(d.digest, d.name);
        return {
          id: r.id,
          origin: r.origin,
          resume: {
            size: r.size,
            chainHead: new Uint8Array(r.chain_head),
            edge: CompactRange.deserialize(new Uint8Array(r.tree_edge)),
            newestCheckpointTime: r.newest_time,
            signedBy: JSON.parse(r.signed_by) as string[],
            digests,
          },
          newest: { size: r.newest_size, note: r.newest_note },
        };
      });
  }

  /** Every indexed object's name and stamp (null: the store gave none). */
  stamps(): Map<string, string | null> {
    const rows = this.q(Q.SQL_INDEX_OBJECT_STAMPS).all() as { name: string; stamp: string | null }[];
    return new Map(rows.map((r) => [r.name, r.stamp]));
  }

  /** The id of `origin`'s row, created empty when new (filled in by saveStream in the same transaction). */
  streamId(origin: string): number {
    this.q(Q.SQL_INDEX_ENSURE_STREAM).run(origin);
    return (this.q(Q.SQL_INDEX_STREAM_ID).get(origin) as { id: number }).id;
  }

  saveStream(origin: string, r: ResumeState, newest: { size: number; note: string }): void {
    this.q(Q.SQL_INDEX_UPSERT_STREAM).run(
      origin,
      r.size,
      r.chainHead,
      r.edge.serialize(),
      r.newestCheckpointTime,
      JSON.stringify(r.signedBy),
      newest.size,
      newest.note,
    );
  }

  addObject(stream: number, o: IndexedObject): void {
    this.q(Q.SQL_INDEX_INSERT_OBJECT).run(
      o.name,
      stream,
      o.firstSeq,
      o.endSeq,
      o.stamp,
      o.digest,
      o.duplicateOf,
      o.note,
      o.leaves,
    );
  }

  addDecision(decisionId: string, stream: number, seq: number): void {
    this.q(Q.SQL_INDEX_INSERT_DECISION).run(decisionId, stream, seq);
  }

  /** Every (origin, seq) where `decisionId` occurs. */
  findDecision(decisionId: string): { origin: string; seq: number }[] {
    return this.q(Q.SQL_INDEX_FIND_DECISION).all(decisionId) as { origin: string; seq: number }[];
  }

  /** The object holding entry `seq` of stream `stream`, with its leaf hashes. */
  objectAt(stream: number, seq: number): { name: string; firstSeq: number; leaves: Uint8Array } | undefined {
    const r = this.q(Q.SQL_INDEX_OBJECT_AT).get(stream, seq, seq) as
      { name: string; first_seq: number; leaves: Uint8Array } | undefined;
    return r && { name: r.name, firstSeq: r.first_seq, leaves: new Uint8Array(r.leaves) };
  }

  /** A stream's first `size` leaf hashes, in seq order. */
  leaves(stream: number, size: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (const r of this.q(Q.SQL_INDEX_LEAVES).iterate(stream) as Iterable<{
      first_seq: number;
      end_seq: number;
      leaves: Uint8Array;
    }>) {
      for (let s = r.first_seq; s < r.end_seq && s < size; s++) {
        const at = (s - r.first_seq) * 32;
        out.push(new Uint8Array(r.leaves.buffer, r.leaves.byteOffset + at, 32));
      }
      if (r.end_seq >= size) break;
    }
    return out;
  }

  counts(): { objects: number; decisions: number; entries: number } {
    return this.q(Q.SQL_INDEX_COUNTS).get() as { objects: number; decisions: number; entries: number };
  }
}
