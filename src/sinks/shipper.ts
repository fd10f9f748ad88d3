// Ships outbox objects to one sink, in outbox order, and moves that sink's cursor only after
// the sink has durably stored the object. Failures are retried forever with the shared
// classifier's backoff: an object leaves the outbox only when every sink has it.
import type { Logger } from 'pino';
import { errorMessage } from '../errors.js';
import { retryAfterOf } from './http-errors.js';
import { type Backoff, classifyError, retryDelay } from './retry.js';
import type { Sink, TrailObject } from './sink.js';

/** What the shipper needs from the outbox (implemented by store/state.ts). */
export interface Outbox {
  cursor(sink: string): number;
  nextObject(afterId: number): Omit<TrailObject, 'lines'> | undefined;
  entryLines(stream: string, firstSeq: number, size: number): Buffer[];
  ackObject(sink: string, id: number, sinks: readonly string[]): void;
}

export interface ShipperStats {
  acked: number;
  failures: number;
  lastError: string | null;
}

export class Shipper {
  readonly stats: ShipperStats = { acked: 0, failures: 0, lastError: null };
  private stopped = false;
  private wakeup: (() => void) | null = null;
  /** True while waiting for new objects (a notify ends that wait, but never a backoff). */
  private idle = false;
  private loop: Promise<void> | null = null;

  constructor(
    private readonly sink: Sink,
    private readonly outbox: Outbox,
    private readonly allSinks: readonly string[],
    private readonly log: Logger,
    private readonly onAck: () => void,
    private readonly backoff: Backoff,
    /** False when the sink's start() failed transiently; it is retried before the first put. */
    private started = true,
  ) {}

  start(): void {
    this.loop ??= this.run();
  }

  /** New objects are waiting. */
  notify(): void {
    if (this.idle) this.wakeup?.();
  }

  /** Whether this sink has every object the outbox holds. */
  caughtUp(): boolean {
    return this.outbox.nextObject(this.outbox.cursor(this.sink.name)) === undefined;
  }

  /** Stops after the put in progress (if any) finishes. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wakeup?.();
    await this.loop;
  }

  private sleep(ms: number, idle: boolean): Promise<void> {
    this.idle = idle;
    return new Promise((res) => {
      const t = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(t);
        self.idle = false;
        res();
      }
      this.wakeup = () => {
        this.wakeup = null;
        done();
      };
    });
  }

  private async run(): Promise<void> {
    let attempt = 0;
    while (!this.stopped) {
      const cursor = this.outbox.cursor(this.sink.name);
      const next = this.outbox.nextObject(cursor);
      if (!next) {
        await this.sleep(1000, true);
        continue;
      }
      const obj: TrailObject = { ...next, lines: this.outbox.entryLines(next.stream, next.firstSeq, next.size) };
      try {
        if (!this.started) {
          await this.sink.start();
          this.started = true;
        }
        const result = await this.sink.put(obj);
        this.outbox.ackObject(this.sink.name, obj.id, this.allSinks);
        this.stats.acked++;
        if (attempt > 0) this.log.info({ sink: this.sink.name, stream: obj.stream, attempts: attempt + 1 }, 'Sink recovered; delivery resumed.');
        attempt = 0;
        this.stats.lastError = null;
        this.log.debug({ sink: this.sink.name, stream: obj.stream, first_seq: obj.firstSeq, size: obj.size, result }, 'Object acknowledged.');
        this.onAck();
      } catch (err) {
        attempt++;
        this.stats.failures++;
        const cls = classifyError(err);
        // A server's Retry-After (429/503) is a floor for the wait, never a reason to retry sooner.
        const delay = Math.max(retryDelay(cls, attempt, this.backoff), retryAfterOf(err) ?? 0);
        this.stats.lastError = errorMessage(err);
        const fields = { sink: this.sink.name, stream: obj.stream, first_seq: obj.firstSeq, size: obj.size, class: cls, attempt, retry_in_ms: delay, err: errorMessage(err), code: (err as { code?: string }).code };
        if (cls === 'retryable' && attempt < 5) this.log.warn(fields, 'Delivery failed; will retry.');
        else this.log.error(fields, cls === 'conflict' ? 'Delivery conflict: the store holds different content under this name; nothing is overwritten and the object stays in the outbox.' : 'Delivery keeps failing; the object stays in the outbox.');
        await this.sleep(delay, false);
      }
    }
  }
}
