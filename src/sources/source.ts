// The boundary between a source (where decisions come from) and the daemon that seals them: the core
// contract every source kind keeps. What only some sources, consumers or hosts offer (positions in files,
// sliced commits, refusal counts) are the capability interfaces of capabilities.ts, checked at runtime.
import type { Logger } from 'pino';
import type { RecordKind } from '../trail/envelope.js';

/** A record a source wants sealed (structurally the seal stage's SealRecord). */
export interface SourceRecord {
  kind: RecordKind;
  /** Where the record came from (a file path), stored in the envelope. */
  source: string;
  /** Byte offset of the record's first byte in that source. */
  offset: number;
  /**
   * The bytes to seal: the line exactly as written (no "\n"), or a gap record's JSON. May be a
   * view into the source's read buffer, valid only until `commit` returns: a consumer that
   * keeps it longer must copy it.
   */
  payload: Uint8Array;
  /**
   * When set (with SourceBatch.dedupe), a record whose key was sealed recently in the stream is
   * skipped instead of sealed again: a source whose client retries (OPA re-sends an upload it
   * got no answer for) passes the decision_id here.
   */
  dedupeKey?: string;
  /** Pairs sealed with the record (envelope version 2), e.g. the Kubernetes pod of a container log line. */
  meta?: Readonly<Record<string, string>> | undefined;
}

/** What a source hands over in one read step: records plus the position they bring it to. */
export interface SourceBatch {
  /** The input (its config name) the batch comes from: its mask rules apply. */
  input: string;
  stream: string;
  records: SourceRecord[];
  /** The file row and the offset just past the last byte this batch consumed (file sources); `done` finishes it. */
  position?: { fileId: number; offset: number; path: string; done?: boolean };
  /** How long, and over how many entries, records' dedupeKeys are remembered. */
  dedupe?: { windowMs: number; maxIds: number };
  /** Counts of lines read, kept and skipped by reason, committed with the batch. */
  counters: Record<string, number>;
}

/**
 * Where a source delivers batches. Implemented by the daemon (seal + commit in one transaction).
 *
 * Contract: `commit` either commits the whole batch (records sealed AND position advanced) and
 * returns true, or commits nothing. It returns false when the outbox is full (backpressure:
 * the source must stop reading and retry after `Source.wake()` or its next poll), and throws
 * when the state database fails (the source must not advance and retries later). It runs
 * synchronously: the records' payloads are only borrowed for the call. A consumer may offer more
 * (capabilities.ts: SlicedCommitter, Admitter).
 */
export interface BatchConsumer {
  commit(batch: SourceBatch): boolean;
}

/**
 * A running source.
 *
 * Lifecycle: construct -> start() -> running -> close(). `start` returns once discovery has
 * begun; reading continues in the background. `close` stops reading and releases files; it is
 * safe before `start` and safe to call twice. Nothing is half-committed at any point, because
 * every position change goes through BatchConsumer.commit. What a source offers beyond this (lag,
 * health, release on reload, placement after a state loss ...) are the capabilities of capabilities.ts.
 */
export interface Source {
  readonly name: string;
  start(): Promise<void>;
  /** Asks the source to read now (new data, or room in the outbox again). */
  wake(): void;
  close(): Promise<void>;
}

/**
 * What every source gets from the daemon. A host may offer more (capabilities.ts: PathGuard,
 * RefusalCounter), which a source checks for with the capability's guard.
 */
export interface SourceDeps {
  consumer: BatchConsumer;
  log: Logger;
  /**
   * The state database handle (store/state.ts). A kind that keeps state of its own declares the small
   * interface it needs of it and checks for it (sources/file/registry.ts: FileRegistry, asFileRegistry).
   */
  state: unknown;
}

/** Builds a source from its validated config (each source folder exports one). */
export type SourceFactory<C> = (config: C, deps: SourceDeps) => Source;
