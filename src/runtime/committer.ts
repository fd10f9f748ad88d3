// The commit path, the daemon's BatchConsumer: backpressure -> dedupe -> mask -> seal -> commit. Each
// source batch is sealed and committed with its position in one transaction, or not at all.
import { TailsealError, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { maskRecord } from '../mask/apply.js';
import type { MaskConfig } from '../mask/config.js';
import { Masker } from '../mask/masker.js';
import type { Quarantine } from '../mask/quarantine.js';
import { LineBatch, entryLineOverhead } from '../seal/encoder.js';
import { type StreamHead, sealRecords } from '../seal/sealer.js';
import { Slicer } from '../sources/slicer.js';
import type { BatchConsumer, SourceBatch, SourceRecord } from '../sources/source.js';
import type { StateStore } from '../store/state.js';
import type { StreamState } from '../store/streams.js';
import type { Checkpointer } from './checkpointer.js';
import type { Admitter, SlicedCommitter } from '../sources/capabilities.js';

/** commitSliced seals this many payload bytes between two looks at the clock. */
const SLICE_SEAL_BYTES = 256 * 1024;

/** After backpressure, reading resumes once the outbox is below this fraction of its limit. */
const OUTBOX_LOW_WATER = 0.75;

export interface CommitterDeps {
  store: StateStore;
  /** The streams' heads, the checkpoint policy and the signer. */
  checkpointer: Checkpointer;
  log: Logger;
  /** Where mask rules put the decisions they quarantine. */
  quarantine: Quarantine;
  /** Counts a committed batch (metrics). Must not throw; a throw is logged, the batch stays committed. */
  committed: (input: string, stream: string, counters: Record<string, number>) => void;
  /** Asks every source to read again (the outbox has room, or a stream is no longer locked). */
  wake: () => void;
  /** Tells every shipper that objects were closed. */
  notify: () => void;
}

export class Committer implements BatchConsumer, SlicedCommitter, Admitter {
  /** Each input's mask rules (inputs without rules are not in the map). */
  private readonly maskers = new Map<string, Masker>();
  /** Reused for every batch's entry lines (commit is synchronous, so one buffer suffices). */
  private readonly lineBatch = new LineBatch();
  /** outbox.max_bytes in force. */
  private maxBytes: number;
  private paused = false;
  /** The last commit's failure (null after a success): /readyz reports it. */
  private lastError: string | null = null;
  private stopping = false;
  /** Streams being sealed by commitSliced, each with a promise that settles when it is done. */
  private readonly slicing = new Map<string, Promise<void>>();
  /** A commit was turned away by a locked stream: wake the sources once no stream is locked. */
  private wakeAfterSlicing = false;

  constructor(
    private readonly deps: CommitterDeps,
    outbox: { max_bytes: number },
  ) {
    this.maxBytes = outbox.max_bytes;
  }

  /** Takes a reloaded config's outbox limit. */
  configure(outbox: { max_bytes: number }): void {
    this.maxBytes = outbox.max_bytes;
  }

  /** Sets (or, with none, removes) an input's mask rules. */
  setMask(input: string, mask: MaskConfig | undefined): void {
    if (mask) this.maskers.set(input, new Masker(mask));
    else this.maskers.delete(input);
  }

  /** True while reading is paused because the outbox is full. */
  get backpressure(): boolean {
    return this.paused;
  }

  /** Why the last commit failed (null after a success). */
  get commitError(): string | null {
    return this.lastError;
  }

  /** Whether `stream` is being sealed in slices (locked). */
  sealing(stream: string): boolean {
    return this.slicing.has(stream);
  }

  /** The daemon is stopping: batches being sealed in slices give up before their commit (see idle). */
  halt(): void {
    this.stopping = true;
  }

  /** Resolves once no batch is being sealed in slices. */
  idle(): Promise<unknown> {
    return Promise.all(this.slicing.values());
  }

  /**
   * Seals a source batch and commits it with the file offset (BatchConsumer contract).
   * Returns false, committing nothing, while the outbox is over its limit.
   */
  commit(batch: SourceBatch): boolean {
    // A stream being sealed in slices is locked: its head must not move under it.
    if (this.slicing.has(batch.stream)) {
      this.wakeAfterSlicing = true;
      return false;
    }
    if (this.pausedFor(batch)) return false;
    const head = this.deps.checkpointer.head(batch.stream);
    const now = Date.now();
    const counters = { ...batch.counters };
    const dedupe = new DedupeFilter(this.deps.store, batch, head.nextSeq, this.masking(batch, counters));
    for (const r of batch.records) dedupe.add(r);
    const cutAt = cutPositions(head, dedupe.records.length, this.deps.checkpointer.entries);
    const sealed = sealWithCuts(head, dedupe.records, cutAt, now, this.lineBatch);
    return this.commitSealed(batch, counters, dedupe, head, sealed, now);
  }

  /**
   * commit() in slices of about `sliceMs` (SlicedCommitter): masking, dedupe lookups
   * and sealing yield to the event loop between slices; the commit itself is one transaction.
   * The stream is locked meanwhile, so its head and dedupe keys cannot change under the slices.
   */
  async commitSliced(batch: SourceBatch, sliceMs: number): Promise<boolean> {
    for (let held = this.slicing.get(batch.stream); held; held = this.slicing.get(batch.stream)) await held;
    if (this.pausedFor(batch)) return false;
    let unlock = () => {};
    this.slicing.set(batch.stream, new Promise<void>((r) => (unlock = r)));
    try {
      const slicer = new Slicer(sliceMs);
      const head = this.deps.checkpointer.head(batch.stream);
      const now = Date.now();
      const counters = { ...batch.counters };
      const dedupe = new DedupeFilter(this.deps.store, batch, head.nextSeq, this.masking(batch, counters));
      for (const r of batch.records) {
        dedupe.add(r);
        if (slicer.due()) await slicer.pause();
      }
      // Sealed in groups of about SLICE_SEAL_BYTES of payload into one buffer, sized for the
      // widest lines so that it never grows (a copy of everything so far): escaping at most
      // doubles a payload of valid JSON, and LineBatch reserves 6 bytes per byte of the entry it
      // writes. Pages never written take no memory; mask metadata may still make it grow.
      const overhead = new Map<string, number>();
      let capacity = 4096;
      let largest = 0;
      for (const r of dedupe.records) {
        const key = `${r.kind} ${r.source}`;
        if (!overhead.has(key)) overhead.set(key, entryLineOverhead(r.kind, batch.stream, r.source));
        capacity += overhead.get(key)! + 2 * r.payload.length;
        largest = Math.max(largest, r.payload.length);
      }
      const lines = new LineBatch(capacity + 4 * largest);
      let sealedHead: StreamHead = head;
      const records = dedupe.records;
      const cutAt = cutPositions(head, records.length, this.deps.checkpointer.entries);
      const cuts: Cut[] = [];
      for (let i = 0; i < records.length;) {
        const limit = cutAt[cuts.length] ?? records.length;
        let j = i;
        for (let bytes = 0; j < limit && bytes < SLICE_SEAL_BYTES; j++) bytes += records[j]!.payload.length;
        sealedHead = sealRecords(sealedHead, records.slice(i, j), now, lines, true).head;
        if (j < records.length && j === limit) cuts.push({ head: sealedHead, end: lines.bytes().length });
        i = j;
        if (slicer.due()) await slicer.pause();
      }
      const sealed = { head: sealedHead, data: lines.bytes(), cuts };
      // The lines are written and synced off the event loop first (the largest stall otherwise);
      // the transaction then records them. Not for a batch the outbox would refuse.
      const stopping = () => new TailsealError('STATE_UNAVAILABLE', 'tailseal is stopping; the batch is not committed');
      if (this.stopping) throw stopping();
      if (sealed.data.length > 0 && this.outboxFull(sealed.data.length)) return false;
      // Only the first object's part: the open segment ends at the first cut.
      await this.deps.store.prewriteSealed(batch.stream, sealed.data.subarray(0, cuts[0]?.end ?? sealed.data.length));
      if (this.stopping) throw stopping();
      return this.commitSealed(batch, counters, dedupe, head, sealed, now, true);
    } finally {
      this.slicing.delete(batch.stream);
      unlock();
      if (this.wakeAfterSlicing && this.slicing.size === 0) {
        this.wakeAfterSlicing = false;
        this.deps.wake();
      }
    }
  }

  /** Admitter.admit: whether the outbox takes `bytes` of entry lines now. */
  admit(bytes: number): 'ok' | 'full' | 'never' {
    if (bytes > this.maxBytes) return 'never';
    return this.outboxFull(bytes) ? 'full' : 'ok';
  }

  /** A sink acknowledged objects: once the outbox is below its low-water mark, reading resumes. */
  onAck(): void {
    if (this.paused && this.deps.store.outbox.bytes() < this.maxBytes * OUTBOX_LOW_WATER) {
      this.paused = false;
      this.deps.log.info({ outbox_bytes: this.deps.store.outbox.bytes() }, 'Outbox has room again; reading resumed.');
      this.deps.wake();
    }
  }

  /** Whether adding `bytes` would take the outbox past its limit; if so, reading pauses (backpressure). */
  private outboxFull(bytes: number): boolean {
    const limit = this.maxBytes;
    const used = this.deps.store.outbox.bytes();
    if (used === 0 || (!this.paused && used + bytes <= limit)) return false;
    if (!this.paused) {
      this.paused = true;
      const msg = 'Outbox is full; reading paused until sinks catch up (backpressure). No data is dropped.';
      this.deps.log.warn({ outbox_bytes: used, max_bytes: limit }, msg);
    }
    return true;
  }

  /** True while reading is paused by backpressure (an empty outbox always takes one batch). */
  private pausedFor(batch: SourceBatch): boolean {
    return this.paused && batch.records.length > 0 && this.deps.store.outbox.bytes() > 0;
  }

  /**
   * Commits sealed lines unless they would take the outbox past outbox.max_bytes: the limit
   * counts the entry lines as stored (escaped payload, envelope fields, chain), not the records'
   * raw bytes, which can be a small fraction of them. An empty outbox always takes one batch,
   * so a batch larger than the limit cannot deadlock. Once full, reading stays paused until the
   * sinks have drained it below the low-water mark (onAck), so a full outbox does not flap
   * between paused and running on every object.
   */
  private commitSealed(
    batch: SourceBatch,
    batchCounters: Record<string, number>,
    dedupe: DedupeFilter,
    head: StreamState,
    sealed: { head: StreamHead; data: Buffer; cuts: Cut[] },
    now: number,
    prewritten = false,
  ): boolean {
    if (sealed.data.length > 0 && this.outboxFull(sealed.data.length)) return false;
    const duplicates = dedupe.duplicates;
    const counters =
      duplicates === 0
        ? batchCounters
        : { ...batchCounters, decisions: (batchCounters.decisions ?? 0) - duplicates, decisions_duplicate: duplicates };
    let added: number;
    const signed = sealed.cuts.map((c) => ({ ...c, note: this.deps.checkpointer.sign(c.head, now) }));
    try {
      const commit = {
        stream: sealed.head,
        before: head.nextSeq,
        data: sealed.data,
        prewritten,
        file: batch.position && {
          id: batch.position.fileId,
          offset: batch.position.offset,
          path: batch.position.path,
          done: batch.position.done,
        },
        counters,
        dedupe: batch.dedupe && {
          keys: dedupe.keys,
          sealedAt: now,
          windowMs: batch.dedupe.windowMs,
          maxIds: batch.dedupe.maxIds,
        },
      };
      const store = this.deps.store;
      added = signed.length === 0 ? store.commitSealed(commit) : store.commitSealedCut(commit, signed, now);
    } catch (err) {
      this.lastError = errorMessage(err);
      throw err;
    }
    this.lastError = null;
    // Committed: from here on nothing may throw, or the source would read the batch again.
    try {
      this.deps.committed(batch.input, batch.stream, counters);
    } catch (err) {
      this.deps.log.warn({ err: errorMessage(err) }, 'Could not update the metrics of a committed batch.');
    }
    if (duplicates > 0)
      this.deps.log.info(
        { stream: batch.stream, duplicates },
        'Skipped decisions already sealed (a retried upload); each decision is sealed once.',
      );
    // Committed: only now does the in-memory head move. A checkpoint signed while the batch was
    // sealed in slices moved the head's checkpoint fields: start from the head as it is now.
    const current = this.deps.checkpointer.heads.get(batch.stream) ?? head;
    let next: StreamState = { ...current, ...sealed.head, spoolBytes: current.spoolBytes + added };
    const last = signed.at(-1);
    if (last) {
      // The batch's cuts were signed and closed as objects with it; the rest is the open segment.
      const size = last.head.nextSeq;
      next = { ...next, checkpointedSize: size, checkpointedAt: now, lastNote: last.note, spoolBytes: added };
      const sizes = signed.map((c) => c.head.nextSeq);
      this.deps.log.debug({ stream: next.name, sizes }, 'Checkpoints signed within a batch.');
      this.deps.notify();
    }
    // The batch is committed: whatever happens to the checkpoint, report success, or the
    // source would re-read lines that are already sealed.
    this.deps.checkpointer.committed(batch.stream, next, now);
    return true;
  }

  /** What a new record of `batch` becomes under its input's mask rules (none: itself); see mask/apply.ts. */
  private masking(batch: SourceBatch, counters: Record<string, number>): RecordTransform | undefined {
    const masker = this.maskers.get(batch.input);
    if (!masker) return undefined;
    const rules = { masker, quarantine: this.deps.quarantine, log: this.deps.log };
    return (r) => maskRecord(batch.input, r, rules, counters);
  }
}

/** Where checkpoint.entries cuts a batch's lines: the head after the cut and the lines' byte length up to it. */
interface Cut {
  head: StreamHead;
  end: number;
}

/**
 * The record indexes where checkpoint.entries falls inside a batch of `n` records sealed after
 * `head`: an object then holds at most `entries` entries even when one read or upload brings
 * more (a backlog read in 1 MiB chunks). A cut at the batch's end is left to commitSealed.
 */
function cutPositions(head: StreamHead & { checkpointedSize: number }, n: number, entries: number): number[] {
  const cuts: number[] = [];
  for (let at = Math.max(1, entries - (head.nextSeq - head.checkpointedSize)); at < n; at += entries) cuts.push(at);
  return cuts;
}

/** sealRecords, noting the head and byte length at each cut (see cutPositions). */
function sealWithCuts(
  head: StreamHead,
  records: SourceRecord[],
  cutAt: number[],
  now: number,
  lines: LineBatch,
): { head: StreamHead; data: Buffer; cuts: Cut[] } {
  if (cutAt.length === 0) return { ...sealRecords(head, records, now, lines), cuts: [] };
  const cuts: Cut[] = [];
  let from = 0;
  for (const to of [...cutAt, records.length]) {
    head = sealRecords(head, records.slice(from, to), now, lines, from > 0).head;
    if (to < records.length) cuts.push({ head, end: lines.bytes().length });
    from = to;
  }
  return { head, data: lines.bytes(), cuts };
}

/** What a record becomes before it is sealed (its mask rules): itself, another record, or nothing. */
type RecordTransform = (r: SourceRecord) => SourceRecord | undefined;

/**
 * A batch's records without those whose dedupeKey the stream sealed recently (or that repeat
 * within the batch), each new one passed through `transform` (the mask rules), and the keys of
 * the new ones with the seqs they get. Duplicates go first: a retried upload is not masked,
 * quarantined or counted again, and a decision dropped without a tombstone keeps its key (with
 * the next seq, for expiry) so its retry is known too. Its lookups must run right before the
 * commit that records the keys, with no other commit of the stream between: commit() runs them
 * synchronously, commitSliced() holds the stream's lock.
 */
class DedupeFilter {
  readonly records: SourceRecord[] = [];
  readonly keys: { key: string; seq: number }[] = [];
  duplicates = 0;
  private readonly inBatch = new Set<string>();

  constructor(
    private readonly store: StateStore,
    private readonly batch: SourceBatch,
    private readonly firstSeq: number,
    private readonly transform: RecordTransform | undefined,
  ) {}

  add(r: SourceRecord): void {
    const k = this.batch.dedupe ? r.dedupeKey : undefined;
    if (k !== undefined) {
      if (this.inBatch.has(k) || this.store.streams.dedupeKeySeen(this.batch.stream, k)) {
        this.duplicates++;
        return;
      }
      this.inBatch.add(k);
      this.keys.push({ key: k, seq: this.firstSeq + this.records.length });
    }
    const out = this.transform ? this.transform(r) : r;
    if (out) this.records.push(out);
  }
}
