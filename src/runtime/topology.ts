// What runs: the sources by input name and the sinks, each with its shipper (outbox -> sink), and
// how a sink is started and stopped. Start-up and reload change it; health and upkeep read it.
import type { SinkConfig } from '../config/schema.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { classifyError } from '../sinks/retry.js';
import { type OutboxEntry, Shipper, type ShipperObserver } from '../sinks/shipper.js';
import { type Sink, type SinkContext, TRAIL_SINK_TYPES } from '../sinks/sink.js';
import type { Source } from '../sources/source.js';
import type { StateStore } from '../store/state.js';
import type { Registry } from './registry.js';

export interface TopologyDeps {
  registry: Registry;
  store: StateStore;
  /** The root logger (sinks log as component "sink"). */
  log: Logger;
  /** config.state_dir (SinkContext.stateDir). */
  stateDir: string;
  /** The daemon's own logger. */
  daemonLog: Logger;
  /** A sink acknowledged objects (the outbox may have room again). */
  onAck: () => void;
  /** Told about every delivery outcome (metrics); read when a sink starts. */
  observer: () => ShipperObserver;
}

export class Topology {
  /** Running sources by input name. */
  readonly sources = new Map<string, Source>();
  /** Running sinks by name, each with its shipper once started. */
  readonly sinks = new Map<string, { sink: Sink; shipper?: Shipper }>();
  /** Each configured sink's `streams` (undefined: every stream), known from its creation on. */
  private readonly streamsOf = new Map<string, ReadonlySet<string> | undefined>();
  /** Names of the configured sinks; shared (by reference) with every shipper for its acks. */
  readonly sinkNames: string[] = [];
  /** Inputs whose start failed at a reload, with why: not running, shown by /readyz, retried at the next reload. */
  readonly inputErrors = new Map<string, string>();

  constructor(private readonly deps: TopologyDeps) {}

  /** A sink for `sc`, not started. */
  createSink(sc: SinkConfig): Promise<Sink> {
    return this.deps.registry.createSink(sc, this.sinkContext());
  }

  /**
   * Records which streams sink `sc` takes. startSink does; start-up does it for every sink before
   * the first shipper starts, so none takes another's stream for its own while the rest start.
   */
  declareStreams(sc: SinkConfig): void {
    this.streamsOf.set(sc.name, 'streams' in sc && sc.streams ? new Set(sc.streams) : undefined);
  }

  private sinkContext(): SinkContext {
    return { log: this.deps.log.child({ component: 'sink' }), stateDir: this.deps.stateDir };
  }

  /**
   * Starts a created sink and its shipper. A misconfigured sink (no Object Lock, bad
   * credentials) throws; an unreachable one does not: its shipper keeps retrying start() while
   * the other sinks deliver.
   */
  async startSink(sc: SinkConfig, sink: Sink, started?: boolean): Promise<void> {
    started ??= await this.tryStart(sc, sink);
    this.declareStreams(sc);
    const shipper = new Shipper(
      sink,
      this.deps.store.outbox,
      this.sinkNames,
      this.deps.log.child({ component: 'sink' }),
      () => this.deps.onAck(),
      {
        backoff: sc.retry,
        inFlight: sc.in_flight,
        started,
        observer: this.deps.observer(),
        streams: this.streamsOf.get(sc.name),
        keepsTrail: TRAIL_SINK_TYPES.has(sc.type),
        ...(TRAIL_SINK_TYPES.has(sc.type) ? { mayPass: (o: OutboxEntry) => this.keptElsewhere(sc.name, o) } : {}),
      },
    );
    this.sinks.set(sc.name, { sink, shipper });
    if (!this.sinkNames.includes(sc.name)) this.sinkNames.push(sc.name);
    shipper.start();
  }

  /**
   * Whether object `o` is kept by a trail sink other than `name`, or will be: stored already, or
   * waiting for a configured trail sink that takes its stream (started, or declared and still
   * starting: at start-up the sinks' shippers start one after another). A trail sink that does not take the
   * stream passes the object by only then (sinks/shipper.ts mayPass).
   */
  private keptElsewhere(name: string, o: OutboxEntry): boolean {
    const outbox = this.deps.store.outbox;
    if (outbox.kept(o.id)) return true;
    for (const [other, u] of this.sinks) {
      if (other === name || !TRAIL_SINK_TYPES.has(u.sink.type)) continue;
      if ((this.streamsOf.get(other)?.has(o.stream) ?? true) && outbox.cursor(other) < o.id) return true;
    }
    return false;
  }

  /** Starts `sink`: false when it is unreachable for now (retried later), throws when misconfigured. */
  async tryStart(sc: SinkConfig, sink: Sink): Promise<boolean> {
    try {
      await sink.start();
      return true;
    } catch (err) {
      if (classifyError(err) !== 'retryable') throw err;
      this.deps.daemonLog.warn(
        { sink: sc.name, err: errorMessage(err) },
        'Sink is not reachable at start-up; its deliveries wait and retry, the other sinks go on.',
      );
      return false;
    }
  }

  /** Stops a sink's shipper (puts in progress are abandoned and re-sent later) and closes it. */
  async stopSink(name: string): Promise<void> {
    const unit = this.sinks.get(name);
    if (!unit) return;
    await unit.shipper?.stop();
    await unit.sink.close();
    this.sinks.delete(name);
    this.streamsOf.delete(name);
  }

  /** Asks every source to read now. */
  wake(): void {
    for (const s of this.sources.values()) s.wake();
  }

  /** Tells every shipper that new objects wait. */
  notify(): void {
    for (const { shipper } of this.sinks.values()) shipper?.notify();
  }

  /** Whether any sink has a shipper (was started). */
  shipping(): boolean {
    return [...this.sinks.values()].some((u) => u.shipper);
  }

  /** Whether every sink has every object (the outbox is drained). */
  drained(): boolean {
    return [...this.sinks.values()].every((u) => u.shipper?.caughtUp() ?? true);
  }
}
