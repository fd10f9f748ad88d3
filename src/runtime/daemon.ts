// The daemon: wires the runtime's parts together. A decision goes source -> committer (backpressure,
// dedupe, mask, seal, commit with its offset) -> outbox (checkpointer closes objects) -> shipper -> sink.
import { join } from 'node:path';
import type { Config, InputConfig } from '../config/schema.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { Quarantine } from '../mask/quarantine.js';
import { Metrics } from '../metrics/metrics.js';
import type { NoteSigner } from '../trail/keys.js';
import { protectedPaths } from './protected.js';
import type { Source, SourceDeps } from '../sources/source.js';
import { stateDbPath } from '../store/db.js';
import type { StateStore } from '../store/state.js';
import { Auditing, trustedKeys } from './auditing.js';
import { Checkpointer } from './checkpointer.js';
import { Committer } from './committer.js';
import { type HealthParts, StatusListener, type Startup, metricsView, readiness } from './health.js';
import { type OpenedState, continueLostChains, sealStateResets } from './lost-state.js';
import { type Registry, builtinRegistry } from './registry.js';
import { type ReloadResult, Reloader } from './reload.js';
import { Topology } from './topology.js';
import { Upkeep } from './upkeep.js';
import type { PathGuard, RefusalCounter } from '../sources/capabilities.js';

export interface DaemonOptions {
  config: Config;
  log: Logger;
  signer: NoteSigner;
  /** The state database, opened by the caller (openState in lost-state.ts); the daemon closes it when it stops. */
  state: OpenedState;
  /** Source and sink factories (default: every built-in kind). */
  registry?: Registry;
}

export class Daemon {
  /** The config in force (replaced by reload). */
  private config: Config;
  private signer: NoteSigner;
  /** The daemon's own messages (component "daemon"); stages log through their own children. */
  private readonly log: Logger;
  private readonly store: StateStore;
  private readonly topology: Topology;
  private readonly checkpointer: Checkpointer;
  private readonly committer: Committer;
  /** Prometheus metrics; counters are bumped as things happen, gauges read on scrape. */
  private readonly metrics: Metrics;
  private readonly startup: Startup = { phase: 'opening the state database', notStarted: new Set() };
  private readonly status: StatusListener;
  private readonly upkeep: Upkeep;
  private readonly reloader: Reloader;
  private readonly auditing: Auditing;
  private stopping: Promise<void> | null = null;

  private constructor(private readonly opts: DaemonOptions) {
    const { config, state } = opts;
    this.log = opts.log.child({ component: 'daemon' });
    this.config = config;
    this.signer = opts.signer;
    this.store = state.store;
    const store = this.store;
    this.checkpointer = new Checkpointer(
      { store, log: this.log, notify: () => this.topology.notify(), busy: (s) => this.committer.sealing(s) },
      config,
      opts.signer,
    );
    this.committer = new Committer(
      {
        store,
        checkpointer: this.checkpointer,
        log: this.log,
        quarantine: new Quarantine(join(config.state_dir, 'quarantine')),
        committed: (input, stream, counters) => this.metrics.committed(input, stream, counters),
        wake: () => this.topology.wake(),
        notify: () => this.topology.notify(),
      },
      config.outbox,
    );
    for (const input of config.inputs) if (input.mask) this.committer.setMask(input.name, input.mask);
    this.topology = new Topology({
      registry: opts.registry ?? builtinRegistry,
      store,
      log: opts.log,
      stateDir: config.state_dir,
      daemonLog: this.log,
      onAck: () => this.committer.onAck(),
      observer: () => this.metrics,
    });
    const health: HealthParts = {
      config: () => this.config,
      store,
      committer: this.committer,
      topology: this.topology,
      heads: this.checkpointer.heads,
      startup: this.startup,
    };
    this.metrics = new Metrics(metricsView(health));
    this.status = new StatusListener(this.metrics, () => readiness(health), opts.log.child({ component: 'metrics' }));
    this.upkeep = new Upkeep(store, this.topology.sources, this.log);
    this.auditing = new Auditing({
      config: () => this.config,
      signer: () => this.signer,
      sinks: this.topology.sinks,
      heads: this.checkpointer.heads,
      outbox: store.outbox,
      report: (r) => this.metrics.audited(r.sink, r.ok, r.streams),
      log: opts.log.child({ component: 'audit' }),
    });
    this.reloader = new Reloader({
      config: () => this.config,
      topology: this.topology,
      status: this.status,
      committer: this.committer,
      createSource: (input) => this.createSource(input),
      apply: (next, signer) => this.apply(next, signer),
      log: this.log,
    });
  }

  /** Starts sinks and shippers, then sources, over opened state. Throws (nothing running, state closed) on failure. */
  static async start(opts: DaemonOptions): Promise<Daemon> {
    const d = new Daemon(opts);
    try {
      await d.startAll();
    } catch (err) {
      await d.stop(0);
      throw err;
    }
    return d;
  }

  private async startAll(): Promise<void> {
    const { config, state } = this.opts;
    const { topology, log, startup } = this;
    // Cut what a crash left half-appended in the outbox before anything new is written.
    this.store.outbox.recoverOutbox();
    for (const c of [...config.inputs.map((i) => `input ${i.name}`), ...config.sinks.map((s) => `sink ${s.name}`)]) {
      startup.notStarted.add(c);
    }
    await this.status.start(this.config.metrics);
    startup.phase = 'preparing sinks';
    for (const sc of config.sinks) {
      topology.sinks.set(sc.name, { sink: await topology.createSink(sc) });
      topology.declareStreams(sc);
    }
    if (state.loss) startup.phase = 'reading the trail back from a sink (lost-state recovery)';
    const lost = state.loss
      ? await continueLostChains(state.loss, {
          config,
          log,
          store: this.store,
          sinks: [...topology.sinks.values()].map((u) => u.sink),
          trustedKeys: trustedKeys(this.config, this.signer),
        })
      : null;
    this.checkpointer.loadAll();
    for (const input of config.inputs) topology.sources.set(input.name, this.createSource(input));
    if (lost && lost.tails.size > 0)
      await sealStateResets(state.loss!, lost, { config, log, sources: topology.sources, consumer: this.committer });
    startup.phase = 'starting sinks and inputs';
    for (const sc of config.sinks) {
      await topology.startSink(sc, topology.sinks.get(sc.name)!.sink);
      startup.notStarted.delete(`sink ${sc.name}`);
    }
    // Seal anything left pending by a previous run before reading more.
    this.checkpointer.tick();
    this.checkpointer.start();
    this.upkeep.start();
    for (const [name, src] of topology.sources) {
      await src.start();
      startup.notStarted.delete(`input ${name}`);
    }
    startup.phase = null;
    this.auditing.start();
    log.info(
      {
        streams: [...this.checkpointer.heads.keys()],
        sinks: topology.sinkNames,
        outbox_bytes: this.store.outbox.bytes(),
      },
      'tailseal running.',
    );
  }

  /** A source for `input` (not started), its stream's head loaded. */
  private createSource(input: InputConfig): Source {
    this.checkpointer.load(input.stream ?? input.name);
    const log = this.opts.log.child({ component: 'source' });
    // Read at every open, so a reload's new sink directories and key are protected at once.
    const protect = () => protectedPaths(this.config, stateDbPath(this.config));
    const refused = (i: string, reason: string) => this.metrics.refused(i, reason);
    const deps: SourceDeps & PathGuard & RefusalCounter = {
      state: this.store,
      consumer: this.committer,
      log,
      protect,
      refused,
    };
    return (this.opts.registry ?? builtinRegistry).createSource(input, deps);
  }

  /** Puts a reloaded config in force for everything but the topology (see reload.ts). */
  private async apply(next: Config, signer: NoteSigner): Promise<void> {
    const before = this.config;
    this.config = next;
    this.signer = signer;
    this.committer.configure(next.outbox);
    this.checkpointer.configure(next, signer);
    this.checkpointer.start();
    this.upkeep.start();
    await this.auditing.reconfigure(before);
  }

  /** SIGHUP: applies `next` (already validated), or throws and changes nothing (see reload.ts). */
  reload(next: Config, signer: NoteSigner): Promise<ReloadResult> {
    return this.reloader.reload(next, signer);
  }

  /** Whether every sink has every object (the outbox is drained). */
  drained(): boolean {
    return this.topology.drained();
  }

  /**
   * Graceful stop: stop reading, sign what is pending, give the sinks up to `graceMs` to take
   * the outbox, then close. Whatever is not shipped stays in the outbox for the next start.
   */
  stop(graceMs = this.config.shutdown.grace): Promise<void> {
    this.stopping ??= (async () => {
      const { log, topology } = this;
      await this.reloader.idle();
      await this.auditing.stop();
      for (const s of topology.sources.values()) await s.close();
      // Batches still being sealed in slices see `halt` and give up: wait for their locks.
      await this.committer.idle();
      this.checkpointer.stop();
      this.upkeep.stop();
      if (topology.shipping()) {
        try {
          this.checkpointer.tick(true);
        } catch (err) {
          log.error({ err: errorMessage(err) }, 'Final checkpoint failed.');
        }
        const deadline = Date.now() + graceMs;
        while (!this.drained() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      }
      for (const { shipper } of topology.sinks.values()) await shipper?.stop();
      for (const { sink } of topology.sinks.values()) await sink.close();
      await this.status.close();
      const left = this.store.outbox.bytes();
      log.info(
        { outbox_bytes: left, counters: this.store.counters.all() },
        left > 0
          ? 'tailseal stopped; unshipped objects stay in the outbox for the next start.'
          : 'tailseal stopped; outbox drained.',
      );
      this.store.close();
    })();
    this.committer.halt();
    return this.stopping;
  }
}
