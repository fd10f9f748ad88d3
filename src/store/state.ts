// The state database as one handle over its repositories: streams (stream heads, dedupe keys),
// files (generations, offsets, unreadable files), outbox (objects, sink cursors, parked objects,
// the spool's segment files) and counters. StateStore owns the database and the transactions
// that span them: a read-and-seal step commits its entries, the stream head, the file offset,
// dedupe keys and counters in ONE SQLite transaction, and a checkpoint closes the stream's open
// segment as an object in one. The comments before each step say why a crash (kill -9, power
// loss) at that point is safe.
import { TailsealError } from '../errors.js';
import type { StreamHead } from '../seal/sealer.js';
import { CounterRepo } from './counters.js';
import { type Db, statementCache } from './db.js';
import { type FilePosition, FileRepo } from './files.js';
import { OUTBOX_BYTES, type OutboxObject, OutboxRepo } from './outbox.js';
import { Spool } from './spool.js';
import { SQL_INCREMENTAL_VACUUM } from './sql.js';
import { type DedupeKeys, StreamRepo } from './streams.js';

/** What one read-and-seal step commits. */
export interface SealCommit {
  /** The stream head after the new entries; `before` is its next_seq when the step began. */
  stream: StreamHead;
  before: number;
  /** The new entries' object lines, back to back (sealer.ts `Sealed.data`). */
  data: Uint8Array;
  /** `data` was written ahead by prewriteSealed (the transaction then only checks it is there). */
  prewritten?: boolean;
  /** The file offset that the entries bring the file to (none for records without a file); `done` finishes it. */
  file?: FilePosition;
  counters?: Record<string, number>;
  /** Dedupe keys of the new entries, and how long keys are kept (see SQL_DEDUPE_*). */
  dedupe?: DedupeKeys | undefined;
}

/** Where checkpoint.entries cuts a batch (commitSealedCut): the head and byte length of its lines up to there. */
export interface SealCut {
  head: StreamHead;
  end: number;
  note: string;
}

export class StateStore {
  readonly streams: StreamRepo;
  readonly files: FileRepo;
  readonly outbox: OutboxRepo;
  readonly counters: CounterRepo;
  private readonly db: Db;
  /** The outbox's entry lines, in segment files beside the database (`<db>-outbox/`). */
  private readonly spool: Spool;

  /** `onUnlinkError`: an acknowledged outbox segment could not be deleted (see Spool). */
  constructor(db: Db, onUnlinkError?: (file: string, err: unknown) => void) {
    this.db = db;
    this.spool = new Spool(`${db.name}-outbox`, onUnlinkError);
    const q = statementCache(db);
    this.streams = new StreamRepo(q);
    this.files = new FileRepo(db, q);
    this.counters = new CounterRepo(db, q);
    this.outbox = new OutboxRepo(db, q, this.spool, this.streams, this.counters);
  }

  close(): void {
    this.spool.close();
    if (this.db.open) this.db.close();
  }

  /**
   * Commits sealed entries, the stream head that covers them and the file offset past them,
   * all in ONE transaction. A crash before COMMIT leaves the old offset and the old head, so the
   * same lines are read and sealed again with the same seqs; a crash after COMMIT resumes after
   * them. Either way the chain has no gap and no duplicate. Returns the entry bytes added to the outbox.
   */
  commitSealed(c: SealCommit): number {
    const txn = this.db.transaction(() => {
      // IMMEDIATE: the write lock is taken at BEGIN, so no other writer (a second daemon on the
      // same state_dir) can append to the segment or move the head until COMMIT. The guard
      // then turns such a writer into an error instead of a forked chain, before any write.
      const row = this.streams.row(c.stream.name);
      if (!row || row.next_seq !== c.before)
        throw new TailsealError(
          'STATE_CORRUPT',
          `stream ${c.stream.name} was advanced by another writer; is a second tailseal using the same state_dir?`,
        );
      // The lines go to the stream's open segment and are synced before COMMIT (spool.ts): a
      // crash after this write but before COMMIT leaves bytes past spool_bytes that the next
      // start cuts off, and the same lines are read, sealed and written again.
      appended = { firstSeq: row.checkpointed_size, at: row.spool_bytes };
      this.spool.append(c.stream.name, row.checkpointed_size, row.spool_bytes, c.data, c.prewritten);
      this.streams.advanceHead(c.stream, c.before, row.spool_bytes + c.data.length);
      if (c.file) this.files.setPosition(c.file, Date.now());
      // The keys commit with their entries: a crash before COMMIT seals neither, after it both.
      if (c.dedupe) this.streams.recordDedupeKeys(c.stream.name, c.stream.nextSeq, c.dedupe);
      this.counters.bump({ ...c.counters, [OUTBOX_BYTES]: c.data.length });
      return c.data.length;
    });
    let appended: { firstSeq: number; at: number } | undefined;
    try {
      return txn.immediate();
    } catch (err) {
      // Rolled back after the lines were written: cut them off again, so that the segment holds
      // exactly the committed bytes (a checkpoint may close it next). If even that fails, the
      // next append or start-up cuts them.
      if (appended) this.spool.truncate(c.stream.name, appended.firstSeq, appended.at);
      throw err;
    }
  }

  /**
   * commitSealed for a batch that checkpoint.entries cuts into several objects, in ONE
   * transaction: the lines up to each cut (`end` bytes into `c.data`, `head` after them) are
   * appended and closed as an object signed by `note`; the rest commits as commitSealed does,
   * with the file offset, counters and dedupe keys. A failure or crash commits none of it: the
   * bytes written past the committed state are cut by the next append or start (Spool.recover).
   * Returns the entry bytes left in the stream's open segment.
   */
  commitSealedCut(c: SealCommit, cuts: readonly SealCut[], createdAt: number): number {
    return this.db
      .transaction(() => {
        let before = c.before;
        let from = 0;
        for (const cut of cuts) {
          const row = this.streams.row(c.stream.name);
          const data = c.data.subarray(from, cut.end);
          this.commitSealed({ stream: cut.head, before, data, prewritten: from === 0 && c.prewritten });
          this.commitCheckpoint(c.stream.name, row?.checkpointed_size ?? 0, cut.head.nextSeq, cut.note, createdAt);
          before = cut.head.nextSeq;
          from = cut.end;
        }
        return this.commitSealed({ ...c, before, data: c.data.subarray(from), prewritten: false });
      })
      .immediate();
  }

  /**
   * Writes a batch's lines to the stream's open segment ahead of commitSealed, off the event loop
   * (spool.ts prewrite); commitSealed with `prewritten` then finds them there. The caller must
   * keep every other commit and checkpoint of the stream away until then.
   */
  async prewriteSealed(stream: string, data: Uint8Array): Promise<void> {
    const row = this.streams.row(stream);
    if (row) await this.spool.prewrite(stream, row.checkpointed_size, row.spool_bytes, data);
  }

  /**
   * Records a signed checkpoint as the next object to ship, and marks it as the stream's latest.
   * The object is the stream's open segment as committed; the next batch starts a new one. A
   * crash before COMMIT just means the checkpoint is signed again later (same tree, no fork).
   */
  commitCheckpoint(stream: string, firstSeq: number, size: number, note: string, createdAt: number): OutboxObject {
    const obj = this.db.transaction(() => {
      const row = this.streams.row(stream);
      if (!row || row.checkpointed_size !== firstSeq || row.next_seq !== size)
        throw new TailsealError(
          'STATE_CORRUPT',
          `checkpoint of stream ${stream} [${firstSeq}, ${size}) does not match its committed state`,
        );
      const bytes = row.spool_bytes;
      // The tree's edge at `size` (next_seq = size, checked above) goes with the object.
      const edge = new Uint8Array(row.tree_edge);
      const o = this.outbox.insertObject({ stream, firstSeq, size, note, bytes, createdAt, edge });
      this.streams.markCheckpointed(stream, size, createdAt, note);
      return o;
    })();
    this.spool.closeSegment(stream);
    return obj;
  }

  /** Periodic upkeep: returns free pages to the filesystem so the file does not keep its peak size. */
  vacuumStep(): void {
    this.db.exec(SQL_INCREMENTAL_VACUUM);
  }
}
