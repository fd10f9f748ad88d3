// Typed access to the state database: stream heads, file offsets, the outbox and sink cursors.
// Every multi-row change is one SQLite transaction; the comments before each step say why a
// crash (kill -9, power loss) at that point is safe.
import { TailsealError } from '../errors.js';
import { CHAIN_START } from '../seal/envelope.js';
import { CompactRange } from '../seal/merkle.js';
import type { StreamHead } from '../seal/sealer.js';
import type Database from 'better-sqlite3';
import type { Db } from './db.js';
import * as Q from './sql.js';

/** The seal state of one stream, as committed. */
export interface StreamState extends StreamHead {
  checkpointedSize: number;
  checkpointedAt: number;
  lastNote: string | null;
}

export interface FileRecord {
  id: number;
  input: string;
  ident: string;
  path: string;
  fingerprint: Uint8Array;
  fpLen: number;
  offset: number;
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
  entries: { seq: number; line: Uint8Array }[];
  /** The file offset that the entries bring the file to (none for records without a file). */
  file?: { id: number; offset: number; path: string };
  counters?: Record<string, number>;
}

const OUTBOX_BYTES = 'outbox_bytes';

interface StreamRow { name: string; next_seq: number; chain_head: Buffer; tree_edge: Buffer; checkpointed_size: number; checkpointed_at: number; last_note: string | null }

function toStream(r: StreamRow): StreamState {
  return {
    name: r.name,
    nextSeq: r.next_seq,
    chainHead: new Uint8Array(r.chain_head),
    edge: CompactRange.deserialize(r.tree_edge),
    checkpointedSize: r.checkpointed_size,
    checkpointedAt: r.checkpointed_at,
    lastNote: r.last_note,
  };
}

export class StateStore {
  private readonly db: Db;
  private readonly stmt: Record<string, Database.Statement<unknown[], unknown>> = {};

  constructor(db: Db) {
    this.db = db;
  }

  private q(sql: string): Database.Statement<unknown[], unknown> {
    return (this.stmt[sql] ??= this.db.prepare(sql));
  }

  close(): void {
    if (this.db.open) this.db.close();
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

  /** Bytes of the entry lines [from, to) of a stream still in the outbox. */
  entryBytes(stream: string, from: number, to: number): number {
    return (this.q(Q.SQL_COUNT_ENTRY_BYTES).get(stream, from, to) as { bytes: number }).bytes;
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
    return this.db.transaction(() => {
      // The WHERE next_seq = before guard turns a second writer (two daemons on one state
      // directory) into an error instead of a forked chain. It runs first, so a stale writer
      // fails with this message rather than on the entries' primary key.
      const res = this.q(Q.SQL_UPDATE_STREAM_HEAD).run(c.stream.nextSeq, Buffer.from(c.stream.chainHead), Buffer.from(c.stream.edge.serialize()), c.stream.name, c.before);
      if (res.changes !== 1) throw new TailsealError('STATE_CORRUPT', `stream ${c.stream.name} was advanced by another writer; is a second tailseal using the same state_dir?`);
      let bytes = 0;
      for (const e of c.entries) {
        this.q(Q.SQL_INSERT_ENTRY).run(c.stream.name, e.seq, e.line);
        bytes += e.line.length;
      }
      if (c.file) this.q(Q.SQL_UPDATE_FILE_OFFSET).run(c.file.offset, c.file.path, Date.now(), c.file.id);
      this.bump({ ...c.counters, [OUTBOX_BYTES]: bytes });
      return bytes;
    })();
  }

  /**
   * Records a signed checkpoint as the next object to ship, and marks it as the stream's latest.
   * The checkpoint covers only entries committed before; a crash before COMMIT just means the
   * checkpoint is signed again later (same tree, so never a fork).
   */
  commitCheckpoint(stream: string, firstSeq: number, size: number, note: string, createdAt: number): OutboxObject {
    return this.db.transaction(() => {
      const { n, bytes } = this.q(Q.SQL_COUNT_ENTRY_BYTES).get(stream, firstSeq, size) as { n: number; bytes: number };
      if (n !== size - firstSeq) throw new TailsealError('STATE_CORRUPT', `outbox of stream ${stream} is missing entries in [${firstSeq}, ${size})`);
      const res = this.q(Q.SQL_INSERT_OBJECT).run(stream, firstSeq, size, note, bytes, createdAt);
      this.q(Q.SQL_UPDATE_STREAM_CHECKPOINT).run(size, createdAt, note, stream);
      return { id: Number(res.lastInsertRowid), stream, firstSeq, size, note, bytes, createdAt };
    })();
  }

  // ---- files ---------------------------------------------------------------------------

  findFile(ident: string): FileRecord | undefined {
    const r = this.q(Q.SQL_GET_FILE_BY_IDENT).get(ident) as { id: number; input: string; ident: string; path: string; fingerprint: Buffer; fp_len: number; offset: number } | undefined;
    return r && { id: r.id, input: r.input, ident: r.ident, path: r.path, fingerprint: new Uint8Array(r.fingerprint), fpLen: r.fp_len, offset: r.offset };
  }

  /** Registers a file generation at offset 0 (or re-keys a reused inode's row to the new file). */
  upsertFile(f: Omit<FileRecord, 'id'>, existingId?: number): number {
    const now = Date.now();
    if (existingId !== undefined) {
      this.q(Q.SQL_RESET_FILE).run(f.input, f.path, Buffer.from(f.fingerprint), f.fpLen, f.offset, now, existingId);
      return existingId;
    }
    return Number(this.q(Q.SQL_INSERT_FILE).run(f.input, f.ident, f.path, Buffer.from(f.fingerprint), f.fpLen, f.offset, now).lastInsertRowid);
  }

  listFiles(): { id: number; input: string; ident: string; path: string; offset: number; updated_at: number }[] {
    return this.q(Q.SQL_LIST_FILES).all() as never;
  }

  // ---- outbox and sinks ----------------------------------------------------------------

  /** Bytes of sealed entry lines not yet acknowledged by every sink. */
  outboxBytes(): number {
    return this.counter(OUTBOX_BYTES);
  }

  nextObject(afterId: number): OutboxObject | undefined {
    const r = this.q(Q.SQL_NEXT_OBJECT).get(afterId) as { id: number; stream: string; first_seq: number; size: number; note: string; bytes: number; created_at: number } | undefined;
    return r && { id: r.id, stream: r.stream, firstSeq: r.first_seq, size: r.size, note: r.note, bytes: r.bytes, createdAt: r.created_at };
  }

  entryLines(stream: string, firstSeq: number, size: number): Buffer[] {
    // pluck(): the column values themselves, without a row object per entry (a shipping hot path).
    return (this.plucked ??= this.db.prepare(Q.SQL_SELECT_ENTRY_LINES).pluck()).all(stream, firstSeq, size) as Buffer[];
  }
  private plucked: Database.Statement<unknown[], unknown> | undefined;

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
    this.db.transaction(() => {
      this.q(Q.SQL_UPSERT_CURSOR).run(sink, id);
      const acked = Math.min(...sinks.map((s) => this.cursor(s)));
      const done = this.q(Q.SQL_OBJECTS_UP_TO).all(acked) as { id: number; stream: string; first_seq: number; size: number; bytes: number }[];
      let freed = 0;
      for (const o of done) {
        this.q(Q.SQL_DELETE_ENTRIES).run(o.stream, o.first_seq, o.size);
        this.q(Q.SQL_DELETE_OBJECT).run(o.id);
        freed += o.bytes;
      }
      if (freed > 0) this.q(Q.SQL_ADD_COUNTER).run(OUTBOX_BYTES, -freed);
    })();
  }


  /** Holds an object for a sink until an operator re-queues it (`tailseal requeue`). */
  park(sink: string, objectId: number, code: string, reason: string): void {
    this.q(Q.SQL_PARK).run(sink, objectId, code, reason, Date.now());
  }

  isParked(sink: string, objectId: number): boolean {
    return this.q(Q.SQL_IS_PARKED).get(sink, objectId) !== undefined;
  }

  listParked(): ParkedObject[] {
    return (this.q(Q.SQL_LIST_PARKED).all() as { sink: string; object_id: number; code: string; reason: string; parked_at: number; stream: string | null; first_seq: number | null; size: number | null }[]).map((r) => ({
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
