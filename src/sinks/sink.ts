// The boundary between the outbox and a store that keeps trail objects.
import type { ObjectReader } from '../trail/verify-trail.js';

/** One trail object to store: the entries [firstSeq, size) of a stream and their checkpoint. */
export interface TrailObject {
  /** Outbox id; objects are offered to each sink in id order. */
  id: number;
  stream: string;
  firstSeq: number;
  size: number;
  /** When the checkpoint was signed (Unix ms); part of heartbeat object names. */
  createdAt: number;
  /**
   * The entry lines (NDJSON) in seq order, without the checkpoint line; a buffer may hold several
   * lines. The outbox reads them on first access, so a sink that copies `linesFile` never does.
   */
  readonly lines: Buffer[];
  /**
   * Optional: a local file whose first `bytes` bytes are exactly the lines (the outbox segment).
   * A sink may copy it in the kernel or stream it (object-body.ts) instead of reading
   * `lines`; it must not change the file. It may put a scratch file `<path>.<suffix>` beside it
   * for the length of a put: the outbox deletes every file that is not a segment at start.
   */
  linesFile?: { path: string; bytes: number };
  /** The signed checkpoint note that closes the object. */
  note: string;
  /**
   * The tree's compact range at `size` (CompactRange.serialize()), when the outbox has it: what a
   * sink that proves consistency (sinks/witness/) starts from. Absent for objects closed before it was kept.
   */
  edge?: Uint8Array;
}

/** The sink types that keep the trail itself; the others send copies of the decisions, or cosignatures. */
export const TRAIL_SINK_TYPES: ReadonlySet<string> = new Set(['file', 's3', 'http']);

/** What a successful put found: a new object, or an identical one already there (a retry). */
export type PutResult = 'stored' | 'existed';

/**
 * A destination for trail objects.
 *
 * Lifecycle: created by its factory from validated config -> start() -> put()* -> close().
 * - start() checks that the destination is usable and throws TailsealError SINK_PERMANENT with
 *   a message naming the fix when it is not (missing directory permissions, bucket without
 *   Object Lock ...). It does not block on a slow destination for long.
 * - put() resolves only once the object is durably stored (the outbox deletes it afterwards). It
 *   never overwrites: an object of the same name with the same bytes resolves 'existed'; with
 *   different bytes it throws SINK_CONFLICT. Other failures throw SINK_RETRYABLE or
 *   SINK_PERMANENT (or a raw system/undici error that sinks/retry.ts classifies).
 * - close() releases resources; safe before start() and safe twice. It does not wait for
 *   outstanding puts (the shipper does).
 */
export interface Sink {
  readonly name: string;
  readonly type: string;
  start(): Promise<void>;
  put(obj: TrailObject): Promise<PutResult>;
  close(): Promise<void>;
}

/**
 * A sink that can read back the objects it stored (file and s3 sinks), for the integrity audit and
 * for rebuilding a lost state database from the verified trail: a capability checked at runtime
 * (readsBack), as sources/capabilities.ts does for sources. Sinks without it (http, opa) cannot be
 * audited or recovered from.
 */
export interface ReadableSink {
  /** A reader over this sink's stored objects; usable before start(). */
  reader(): ObjectReader;
}

export function readsBack(s: Sink): s is Sink & ReadableSink {
  return typeof (s as Partial<ReadableSink>).reader === 'function';
}

/** Everything a sink factory gets besides its own config. */
export interface SinkContext {
  log: import('pino').Logger;
  /** The daemon's state_dir: a sink that keeps state of its own (the witness sink) keeps it below. */
  stateDir: string;
}

/** Builds a sink from its validated config section. */
export type SinkFactory<C> = (config: C, ctx: SinkContext) => Sink;
