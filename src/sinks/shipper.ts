// Ships outbox objects to one sink and moves that sink's cursor only over a contiguous prefix
// of objects the sink has durably stored. Up to `inFlight` objects are uploaded at once; each
// retries on its own with the shared classifier's backoff, forever: an object leaves the outbox
// only when every sink has it. One slow or dead sink holds back only its own cursor.
import type { Logger } from 'pino';
import { errorMessage } from '../errors.js';
import { setLongTimeout } from '../common/timer.js';
import { type Backoff, classifyError, retryAfterOf, retryDelay } from './retry.js';
import type { Sink, TrailObject } from './sink.js';

/** What the shipper needs from the outbox (implemented by store/outbox.ts, `StateStore.outbox`). */
export interface Outbox {
  cursor(sink: string): number;
  nextObject(afterId: number): OutboxEntry | undefined;
  /** The object's entry lines (read when a sink first asks for them). */
  objectLines(o: OutboxEntry): Buffer[];
  /** The file that holds exactly those lines, when there is one. */
  objectFile(o: OutboxEntry): { path: string; bytes: number } | undefined;
  /** Moves the cursor to `id` (and records the `kept` objects a trail sink stored), in one commit. */
  ackObject(sink: string, id: number, sinks: readonly string[], kept?: readonly number[]): void;
  park(sink: string, objectId: number, code: string, reason: string): void;
  isParked(sink: string, objectId: number): boolean;
  addCounters(values: Record<string, number>): void;
}

/** An object as the outbox lists it: the trail object without its lines, and their byte count. */
export type OutboxEntry = Omit<TrailObject, 'lines'> & { bytes: number };

/** How often a parked object checks whether an operator re-queued it. */
const PARKED_POLL_MS = 1000;

export interface ShipperOptions {
  backoff: Backoff;
  /** Objects uploaded concurrently (1 = strictly one after another). */
  inFlight: number;
  /** False when the sink's start() failed transiently; it is retried before the first put. */
  started: boolean;
  /** Told about every delivery outcome (metrics). */
  observer?: ShipperObserver;
  /** The streams this sink takes (config `streams`); objects of others pass it by. Default: all. */
  streams?: ReadonlySet<string> | undefined;
  /** Whether this sink keeps the trail: the objects it stores are then recorded as kept. */
  keepsTrail?: boolean;
  /**
   * Whether an object of a stream this sink does not take may pass it by. For a trail sink: only
   * when another sink keeps it or will (topology.ts), so that a change of `streams` while objects
   * wait never leaves one stored nowhere; otherwise this sink stores it after all. Default: yes.
   */
  mayPass?: (o: OutboxEntry) => boolean;
}

/** Delivery outcomes, for metrics. Must not throw. */
export interface ShipperObserver {
  delivered(sink: string, bytes: number, seconds: number): void;
  failed(sink: string, cls: string, willRetry: boolean): void;
  parked(sink: string): void;
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((res) => {
    if (signal.aborted) return res();
    const t = setLongTimeout(done, ms); // max_backoff or a server's Retry-After: may be long
    function done() {
      t.clear();
      signal.removeEventListener('abort', done);
      res();
    }
    signal.addEventListener('abort', done);
  });
}

export class Shipper {
  private readonly stopping = new AbortController();
  private wakeIdle: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  private starting: Promise<void> | null = null;
  /** Ids dispatched and not yet folded into the cursor, in outbox order, and which of them are stored. */
  private readonly inFlight: number[] = [];
  private readonly stored = new Set<number>();
  /** Of those, the ones this (trail) sink put, recorded as kept with the acknowledgement. */
  private readonly kept = new Set<number>();
  /** A server's Retry-After holds back every upload to this sink, not only the one it answered. */
  private notBefore = 0;
  /**
   * Objects whose delivery is failing (retrying or parked), with when their first failure was.
   * Per object: with in_flight > 1 another object's success says nothing about a parked one.
   */
  private readonly failing = new Map<number, number>();

  constructor(
    private readonly sink: Sink,
    private readonly outbox: Outbox,
    private readonly allSinks: readonly string[],
    private readonly log: Logger,
    private readonly onAck: () => void,
    private readonly opts: ShipperOptions,
  ) {}

  start(): void {
    this.loop ??= this.run();
  }

  /** New objects are waiting. Ends an idle wait, never a backoff. */
  notify(): void {
    this.wakeIdle?.();
  }

  /**
   * How long the oldest failing object has been failing (0 when none is, or nothing waits):
   * /readyz turns this into "sink failing" past a threshold. A parked object fails until it is
   * re-queued and delivered, whatever other objects do meanwhile.
   */
  failingForMs(now = Date.now()): number {
    if (this.failing.size === 0 || this.caughtUp()) return 0;
    return now - Math.min(...this.failing.values());
  }

  /** Whether this sink has every object the outbox holds. */
  caughtUp(): boolean {
    return this.outbox.nextObject(this.outbox.cursor(this.sink.name)) === undefined;
  }

  /**
   * Stops dispatching and waits up to `waitMs` for the puts in progress. A put still running
   * then is abandoned (the caller closes the sink, which aborts it): it was not acknowledged, so
   * the object is sent again after the restart. A hung remote never holds up shutdown.
   */
  async stop(waitMs = 2000): Promise<void> {
    this.stopping.abort();
    this.wakeIdle?.();
    if (!this.loop) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.loop, new Promise<void>((res) => (timer = setTimeout(res, waitMs)))]);
    clearTimeout(timer);
  }

  private async run(): Promise<void> {
    const tasks = new Set<Promise<void>>();
    let next = this.outbox.cursor(this.sink.name);
    while (!this.stopping.signal.aborted) {
      const obj = tasks.size < this.opts.inFlight ? this.outbox.nextObject(next) : undefined;
      if (obj) {
        next = obj.id;
        this.inFlight.push(obj.id);
        const t: Promise<void> = this.deliver(obj).finally(() => tasks.delete(t));
        tasks.add(t);
        continue;
      }
      // Full, or nothing new: wait for a delivery to finish, new objects, or a periodic look.
      await new Promise<void>((res) => {
        const done = (): void => {
          clearTimeout(t);
          if (this.wakeIdle === done) this.wakeIdle = null;
          res();
        };
        const t = setTimeout(done, 1000);
        this.wakeIdle = done;
        for (const task of tasks) void task.then(done, done);
      });
    }
    await Promise.all(tasks);
  }

  private ensureStarted(): Promise<void> {
    if (this.opts.started) return Promise.resolve();
    this.starting ??= this.sink.start().then(
      () => {
        this.opts.started = true;
      },
      (err: unknown) => {
        this.starting = null;
        throw err;
      },
    );
    return this.starting;
  }

  /** Uploads one object until it is stored (or the shipper stops), then advances the cursor. */
  private async deliver(head: OutboxEntry): Promise<void> {
    if (this.opts.streams && !this.opts.streams.has(head.stream) && (this.opts.mayPass?.(head) ?? true)) {
      // Not this sink's stream: nothing to store, so the cursor passes it as if stored (the object
      // stays in the outbox until the sinks that take it have it).
      this.stored.add(head.id);
      this.advance();
      return;
    }
    const { bytes: _bytes, ...rest } = head;
    const outbox = this.outbox;
    let lines: Buffer[] | undefined;
    const obj: TrailObject = {
      ...rest,
      linesFile: outbox.objectFile(head),
      // Read on first use: a sink that copies linesFile never holds the object in memory.
      get lines() {
        return (lines ??= outbox.objectLines(head));
      },
    };
    for (let attempt = 1; !this.stopping.signal.aborted; attempt++) {
      try {
        const wait = this.notBefore - Date.now();
        if (wait > 0) await sleep(wait, this.stopping.signal);
        if (this.stopping.signal.aborted) return;
        await this.ensureStarted();
        const started = performance.now();
        const result = await this.sink.put(obj);
        this.failing.delete(obj.id);
        this.opts.observer?.delivered(this.sink.name, head.bytes, (performance.now() - started) / 1000);
        if (attempt > 1)
          this.log.info(
            { sink: this.sink.name, stream: obj.stream, attempts: attempt },
            'Sink recovered; delivery resumed.',
          );
        this.log.debug(
          { sink: this.sink.name, stream: obj.stream, first_seq: obj.firstSeq, size: obj.size, result },
          'Object acknowledged.',
        );
        this.stored.add(obj.id);
        if (this.opts.keepsTrail) this.kept.add(obj.id);
        try {
          this.advance();
        } catch (err) {
          // Stored but not yet recorded: the next delivery (or a restart, which re-puts and
          // finds it identical) moves the cursor over it.
          this.log.error(
            { sink: this.sink.name, err: errorMessage(err) },
            'Could not record an acknowledgement in the state database.',
          );
        }
        return;
      } catch (err) {
        // Shutting down: the put was abandoned or aborted; it is sent again after the restart.
        if (this.stopping.signal.aborted) return;
        const cls = classifyError(err);
        this.count(`failures_${cls}`);
        if (!this.failing.has(obj.id)) this.failing.set(obj.id, Date.now());
        this.opts.observer?.failed(this.sink.name, cls, cls === 'retryable');
        // A server's Retry-After (429/503) is a floor for the wait, never a reason to retry sooner.
        const retryAfter = retryAfterOf(err);
        if (retryAfter !== undefined) this.notBefore = Math.max(this.notBefore, Date.now() + retryAfter);
        const delay = Math.max(retryDelay(cls, attempt, this.opts.backoff), retryAfter ?? 0);
        const fields = {
          sink: this.sink.name,
          stream: obj.stream,
          first_seq: obj.firstSeq,
          size: obj.size,
          class: cls,
          attempt,
          retry_in_ms: delay,
          err: errorMessage(err),
          code: (err as { code?: string }).code,
        };
        if (cls === 'retryable') {
          if (attempt < 5) this.log.warn(fields, 'Delivery failed; will retry.');
          else this.log.error(fields, 'Delivery keeps failing; the object stays in the outbox.');
          await sleep(delay, this.stopping.signal);
          continue;
        }
        // Permanent or conflict: retrying will not help until someone acts. Park the object for
        // this sink (its cursor waits here; nothing is skipped) until `tailseal requeue`.
        try {
          this.outbox.park(this.sink.name, obj.id, String(fields.code ?? cls), errorMessage(err));
        } catch (dbErr) {
          // Cannot record the parking: keep the object here and try the whole thing again later.
          this.log.error(
            { ...fields, db_err: errorMessage(dbErr) },
            'Delivery refused and the state database cannot record it; retrying later.',
          );
          await sleep(this.opts.backoff.maxMs, this.stopping.signal);
          continue;
        }
        this.count('parked');
        this.opts.observer?.parked(this.sink.name);
        this.log.error(
          { ...fields, retry_in_ms: undefined },
          cls === 'conflict'
            ? `Delivery conflict: the store holds different content under this name; nothing is overwritten. The ` +
                `object is parked for this sink; after resolving it run \`tailseal requeue ${this.sink.name}\`.`
            : `Delivery refused permanently; the object is parked for this sink. Fix the cause, then run ` +
                `\`tailseal requeue ${this.sink.name}\`.`,
        );
        while (!this.stopping.signal.aborted && this.stillParked(obj.id))
          await sleep(PARKED_POLL_MS, this.stopping.signal);
        if (!this.stopping.signal.aborted)
          this.log.info(
            { sink: this.sink.name, stream: obj.stream, first_seq: obj.firstSeq },
            'Parked object re-queued; delivering again.',
          );
        attempt = 0;
      }
    }
  }

  /** Whether the object is still parked; a state database error counts as "still" (ask again). */
  private stillParked(id: number): boolean {
    try {
      return this.outbox.isParked(this.sink.name, id);
    } catch {
      return true;
    }
  }

  /** Adds to this sink's persistent counters (shown by `tailseal status`); never fails a delivery. */
  private count(what: string, n = 1): void {
    try {
      this.outbox.addCounters({ [`sink_${this.sink.name}_${what}`]: n });
    } catch {
      // The state database is having a bad moment; the log line carries the event anyway.
    }
  }

  /** Folds the stored objects at the front of the in-flight list into the cursor (contiguous only). */
  private advance(): void {
    let last: number | undefined;
    const kept: number[] = [];
    while (this.inFlight.length > 0 && this.stored.has(this.inFlight[0]!)) {
      last = this.inFlight.shift()!;
      this.stored.delete(last);
      if (this.kept.delete(last)) kept.push(last);
    }
    if (last === undefined) return;
    // One transaction: cursor to `last`, the kept marks, and objects every sink now has leave the outbox.
    this.outbox.ackObject(this.sink.name, last, this.allSinks, kept);
    this.count('acked');
    this.onAck();
  }
}
