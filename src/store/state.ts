// Typed access to the state database: stream heads, file offsets, the outbox and sink cursors.
// Every multi-row change is one SQLite transaction; the comments before each step say why a
// crash (kill -9, power loss) at that point is safe.
import { TailsealError } from '../errors.js';
import { CHAIN_START } from '../trail/envelope.js';
import { CompactRange } from '../trail/merkle.js';
import type { StreamHead } from '../seal/sealer.js';
import type { FileProblem } from '../sources/file/registry.js';
import type Database from 'better-sqlite3';
import type { Db } from './db.js';
import { Spool } from './spool.js';
import * as Q from './sql.js';

/** Key prefix (meta table) of each file input's unreadable files. */
const FILE_PROBLEMS = 'file_errors/';

/** The seal state of one stream, as committed. */
export interface StreamState extends StreamHead {
  checkpointedSize: number;
  checkpointedAt: number;
  lastNote: string | null;
  /** Committed bytes of the entry lines since the last checkpoint (the open outbox segment). */
  spoolBytes: number;
}

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

/** A signed checkpoint and the entries [firstSeq, size) it closes: one object to ship. */
export interface OutboxObject {
  id: number;
  stream: string;
  firstSeq: number;
  size: number;
  note: string;
  bytes: number;
  createdAt: number;
}

/** An object a sink refused for good, waiting for an operator. */
export interface ParkedObject {
  sink: string;
  objectId: number;
  code: string;
  reason: string;
  parkedAt: number;
  stream: string | null;
  firstSeq: number | null;
  size: number | null;
}

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
  file?: { id: number; offset: number; path: string; done?: boolean | undefined };
  counters?: Record<string, number>;
  /** Dedupe keys of the new entries, and how long keys are kept (see SQL_DEDUPE_*). */
  dedupe?: { keys: { key: string; seq: number }[]; sealedAt: number; windowMs: number; maxIds: number } | undefined;
}

/** Where checkpoint.entries cuts a batch (commitSealedCut): the head and byte length of its lines up to there. */
export interface SealCut {
  head: StreamHead;
  end: number;
  note: string;
}

const OUTBOX_BYTES = 'outbox_bytes';

interface StreamRow {
  name: string;
  next_seq: number;
  chain_head: Buffer;
  tree_edge: Buffer;
  checkpointed_size: number;
  checkpointed_at: number;
  last_note: string | null;
  spool_bytes: number;
}

function toStream(r: StreamRow): StreamState {
  return {
    name: r.name,
    nextSeq: r.next_seq,
    chainHead: new Uint8Array(r.chain_head),
    edge: CompactRange.deserialize(r.tree_edge),
    checkpointedSize: r.checkpointed_size,
    checkpointedAt: r.checkpointed_at,
    lastNote: r.last_note,
    spoolBytes: r.spool_bytes,
  };
}

export class StateStore {
  private readonly db: Db;
  private readonly stmt: Record<string, Database.Statement<unknown[], unknown>> = {};
  /** The outbox's entry lines, in segment files beside the database (`<db>-outbox/`). */
  private readonly spool: Spool;

  /** `onUnlinkError`: an acknowledged outbox segment could not be deleted (see Spool). */
  constructor(db: Db, onUnlinkError?: (file: string, err: unknown) => void) {
    this.db = db;
    this.spool = new Spool(`${db.name}-outbox`, onUnlinkError);
  }

  private q(sql: string): Database.Statement<unknown[], unknown> {
    return (this.stmt[sql] ??= this.db.prepare(sql));
  }

  close(): void {
    this.spool.close();
    if (this.db.open) this.db.close();
  }

  /**
   * Brings the outbox segments in line with the committed state; only the daemon calls this, at
   * start, before it writes (a second process doing it could cut a running daemon's append).
   * A v2 database's entry rows are first moved into segment files: the files are written whole
   * and synced, then one transaction empties the table, so a crash in between just repeats it.
   */
  recoverOutbox(): void {
    for (const { stream } of this.q(Q.SQL_LEGACY_STREAMS_WITH_ENTRIES).all() as { stream: string }[]) {
      const objects = (
        this.q(Q.SQL_LIST_OBJECTS).all() as { stream: string; first_seq: number; size: number }[]
      ).filter((o) => o.stream === stream);
      const s = this.loadStream(stream);
      const lines = (from: number, to: number) =>
        Buffer.concat(this.q(Q.SQL_LEGACY_ENTRY_LINES).pluck().all(stream, from, to) as Buffer[]);
      for (const o of objects) this.spool.rewrite(stream, o.first_seq, lines(o.first_seq, o.size));
      const open = lines(s.checkpointedSize, s.nextSeq);
      this.spool.rewrite(stream, s.checkpointedSize, open);
      this.db.transaction(() => {
        this.q(Q.SQL_LEGACY_DELETE_ENTRIES).run(stream);
        this.q(Q.SQL_SET_SPOOL_BYTES).run(open.length, stream);
      })();
    }
    const objects = this.q(Q.SQL_LIST_OBJECTS).all() as { stream: string; first_seq: number; bytes: number }[];
    this.spool.recover({
      objects: objects.map((o) => ({ stream: o.stream, firstSeq: o.first_seq, bytes: o.bytes })),
      open: this.listStreams().map((s) => ({ stream: s.name, firstSeq: s.checkpointedSize, bytes: s.spoolBytes })),
    });
  }

  // ---- streams -------------------------------------------------------------------------

  /** The committed state of `name`, creating an empty stream on first use. */
  loadStream(name: string): StreamState {
    let row = this.q(Q.SQL_GET_STREAM).get(name) as StreamRow | undefined;
    if (!row) {
      this.q(Q.SQL_INSERT_STREAM).run(name, Buffer.from(CHAIN_START), Buffer.from(CompactRange.empty().serialize()));
      row = this.q(Q.SQL_GET_STREAM).get(name) as StreamRow;
    }
    return toStream(row);
  }

  /**
   * Continues `name` where a verified trail ends (after a state loss): its size, chain head, tree
   * edge and newest note become the committed head, as if this database had signed them.
   */
  restoreStream(
    name: string,
    t: { size: number; chainHead: Uint8Array; edge: CompactRange; note: string; signedAt: number },
  ): StreamState {
    this.q(Q.SQL_RESTORE_STREAM).run(
      name,
      t.size,
      Buffer.from(t.chainHead),
      Buffer.from(t.edge.serialize()),
      t.size,
      t.signedAt,
      t.note,
    );
    return this.loadStream(name);
  }

  listStreams(): StreamState[] {
    return (this.q(Q.SQL_LIST_STREAMS).all() as StreamRow[]).map(toStream);
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
      const row = this.q(Q.SQL_GET_STREAM).get(c.stream.name) as StreamRow | undefined;
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
      this.q(Q.SQL_UPDATE_STREAM_HEAD).run(
        c.stream.nextSeq,
        Buffer.from(c.stream.chainHead),
        Buffer.from(c.stream.edge.serialize()),
        row.spool_bytes + c.data.length,
        c.stream.name,
        c.before,
      );
      if (c.file)
        this.q(Q.SQL_UPDATE_FILE_OFFSET).run(c.file.offset, c.file.path, c.file.done ? 1 : 0, Date.now(), c.file.id);
      // The keys commit with their entries: a crash before COMMIT seals neither, after it both.
      if (c.dedupe) this.recordDedupeKeys(c.stream.name, c.stream.nextSeq, c.dedupe);
      this.bump({ ...c.counters, [OUTBOX_BYTES]: c.data.length });
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
          const row = this.q(Q.SQL_GET_STREAM).get(c.stream.name) as StreamRow | undefined;
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
    const row = this.q(Q.SQL_GET_STREAM).get(stream) as StreamRow | undefined;
    if (row) await this.spool.prewrite(stream, row.checkpointed_size, row.spool_bytes, data);
  }

  /** Whether `key` was sealed in `stream` within the kept window. */
  dedupeKeySeen(stream: string, key: string): boolean {
    return this.q(Q.SQL_DEDUPE_SEEN).get(stream, key) !== undefined;
  }

  private recordDedupeKeys(stream: string, nextSeq: number, d: NonNullable<SealCommit['dedupe']>): void {
    for (const k of d.keys) this.q(Q.SQL_DEDUPE_INSERT).run(stream, k.key, k.seq, d.sealedAt);
    this.q(Q.SQL_DEDUPE_PRUNE_SEQ).run(stream, nextSeq - d.maxIds);
    this.q(Q.SQL_DEDUPE_PRUNE_AGE).run(stream, d.sealedAt - d.windowMs);
  }

  /**
   * Records a signed checkpoint as the next object to ship, and marks it as the stream's latest.
   * The object is the stream's open segment as committed; the next batch starts a new one. A
   * crash before COMMIT just means the checkpoint is signed again later (same tree, no fork).
   */
  commitCheckpoint(stream: string, firstSeq: number, size: number, note: string, createdAt: number): OutboxObject {
    const obj = this.db.transaction(() => {
      const row = this.q(Q.SQL_GET_STREAM).get(stream) as StreamRow | undefined;
      if (!row || row.checkpointed_size !== firstSeq || row.next_seq !== size)
        throw new TailsealError(
          'STATE_CORRUPT',
          `checkpoint of stream ${stream} [${firstSeq}, ${size}) does not match its committed state`,
        );
      const bytes = row.spool_bytes;
      const res = this.q(Q.SQL_INSERT_OBJECT).run(stream, firstSeq, size, note, bytes, createdAt);
      this.q(Q.SQL_UPDATE_STREAM_CHECKPOINT).run(size, createdAt, note, stream);
      return { id: Number(res.lastInsertRowid), stream, firstSeq, size, note, bytes, createdAt };
    })();
    this.spool.closeSegment(stream);
    return obj;
  }

  // ---- files ---------------------------------------------------------------------------

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

  // ---- outbox and sinks ----------------------------------------------------------------

  /** Bytes of sealed entry lines not yet acknowledged by every sink. */
  outboxBytes(): number {
    return this.counter(OUTBOX_BYTES);
  }

  nextObject(afterId: number): OutboxObject | undefined {
    const r = this.q(Q.SQL_NEXT_OBJECT).get(afterId) as
      | { id: number; stream: string; first_seq: number; size: number; note: string; bytes: number; created_at: number }
      | undefined;
    return (
      r && {
        id: r.id,
        stream: r.stream,
        firstSeq: r.first_seq,
        size: r.size,
        note: r.note,
        bytes: r.bytes,
        createdAt: r.created_at,
      }
    );
  }

  /** The segment file holding exactly an object's lines (none for a heartbeat). */
  objectFile(o: { stream: string; firstSeq: number; bytes: number }): { path: string; bytes: number } | undefined {
    return o.bytes === 0 ? undefined : { path: this.spool.path(o.stream, o.firstSeq), bytes: o.bytes };
  }

  /** An object's entry lines (one buffer; none for a heartbeat). */
  objectLines(o: { stream: string; firstSeq: number; bytes: number }): Buffer[] {
    return o.bytes === 0 ? [] : [this.spool.read(o.stream, o.firstSeq, o.bytes)];
  }

  cursor(sink: string): number {
    const r = this.q(Q.SQL_GET_CURSOR).get(sink) as { acked_id: number } | undefined;
    return r?.acked_id ?? 0;
  }

  /**
   * Moves `sink`'s cursor to `id` and deletes every object (and its entries) that all `sinks`
   * have acknowledged. One transaction: a crash before COMMIT re-sends the object, which the
   * sink recognises as identical (write-once names); after COMMIT it is never sent again.
   */
  ackObject(sink: string, id: number, sinks: readonly string[]): void {
    const done = this.db.transaction(() => {
      this.q(Q.SQL_UPSERT_CURSOR).run(sink, id);
      const acked = Math.min(...sinks.map((s) => this.cursor(s)));
      const rows = this.q(Q.SQL_OBJECTS_UP_TO).all(acked) as {
        id: number;
        stream: string;
        first_seq: number;
        size: number;
        bytes: number;
      }[];
      let freed = 0;
      for (const o of rows) {
        this.q(Q.SQL_DELETE_OBJECT).run(o.id);
        freed += o.bytes;
      }
      if (freed > 0) this.q(Q.SQL_ADD_COUNTER).run(OUTBOX_BYTES, -freed);
      return rows;
    })();
    // After COMMIT: the segments are no longer referenced. A crash before these unlinks leaves
    // orphan files that recoverOutbox() deletes at the next start.
    // A heartbeat (no entries) has no segment: its first_seq names the next object's.
    for (const o of done) if (o.size > o.first_seq) this.spool.remove(o.stream, o.first_seq);
  }

  /** Resolves once the segments of acknowledged objects are deleted (they go in the background). */
  segmentsRemoved(): Promise<void> {
    return this.spool.removed();
  }

  /** Holds an object for a sink until an operator re-queues it (`tailseal requeue`). */
  park(sink: string, objectId: number, code: string, reason: string): void {
    this.q(Q.SQL_PARK).run(sink, objectId, code, reason, Date.now());
  }

  isParked(sink: string, objectId: number): boolean {
    return this.q(Q.SQL_IS_PARKED).get(sink, objectId) !== undefined;
  }

  listParked(): ParkedObject[] {
    return (
      this.q(Q.SQL_LIST_PARKED).all() as {
        sink: string;
        object_id: number;
        code: string;
        reason: string;
        parked_at: number;
        stream: string | null;
        first_seq: number | null;
        size: number | null;
      }[]
    ).map((r) => ({
      sink: r.sink,
      objectId: r.object_id,
      code: r.code,
      reason: r.reason,
      parkedAt: r.parked_at,
      stream: r.stream,
      firstSeq: r.first_seq,
      size: r.size,
    }));
  }

  /** Re-queues the parked objects of `sink` (all sinks when undefined); returns how many. */
  unpark(sink?: string): number {
    return sink === undefined ? this.q(Q.SQL_UNPARK_ALL).run().changes : this.q(Q.SQL_UNPARK_SINK).run(sink).changes;
  }

  /** Objects the outbox holds after `id` (a sink's backlog past its cursor). */
  objectsAfter(id: number): number {
    return (this.q(Q.SQL_COUNT_OBJECTS_AFTER).get(id) as { n: number }).n;
  }

  /**
   * Per stream, the seq where the first object `sink` has not acknowledged begins: the sink holds
   * every object below it (its cursor only moves over a contiguous prefix); above it, objects
   * may be stored out of order while in flight. Streams with nothing waiting are absent.
   */
  unackedStarts(sink: string): Map<string, number> {
    const rows = this.q(Q.SQL_UNACKED_STARTS).all(this.cursor(sink)) as { stream: string; first: number }[];
    return new Map(rows.map((r) => [r.stream, r.first]));
  }

  /** Entries waiting for sinks: in signed objects, and sealed since each stream's last checkpoint. */
  outboxEntries(): number {
    const signed = this.q(Q.SQL_OUTBOX_OBJECT_ENTRIES).pluck().get() as number;
    return signed + this.listStreams().reduce((n, s) => n + (s.nextSeq - s.checkpointedSize), 0);
  }

  /** Periodic upkeep: returns free pages to the filesystem so the file does not keep its peak size. */
  vacuumStep(): void {
    this.db.exec(Q.SQL_INCREMENTAL_VACUUM);
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

  // ---- counters ------------------------------------------------------------------------

  counter(name: string): number {
    const r = this.q(Q.SQL_GET_COUNTER).get(name) as { value: number } | undefined;
    return r?.value ?? 0;
  }

  counters(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.q(Q.SQL_LIST_COUNTERS).all() as { name: string; value: number }[]) out[r.name] = r.value;
    return out;
  }

  addCounters(values: Record<string, number>): void {
    this.db.transaction(() => this.bump(values))();
  }

  /** Adds to counters inside the caller's transaction. */
  private bump(values: Record<string, number>): void {
    for (const [k, v] of Object.entries(values)) if (v !== 0) this.q(Q.SQL_ADD_COUNTER).run(k, v);
  }
}
