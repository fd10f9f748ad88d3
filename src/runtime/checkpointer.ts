// The checkpoint policy: each stream's head in memory, when its checkpoint is due (checkpoint.entries,
// max_bytes, interval, heartbeat), signing it into a closed outbox object, and the timer that asks.
import type { Config } from '../config/schema.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { NoteSigner } from '../trail/keys.js';
import { type CheckpointPolicy, type StreamHead, checkpointDue, signHead } from '../seal/sealer.js';
import type { StateStore } from '../store/state.js';
import type { StreamState } from '../store/streams.js';

export function checkpointPolicy(config: Config): CheckpointPolicy {
  const c = config.checkpoint;
  return { entries: c.entries, maxBytes: c.max_bytes, intervalMs: c.interval, heartbeatMs: c.heartbeat };
}

export interface CheckpointerDeps {
  store: StateStore;
  log: Logger;
  /** A checkpoint closed an object: the shippers have something new to deliver. */
  notify: () => void;
  /** Whether `stream` is being sealed in slices (its open segment stays open until that commit). */
  busy: (stream: string) => boolean;
}

export class Checkpointer {
  /** Each stream's head as committed (the committer moves it, a checkpoint signs it). */
  readonly heads = new Map<string, StreamState>();
  private policy: CheckpointPolicy;
  private origin: string;
  private signer: NoteSigner;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly deps: CheckpointerDeps,
    config: Config,
    signer: NoteSigner,
  ) {
    this.policy = checkpointPolicy(config);
    this.origin = config.origin;
    this.signer = signer;
  }

  /** Takes a reloaded config's policy and signer (start() again to apply a new interval). */
  configure(config: Config, signer: NoteSigner): void {
    this.policy = checkpointPolicy(config);
    this.origin = config.origin;
    this.signer = signer;
  }

  /** checkpoint.entries: the most entries one object holds. */
  get entries(): number {
    return this.policy.entries;
  }

  /** Loads every stream the state database holds. */
  loadAll(): void {
    for (const s of this.deps.store.streams.listStreams()) this.heads.set(s.name, s);
  }

  /** Loads `stream`'s head unless it is loaded. */
  load(stream: string): void {
    if (!this.heads.has(stream)) this.heads.set(stream, this.deps.store.streams.loadStream(stream));
  }

  /** `stream`'s head: in memory, else as stored. */
  head(stream: string): StreamState {
    return this.heads.get(stream) ?? this.deps.store.streams.loadStream(stream);
  }

  /** A signed checkpoint note for `head` (origin and key as configured). */
  sign(head: StreamHead, now: number): string {
    return signHead(this.origin, head, now, this.signer);
  }

  /**
   * A batch was committed and moved `stream`'s head to `next`: signs its checkpoint when
   * checkpoint.entries or max_bytes is reached. Never throws: the batch is committed whatever
   * happens to the checkpoint (the source would re-read sealed lines), and the timer retries it.
   */
  committed(stream: string, next: StreamState, now: number): void {
    this.heads.set(stream, next);
    if (next.nextSeq - next.checkpointedSize >= this.policy.entries || next.spoolBytes >= this.policy.maxBytes) {
      try {
        this.checkpoint(next, now);
      } catch (err) {
        this.deps.log.error({ stream: next.name, err: errorMessage(err) }, 'Signing a checkpoint failed; retrying.');
      }
    }
  }

  private checkpoint(s: StreamState, now: number): void {
    const note = this.sign(s, now);
    const obj = this.deps.store.commitCheckpoint(s.name, s.checkpointedSize, s.nextSeq, note, now);
    this.heads.set(s.name, { ...s, checkpointedSize: s.nextSeq, checkpointedAt: now, lastNote: note, spoolBytes: 0 });
    this.deps.log.debug({ stream: s.name, size: s.nextSeq, object_id: obj.id }, 'Checkpoint signed.');
    this.deps.notify();
  }

  /** Signs every stream whose checkpoint is due (or, with `force`, that has unsigned entries). */
  tick(force = false): void {
    const now = Date.now();
    for (const s of this.heads.values()) {
      const due = force ? s.nextSeq > s.checkpointedSize : checkpointDue(s, now, this.policy, s.spoolBytes);
      // A stream being sealed in slices keeps its open segment until its commit (prewrite).
      if (!due || this.deps.busy(s.name)) continue;
      try {
        this.checkpoint(s, now);
      } catch (err) {
        this.deps.log.error({ stream: s.name, err: errorMessage(err) }, 'Signing a checkpoint failed; retrying.');
      }
    }
  }

  /** (Re)starts the timer that asks every stream, a few times per checkpoint.interval. */
  start(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = setInterval(() => this.tick(), Math.max(10, Math.min(250, Math.floor(this.policy.intervalMs / 4))));
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
