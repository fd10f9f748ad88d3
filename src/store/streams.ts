// The streams repository: each stream's committed seal state (next seq, chain head, the tree's
// compact range, the last checkpoint, the committed length of its open outbox segment) and the
// dedupe keys of its recently sealed records. Its writes are steps of StateStore's commit
// transactions (state.ts), which check the row and write the lines first.
import { CHAIN_START } from '../trail/envelope.js';
import { CompactRange } from '../trail/merkle.js';
import type { StreamHead } from '../seal/sealer.js';
import type { Prepared } from './db.js';
import * as Q from './sql.js';

/** The seal state of one stream, as committed. */
export interface StreamState extends StreamHead {
  checkpointedSize: number;
  checkpointedAt: number;
  lastNote: string | null;
  /** Committed bytes of the entry lines since the last checkpoint (the open outbox segment). */
  spoolBytes: number;
}

/** A stream's row as stored. */
export interface StreamRow {
  name: string;
  next_seq: number;
  chain_head: Buffer;
  tree_edge: Buffer;
  checkpointed_size: number;
  checkpointed_at: number;
  last_note: string | null;
  spool_bytes: number;
}

/** Dedupe keys of a batch's new entries, and how long keys are kept (see SQL_DEDUPE_*). */
export interface DedupeKeys {
  keys: { key: string; seq: number }[];
  sealedAt: number;
  windowMs: number;
  maxIds: number;
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

export class StreamRepo {
  constructor(private readonly q: Prepared) {}

  /** The stored row of `name` (a commit reads it inside its transaction to check the caller's view). */
  row(name: string): StreamRow | undefined {
    return this.q(Q.SQL_GET_STREAM).get(name) as StreamRow | undefined;
  }

  /** The committed state of `name`, creating an empty stream on first use. */
  loadStream(name: string): StreamState {
    let row = this.row(name);
    if (!row) {
      this.q(Q.SQL_INSERT_STREAM).run(name, Buffer.from(CHAIN_START), Buffer.from(CompactRange.empty().serialize()));
      row = this.row(name)!;
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

  /** In the caller's transaction: the head after new entries, if the row is still at `before`. */
  advanceHead(head: StreamHead, before: number, spoolBytes: number): void {
    this.q(Q.SQL_UPDATE_STREAM_HEAD).run(
      head.nextSeq,
      Buffer.from(head.chainHead),
      Buffer.from(head.edge.serialize()),
      spoolBytes,
      head.name,
      before,
    );
  }

  /** In the caller's transaction: a signed checkpoint at `size` closes the open segment. */
  markCheckpointed(stream: string, size: number, at: number, note: string): void {
    this.q(Q.SQL_UPDATE_STREAM_CHECKPOINT).run(size, at, note, stream);
  }

  /** In the caller's transaction: the committed length of the stream's open segment. */
  setSpoolBytes(stream: string, bytes: number): void {
    this.q(Q.SQL_SET_SPOOL_BYTES).run(bytes, stream);
  }

  /** Whether `key` was sealed in `stream` within the kept window. */
  dedupeKeySeen(stream: string, key: string): boolean {
    return this.q(Q.SQL_DEDUPE_SEEN).get(stream, key) !== undefined;
  }

  /** In the caller's transaction: records a batch's keys and expires the ones past the window. */
  recordDedupeKeys(stream: string, nextSeq: number, d: DedupeKeys): void {
    for (const k of d.keys) this.q(Q.SQL_DEDUPE_INSERT).run(stream, k.key, k.seq, d.sealedAt);
    this.q(Q.SQL_DEDUPE_PRUNE_SEQ).run(stream, nextSeq - d.maxIds);
    this.q(Q.SQL_DEDUPE_PRUNE_AGE).run(stream, d.sealedAt - d.windowMs);
  }
}
