// The boundary between a source (where decisions come from) and the daemon that seals them.
import type { Logger } from 'pino';
import type { RecordKind } from '../trail/envelope.js';
import type { FileProblem, FileRegistry } from './file/registry.js';
import type { ProtectedPaths } from './file/safe-open.js';

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
 * synchronously: the records' payloads are only borrowed for the call.
 */
export interface BatchConsumer {
  commit(batch: SourceBatch): boolean;
  /**
   * Optional: commit() with the masking, dedupe and sealing done in slices of about `sliceMs`
   * between which the event loop runs, for a batch too large to seal in one go (an upload).
   * Still one transaction: all records or none. While it runs, commit() of the same stream
   * returns false and its sources are woken afterwards.
   */
  commitSliced?(batch: SourceBatch, sliceMs: number): Promise<boolean>;
  /**
   * Optional: whether the outbox takes `bytes` more entry bytes (the lines as stored) now: 'full'
   * (reading pauses as when commit returns false), or 'never' (more than outbox.max_bytes), so
   * a source can refuse work it cannot commit before doing it. admit(0) is 'full' only while
   * reading is paused.
   */
  admit?(bytes: number): 'ok' | 'full' | 'never';
}

/**
 * A running source.
 *
 * Lifecycle: construct -> start() -> running -> close(). `start` returns once discovery has
 * begun; reading continues in the background. `close` stops reading and releases files; it is
 * safe before `start` and safe to call twice. Nothing is half-committed at any point, because
 * every position change goes through BatchConsumer.commit.
 */
export interface Source {
  readonly name: string;
  start(): Promise<void>;
  /** Asks the source to read now (new data, or room in the outbox again). */
  wake(): void;
  close(): Promise<void>;
  /**
   * Optional (sources with positions, i.e. files): called before start() when the state
   * database was lost and the chain continues from the verified trail. Registers where each
   * source resumes under `policy` and returns what it decided, for the sealed state-reset record.
   */
  placeAfterStateLoss?(policy: StateLossPolicy, trail: TrailPositions): Promise<FilePlacement[]>;
  /**
   * Optional (sources that hold files): called on a config reload before close(), with the
   * input's new config (undefined when the input was removed). Files the new config no longer
   * covers are read to their end or have their unread bytes sealed as a gap record, as the
   * input's `unmatched` setting says; files it still covers are left for the successor, which
   * resumes at their committed offsets.
   */
  release?(next: import('../config/schema.js').InputConfig | undefined): Promise<void>;
  /** Optional: whether the source is reading (false with the reason while reading is paused by an error). */
  health?(): { ok: boolean; detail?: string };
  /**
   * Optional (file sources): of these records of this input's finished generations, the ids of
   * those whose file is certainly gone, so upkeep can expire them. Anything it cannot tell is
   * kept: a record expired while its file is still on disk would have the file read again.
   */
  goneFinished?(rows: readonly { id: number; ident: string; path: string }[]): Promise<number[]>;
  /** Optional (file sources): per open file, the bytes between the committed offset and its end. */
  lag?(): { path: string; bytes: number }[];
  /** Optional (file sources): the files matched but not read, each with its FILE_* code. */
  fileProblems?(): FileProblem[];
}

/** The recovery policies that continue a chain after a state loss (config recovery.on_state_loss). */
export type StateLossPolicy = 'chain_tail' | 'end_of_files';

/** What the verified trail says each source got to: the last decision sealed from it. */
export interface TrailPositions {
  lastDecision: ReadonlyMap<string, { offset: number; payload: Uint8Array }>;
}

/**
 * Where one file resumes after a state loss: after the trail's last line of it (`resumed`),
 * from its start because that line is not there any more (`from_start`: lines may repeat), or
 * at its end (`skipped`: bytes [from, to) are not sealed).
 */
export interface FilePlacement {
  path: string;
  ident: string;
  action: 'resumed' | 'from_start' | 'skipped';
  from: number;
  to?: number;
}

/** What every source gets from the daemon. */
export interface SourceDeps {
  consumer: BatchConsumer;
  /** File generations and offsets (used by file sources). */
  registry: FileRegistry;
  log: Logger;
  /** tailseal's own files and directories, which file inputs never read (read at every open). */
  protect?: () => ProtectedPaths;
  /** Counts a request a receiving source refused, by reason (tailseal_opa_service_refused_total). */
  refused?: (input: string, reason: string) => void;
}

/** Builds a source from its validated config (each source folder exports one). */
export type SourceFactory<C> = (config: C, deps: SourceDeps) => Source;
