// What a source, a batch consumer or the host may offer beyond the core contract of source.ts, as small
// capability interfaces, each with a type guard checked at runtime (the OpenTelemetry Collector's host
// capabilities are the model): a source with positions in files reports lag, a receiver counts refusals, and
// the daemon asks each running source only for what it says it offers. A new source kind implements the ones
// that fit it; none of them is required.
import type { BatchConsumer, Source, SourceBatch, SourceDeps } from './source.js';
import type { FileProblem } from '../store/files.js';

/** Whether `x` has a method `name` (how every guard below decides). */
function hasMethod(x: object, name: string): boolean {
  return typeof (x as Record<string, unknown>)[name] === 'function';
}

// ---- source capabilities ---------------------------------------------------------------------------

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

/** A source with positions (files) that can be placed from the trail when the state database was lost. */
export interface StateLossPlacer {
  /**
   * Called before start() when the state database was lost and the chain continues from the verified
   * trail. Registers where each source resumes under `policy` and returns what it decided, for the
   * sealed state-reset record.
   */
  placeAfterStateLoss(policy: StateLossPolicy, trail: TrailPositions): Promise<FilePlacement[]>;
}

export function placesAfterStateLoss(s: Source): s is Source & StateLossPlacer {
  return hasMethod(s, 'placeAfterStateLoss');
}

/**
 * A source that holds something a successor takes over (files), released on a config reload before
 * close(). Generic over the kind's own input config: the host passes the input's new config only when it
 * is of the same kind, else undefined (the input was removed or became another kind).
 */
export interface Releaser<C> {
  /**
   * Files the new config no longer covers are read to their end or have their unread bytes sealed as a
   * gap record, as the input's `unmatched` setting says; files it still covers are left for the
   * successor, which resumes at their committed offsets.
   */
  release(next: C | undefined): Promise<void>;
}

/** Whether `s` releases on reload; the caller passes `s` only its own kind's config (see Releaser). */
export function releases<C>(s: Source): s is Source & Releaser<C> {
  return hasMethod(s, 'release');
}

/** A source that can say whether it is reading (/readyz). */
export interface HealthReporter {
  /** False with the reason while reading is paused by an error. */
  health(): { ok: boolean; detail?: string };
}

export function reportsHealth(s: Source): s is Source & HealthReporter {
  return hasMethod(s, 'health');
}

/** A finished file generation's record, as upkeep offers it for expiry. */
export interface FinishedRecord {
  id: number;
  ident: string;
  path: string;
}

/** A source whose finished records (file generations) upkeep may expire once their files are gone. */
export interface FinishedExpirer {
  /**
   * Of these records of this input's finished generations, the ids of those whose file is certainly
   * gone. Anything it cannot tell is kept: a record expired while its file is still on disk would have
   * the file read again.
   */
  goneFinished(rows: readonly FinishedRecord[]): Promise<number[]>;
}

export function expiresFinished(s: Source): s is Source & FinishedExpirer {
  return hasMethod(s, 'goneFinished');
}

/** A source that can say how far behind it reads (tailseal_file_lag_bytes). */
export interface LagReporter {
  /** Per open file, the bytes between the committed offset and its end. */
  lag(): { path: string; bytes: number }[];
}

export function reportsLag(s: Source): s is Source & LagReporter {
  return hasMethod(s, 'lag');
}

/** A file an input matches but cannot read (FILE_UNREADABLE, FILE_NOT_REGULAR, FILE_PROTECTED): the store's row. */

export type { FileProblem };
/** A source that can list the files it matches but does not read. */
export interface FileProblemReporter {
  /** The files matched but not read, each with its FILE_* code. */
  fileProblems(): FileProblem[];
}

export function reportsFileProblems(s: Source): s is Source & FileProblemReporter {
  return hasMethod(s, 'fileProblems');
}

// ---- batch consumer capabilities -------------------------------------------------------------------

/** A consumer that can seal a batch too large for one go (an upload) in slices. */
export interface SlicedCommitter {
  /**
   * commit() with the masking, dedupe and sealing done in slices of about `sliceMs` between which the
   * event loop runs. Still one transaction: all records or none. While it runs, commit() of the same
   * stream returns false and its sources are woken afterwards.
   */
  commitSliced(batch: SourceBatch, sliceMs: number): Promise<boolean>;
}

export function commitsSliced(c: BatchConsumer): c is BatchConsumer & SlicedCommitter {
  return hasMethod(c, 'commitSliced');
}

/** A consumer that can say beforehand whether it takes a batch, so a source can refuse work it cannot commit. */
export interface Admitter {
  /**
   * Whether the outbox takes `bytes` more entry bytes (the lines as stored) now: 'full' (reading pauses
   * as when commit returns false), or 'never' (more than outbox.max_bytes). admit(0) is 'full' only while
   * reading is paused.
   */
  admit(bytes: number): 'ok' | 'full' | 'never';
}

export function admits(c: BatchConsumer): c is BatchConsumer & Admitter {
  return hasMethod(c, 'admit');
}

// ---- host capabilities (on SourceDeps) -------------------------------------------------------------

/** tailseal's own files and directories (key, state database, outbox, sink directories): never read. */
export interface ProtectedPaths {
  files: readonly string[];
  dirs: readonly string[];
}

/** A host that names the paths sources must never read. */
export interface PathGuard {
  /** tailseal's own files and directories, which file inputs never read (read at every open). */
  protect(): ProtectedPaths;
}

export function guardsPaths(d: SourceDeps): d is SourceDeps & PathGuard {
  return hasMethod(d, 'protect');
}

/** A host that counts the requests a receiving source refused. */
export interface RefusalCounter {
  /** Counts a request a receiving source refused, by reason (tailseal_opa_service_refused_total). */
  refused(input: string, reason: string): void;
}

export function countsRefusals(d: SourceDeps): d is SourceDeps & RefusalCounter {
  return hasMethod(d, 'refused');
}
