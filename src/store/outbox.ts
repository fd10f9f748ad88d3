// The outbox repository: the signed objects waiting for sinks (their rows; their entry lines are
// in the spool's segment files, spool.ts), each sink's cursor, and the objects parked for an
// operator. It is the Outbox the sink shippers work with (sinks/shipper.ts). A new object is
// recorded by StateStore's checkpoint commit (state.ts); acknowledging one is this repository's
// own transaction.
import type { CounterRepo } from './counters.js';
import type { Db, Prepared } from './db.js';
import type { Spool } from './spool.js';
import * as Q from './sql.js';
import type { StreamRepo } from './streams.js';

/** The counter that holds the bytes of sealed entry lines not yet acknowledged by every sink. */
export const OUTBOX_BYTES = 'outbox_bytes';

/** A signed checkpoint and the entries [firstSeq, size) it closes: one object to ship. */
export interface OutboxObject {
  id: number;
  stream: string;
  firstSeq: number;
  size: number;
  note: string;
  bytes: number;
  createdAt: number;
  /** CompactRange.serialize() of the tree at `size` (absent for objects closed before schema v6). */
  edge?: Uint8Array;
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

export class OutboxRepo {
  constructor(
    private readonly db: Db,
    private readonly q: Prepared,
    /** The outbox's entry lines, in segment files beside the database (`<db>-outbox/`). */
    private readonly spool: Spool,
    private readonly streams: StreamRepo,
    private readonly counters: CounterRepo,
  ) {}

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
      const s = this.streams.loadStream(stream);
      const lines = (from: number, to: number) =>
        Buffer.concat(this.q(Q.SQL_LEGACY_ENTRY_LINES).pluck().all(stream, from, to) as Buffer[]);
      for (const o of objects) this.spool.rewrite(stream, o.first_seq, lines(o.first_seq, o.size));
      const open = lines(s.checkpointedSize, s.nextSeq);
      this.spool.rewrite(stream, s.checkpointedSize, open);
      this.db.transaction(() => {
        this.q(Q.SQL_LEGACY_DELETE_ENTRIES).run(stream);
        this.streams.setSpoolBytes(stream, open.length);
      })();
    }
    const objects = this.q(Q.SQL_LIST_OBJECTS).all() as { stream: string; first_seq: number; bytes: number }[];
    this.spool.recover({
      objects: objects.map((o) => ({ stream: o.stream, firstSeq: o.first_seq, bytes: o.bytes })),
      open: this.streams
        .listStreams()
        .map((s) => ({ stream: s.name, firstSeq: s.checkpointedSize, bytes: s.spoolBytes })),
    });
  }

  /** In the caller's transaction: records a signed checkpoint's object (the stream's open segment, `bytes` long). */
  insertObject(o: Omit<OutboxObject, 'id'>): OutboxObject {
    const res = this.q(Q.SQL_INSERT_OBJECT).run(
      o.stream,
      o.firstSeq,
      o.size,
      o.note,
      o.bytes,
      o.createdAt,
      o.edge ?? null,
    );
    return { id: Number(res.lastInsertRowid), ...o };
  }

  /** Bytes of sealed entry lines not yet acknowledged by every sink. */
  bytes(): number {
    return this.counters.get(OUTBOX_BYTES);
  }

  nextObject(afterId: number): OutboxObject | undefined {
    const r = this.q(Q.SQL_NEXT_OBJECT).get(afterId) as
      | {
          id: number;
          stream: string;
          first_seq: number;
          size: number;
          note: string;
          bytes: number;
          created_at: number;
          edge: Buffer | null;
        }
      | undefined;
    return (
      r && {
        ...(r.edge ? { edge: new Uint8Array(r.edge) } : {}),
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
  ackObject(sink: string, id: number, sinks: readonly string[], kept: readonly number[] = []): void {
    const done = this.db.transaction(() => {
      // `kept`: the objects of this acknowledgement a trail sink stored (not passed by), in the same commit.
      for (const k of kept) this.q(Q.SQL_MARK_KEPT).run(k);
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
      if (freed > 0) this.counters.bump({ [OUTBOX_BYTES]: -freed });
      return rows;
    })();
    // After COMMIT: the segments are no longer referenced. A crash before these unlinks leaves
    // orphan files that recoverOutbox() deletes at the next start.
    // A heartbeat (no entries) has no segment: its first_seq names the next object's.
    for (const o of done) if (o.size > o.first_seq) this.spool.remove(o.stream, o.first_seq);
  }

  /** Whether a sink that keeps the trail has stored object `id` (false once it left the outbox). */
  kept(id: number): boolean {
    return (this.q(Q.SQL_OBJECT_KEPT).get(id) as { kept: number } | undefined)?.kept === 1;
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
  entries(): number {
    const signed = this.q(Q.SQL_OUTBOX_OBJECT_ENTRIES).pluck().get() as number;
    return signed + this.streams.listStreams().reduce((n, s) => n + (s.nextSeq - s.checkpointedSize), 0);
  }

  /** The shipper's delivery counters (Outbox.addCounters), in a transaction of their own. */
  addCounters(values: Record<string, number>): void {
    this.counters.add(values);
  }
}
