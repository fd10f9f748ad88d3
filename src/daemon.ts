// The daemon: the one place that wires source -> checkpoint (offsets) -> seal -> outbox -> sink.
import { join } from 'node:path';
import { loadConfiguredVerifiers } from './config/keyfile.js';
import { type NamedDiff, diffNamed, reloadProblems } from './config/diff.js';
import type { Config, InputConfig, SinkConfig } from './config/schema.js';
import { parseListen } from './config/units.js';
import { TailsealError, errorMessage } from './errors.js';
import type { Logger } from './log.js';
import { checkState, continueLostChains, sealStateResets } from './lost-state.js';
import { maskRecord } from './mask/apply.js';
import { Masker } from './mask/masker.js';
import { Quarantine } from './mask/quarantine.js';
import { Metrics, type MetricsView } from './metrics/metrics.js';
import { type Check, StatusServer } from './metrics/server.js';
import { type NoteSigner, type NoteVerifier, parseVerifierKey } from './trail/keys.js';
import { LineBatch, entryLineOverhead } from './seal/encoder.js';
import { type CheckpointPolicy, type StreamHead, checkpointDue, sealRecords, signHead } from './seal/sealer.js';
import { classifyError } from './sinks/retry.js';
import { Shipper } from './sinks/shipper.js';
import type { Sink, SinkContext, SinkFactory } from './sinks/sink.js';
import { createFileSource } from './sources/file/index.js';
import { protectedPaths } from './sources/file/protected.js';
import { createOpaServiceSource } from './sources/opa-service/index.js';
import { Slicer } from './sources/slicer.js';
import type { BatchConsumer, Source, SourceBatch, SourceFactory, SourceRecord } from './sources/source.js';
import { type StateLoss, openDatabase } from './store/db.js';
import { preparePrivateDir } from './store/private.js';
import { StateStore, type StreamState } from './store/state.js';
import { type AuditTarget, Auditor } from './runtime/audit.js';
import { objectReadLimit } from './runtime/read-limits.js';

/** Input type -> factory. A new source kind adds its folder and one line here. */
const SOURCE_FACTORIES: { [K in InputConfig['type']]: SourceFactory<Extract<InputConfig, { type: K }>> } = {
  file: createFileSource,
  opa_service: createOpaServiceSource,
};

/**
 * Sink type -> factory. A new sink kind adds its folder and one line here. Each kind's code is
 * loaded when a config first uses it, so a file-only daemon never loads the HTTP client
 * (undici and the S3 code are about 15 MB of a sidecar's memory).
 */
const SINK_FACTORIES: { [K in SinkConfig['type']]: () => Promise<SinkFactory<Extract<SinkConfig, { type: K }>>> } = {
  file: async () => (await import('./sinks/file/index.js')).createFileSink,
  s3: async () => (await import('./sinks/s3/index.js')).createS3Sink,
  http: async () => (await import('./sinks/http/index.js')).createHttpSink,
  opa: async () => (await import('./sinks/opa/index.js')).createOpaSink,
};

export async function createSink(config: SinkConfig, ctx: SinkContext): Promise<Sink> {
  const factory = (await SINK_FACTORIES[config.type]()) as SinkFactory<SinkConfig>;
  return factory(config, ctx);
}

function checkpointPolicy(config: Config): CheckpointPolicy {
  const c = config.checkpoint;
  return { entries: c.entries, maxBytes: c.max_bytes, intervalMs: c.interval, heartbeatMs: c.heartbeat };
}

/** How often local state is tidied (free pages returned, stale file records expired). */
const UPKEEP_INTERVAL_MS = 10 * 60_000;
/** A finished file generation's record is kept this long after its last commit (then expires once the file is gone). */
const FINISHED_FILE_TTL_MS = 24 * 60 * 60_000;

/** commitSliced seals this many payload bytes between two looks at the clock. */
const SLICE_SEAL_BYTES = 256 * 1024;

/** After backpressure, reading resumes once the outbox is below this fraction of its limit. */
const OUTBOX_LOW_WATER = 0.75;

/** The state database's file inside state_dir. */
export function stateDbPath(config: Config): string {
  return join(config.state_dir, 'tailseal.db');
}

export interface DaemonOptions {
  config: Config;
  log: Logger;
  signer: NoteSigner;
}

export class Daemon implements BatchConsumer {
  private readonly store: StateStore;
  private readonly heads = new Map<string, StreamState>();
  /** Each input's mask rules (inputs without rules are not in the map). */
  private readonly maskers = new Map<string, Masker>();
  private readonly quarantine: Quarantine;
  /** Reused for every batch's entry lines (commit is synchronous, so one buffer suffices). */
  private readonly lineBatch = new LineBatch();
  private policy: CheckpointPolicy;
  /** The config in force (replaced by reload). */
  private config: Config;
  /** The daemon's own messages (component "daemon"); stages log through their own children. */
  private readonly log: Logger;
  private signer: NoteSigner;
  /** Running sources by input name. */
  private readonly sources = new Map<string, Source>();
  /** Running sinks by name, each with its shipper once started. */
  private readonly sinks = new Map<string, { sink: Sink; shipper?: Shipper }>();
  /** Names of the configured sinks; shared (by reference) with every shipper for its acks. */
  private readonly sinkNames: string[] = [];
  private reloading: Promise<unknown> = Promise.resolve();
  /** Prometheus metrics; counters are bumped as things happen, gauges read on scrape. */
  private readonly metrics: Metrics;
  private status: StatusServer | null = null;
  private auditor: Auditor | null = null;
  /** Inputs whose start failed at a reload, with why: not running, shown by /readyz, retried at the next reload. */
  private readonly inputErrors = new Map<string, string>();
  /**
   * While start() runs: what it is doing, and the configured inputs and sinks not started yet.
   * /readyz fails until both are done (the status server answers from the first step on).
   */
  private startPhase: string | null = 'opening the state database';
  private readonly notStarted = new Set<string>();
  /** The last commit's failure (null after a success): /readyz reports it. */
  private commitError: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private upkeepTimer: NodeJS.Timeout | null = null;
  private backpressure = false;
  private stopping: Promise<void> | null = null;
  /** Streams being sealed by commitSliced, each with a promise that settles when it is done. */
  private readonly slicing = new Map<string, Promise<void>>();
  /** A commit was turned away by a locked stream: wake the sources once no stream is locked. */
  private wakeAfterSlicing = false;

  private constructor(
    private readonly opts: DaemonOptions,
    private readonly loss: StateLoss | null,
  ) {
    this.log = opts.log.child({ component: 'daemon' });
    this.config = opts.config;
    this.signer = opts.signer;
    this.store = new StateStore(openDatabase(stateDbPath(opts.config)), (file, err) =>
      this.log.warn(
        { file, err: errorMessage(err) },
        'Could not delete an acknowledged outbox segment; its disk space stays taken until the next start, which ' +
          'deletes it.',
      ),
    );
    this.policy = checkpointPolicy(opts.config);
    for (const input of opts.config.inputs) if (input.mask) this.maskers.set(input.name, new Masker(input.mask));
    this.quarantine = new Quarantine(join(opts.config.state_dir, 'quarantine'));
    this.metrics = new Metrics(this.metricsView());
  }

  /** What the scraped gauges read: the outbox, files, sinks and checkpoints as they are now. */
  private metricsView(): MetricsView {
    return {
      outbox: () => ({
        bytes: this.store.outboxBytes(),
        objects: this.store.objectsAfter(0),
        entries: this.store.outboxEntries(),
        limitBytes: this.config.outbox.max_bytes,
        backpressure: this.backpressure,
      }),
      fileLag: () => [...this.sources].flatMap(([input, src]) => (src.lag?.() ?? []).map((f) => ({ input, ...f }))),
      fileProblems: () =>
        [...this.sources].flatMap(([input, src]) => (src.fileProblems?.() ?? []).map((f) => ({ input, ...f }))),
      sinks: () => {
        const parked = this.store.listParked();
        return this.sinkNames.map((sink) => ({
          sink,
          parked: parked.filter((p) => p.sink === sink).length,
          cursorLagObjects: this.store.objectsAfter(this.store.cursor(sink)),
        }));
      },
      checkpoints: () =>
        [...this.heads.values()].map((h) => ({ stream: h.name, size: h.checkpointedSize, signedAt: h.checkpointedAt })),
    };
  }

  /** The keys the daemon trusts when it reads its own trail back: its signer's and signing.verify_keys. */
  private trustedKeys(): NoteVerifier[] {
    return [parseVerifierKey(this.signer.verifierKey), ...loadConfiguredVerifiers(this.config.signing)];
  }

  /** /readyz: the state database commits, every input reads, no sink fails past its threshold. */
  private readiness(): Record<string, Check> {
    const checks: Record<string, Check> = {
      state_db:
        this.commitError === null ? { ok: true } : { ok: false, detail: `last commit failed: ${this.commitError}` },
    };
    if (this.startPhase !== null) checks.startup = { ok: false, detail: `still starting: ${this.startPhase}` };
    for (const [name, src] of this.sources) checks[`input ${name}`] = src.health?.() ?? { ok: true };
    for (const [name, err] of this.inputErrors) checks[`input ${name}`] = { ok: false, detail: `not running: ${err}` };
    const limit = this.config.metrics.sink_failing_after;
    for (const [name, { shipper }] of this.sinks) {
      const ms = shipper?.failingForMs() ?? 0;
      checks[`sink ${name}`] =
        ms > limit
          ? {
              ok: false,
              detail:
                `deliveries failing for ${Math.round(ms / 1000)} s (metrics.sink_failing_after is ` +
                `${Math.round(limit / 1000)} s)`,
            }
          : { ok: true };
    }
    // Created (so listed above) is not started: start-up may still be waiting for them.
    for (const name of this.notStarted) checks[name] = { ok: false, detail: 'not started yet' };
    return checks;
  }

  /**
   * The periodic integrity audit (audit.interval) over the file and s3 sinks (or audit.sinks).
   * The first pass comes soon after start (a minute at most), then one per interval.
   */
  private startAuditor(): void {
    const a = this.config.audit;
    if (a.interval === 0) return;
    const targets = (): AuditTarget[] =>
      [...this.sinks.entries()]
        .filter(([name, u]) => u.sink.reader !== undefined && (this.config.audit.sinks?.includes(name) ?? true))
        .map(([name, u]) => ({
          name,
          reader: () => u.sink.reader!(),
          upTo: () => this.auditLimits(name),
        }));
    const log = this.opts.log.child({ component: 'audit' });
    this.auditor = new Auditor(
      targets,
      () => this.trustedKeys(),
      a.interval,
      a.full_interval,
      log,
      (r) => this.metrics.audited(r.sink, r.ok, r.streams),
      () => objectReadLimit(this.config),
    );
    this.auditor.start(Math.min(a.interval, 60_000));
  }

  /**
   * Per origin, how far `sink` is known to hold every object: up to the first object it has not
   * acknowledged, or, with none waiting, the last checkpoint (objects signed after this call may
   * still be in flight, stored out of order when in_flight > 1).
   */
  private auditLimits(sink: string): Map<string, number> {
    const limits = new Map<string, number>();
    for (const [stream, head] of this.heads) limits.set(`${this.config.origin}/${stream}`, head.checkpointedSize);
    for (const [stream, first] of this.store.unackedStarts(sink)) limits.set(`${this.config.origin}/${stream}`, first);
    return limits;
  }

  private async startStatusServer(): Promise<void> {
    await this.status?.close();
    this.status = null;
    this.status = await this.listenStatus(this.config.metrics);
  }

  /** A started status listener for `m` (null when disabled); throws CONFIG_INVALID when it cannot listen. */
  private async listenStatus(m: Config['metrics']): Promise<StatusServer | null> {
    if (!m.enabled) return null;
    const log = this.opts.log.child({ component: 'metrics' });
    const server = new StatusServer(parseListen(m.listen), this.metrics, () => this.readiness(), log);
    await server.start();
    return server;
  }

  /**
   * Reload: moves the status listener to `next`'s address before anything running changes, so a
   * taken port refuses the reload instead of failing it after inputs were released. The
   * listener reads sink_failing_after at each request: only `enabled` and `listen` rebind.
   */
  private async moveStatusServer(next: Config['metrics']): Promise<void> {
    const before = this.config.metrics;
    if (before.enabled === next.enabled && before.listen === next.listen) return;
    let server: StatusServer | null;
    try {
      server = await this.listenStatus(next);
    } catch (err) {
      // The same port on another address is taken by the running listener itself: free it first.
      const samePort = before.enabled && parseListen(before.listen).port === parseListen(next.listen).port;
      if (!samePort || this.status === null) throw err;
      await this.status.close();
      this.status = null;
      try {
        server = await this.listenStatus(next);
      } catch (again) {
        this.status = await this.listenStatus(before).catch(() => null);
        throw again;
      }
    }
    await this.status?.close();
    this.status = server;
  }

  /** Opens state, starts sinks and shippers, then sources. Throws (nothing running) on failure. */
  static async start(opts: DaemonOptions): Promise<Daemon> {
    const loose = preparePrivateDir(opts.config.state_dir);
    if (loose) opts.log.warn({ state_dir: opts.config.state_dir }, `${loose}.`);
    const d = new Daemon(opts, checkState(stateDbPath(opts.config), opts.config.recovery.on_state_loss, opts.log));
    try {
      await d.startAll();
    } catch (err) {
      await d.stop(0);
      throw err;
    }
    return d;
  }

  private async startAll(): Promise<void> {
    const { config } = this.opts;
    const log = this.log;
    // Cut what a crash left half-appended in the outbox before anything new is written.
    this.store.recoverOutbox();
    for (const c of [...config.inputs.map((i) => `input ${i.name}`), ...config.sinks.map((s) => `sink ${s.name}`)]) {
      this.notStarted.add(c);
    }
    await this.startStatusServer();
    this.startPhase = 'preparing sinks';
    for (const sc of config.sinks) this.sinks.set(sc.name, { sink: await createSink(sc, this.sinkContext()) });
    if (this.loss) this.startPhase = 'reading the trail back from a sink (lost-state recovery)';
    const lost = this.loss
      ? await continueLostChains(this.loss, {
          config,
          log,
          store: this.store,
          sinks: [...this.sinks.values()].map((u) => u.sink),
          trustedKeys: this.trustedKeys(),
        })
      : null;
    for (const s of this.store.listStreams()) this.heads.set(s.name, s);
    for (const input of config.inputs) this.sources.set(input.name, this.createSource(input));
    if (lost && lost.tails.size > 0)
      await sealStateResets(this.loss!, lost, { config, log, sources: this.sources, consumer: this });
    this.startPhase = 'starting sinks and inputs';
    for (const sc of config.sinks) {
      await this.startSink(sc, this.sinks.get(sc.name)!.sink);
      this.notStarted.delete(`sink ${sc.name}`);
    }
    // Seal anything left pending by a previous run before reading more.
    this.checkpointTick();
    this.startTimer();
    for (const [name, src] of this.sources) {
      await src.start();
      this.notStarted.delete(`input ${name}`);
    }
    this.startPhase = null;
    this.startAuditor();
    log.info(
      { streams: [...this.heads.keys()], sinks: this.sinkNames, outbox_bytes: this.store.outboxBytes() },
      'tailseal running.',
    );
  }

  private startTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = setInterval(
      () => this.checkpointTick(),
      Math.max(10, Math.min(250, Math.floor(this.policy.intervalMs / 4))),
    );
    this.upkeepTimer ??= setInterval(() => void this.upkeep(), UPKEEP_INTERVAL_MS);
  }

  /**
   * Keeps local state bounded: records of finished file generations that no longer exist expire
   * after FINISHED_FILE_TTL_MS, and free pages go back to the filesystem. Never fails the daemon.
   */
  private async upkeep(): Promise<void> {
    try {
      // Each running input judges its own records; those of an input not running now (removed,
      // or failed to start) are kept until it runs again.
      const old = this.store.finishedFilesBefore(Date.now() - FINISHED_FILE_TTL_MS);
      const gone: number[] = [];
      for (const [name, src] of this.sources)
        if (src.goneFinished) gone.push(...(await src.goneFinished(old.filter((f) => f.input === name))));
      this.store.deleteFiles(gone);
      if (gone.length > 0)
        this.log.info({ expired: gone.length }, 'Expired the records of finished files that no longer exist.');
      this.store.vacuumStep();
    } catch (err) {
      this.log.warn({ err: errorMessage(err) }, 'State upkeep failed; trying again later.');
    }
  }

  /** A source for `input` (not started), its stream's head loaded. */
  private createSource(input: InputConfig): Source {
    const stream = input.stream ?? input.name;
    if (!this.heads.has(stream)) this.heads.set(stream, this.store.loadStream(stream));
    const factory = SOURCE_FACTORIES[input.type] as SourceFactory<InputConfig>;
    const log = this.opts.log.child({ component: 'source' });
    // Read at every open, so a reload's new sink directories and key are protected at once.
    const protect = () => protectedPaths(this.config, stateDbPath(this.config));
    const refused = (i: string, reason: string) => this.metrics.refused(i, reason);
    return factory(input, { registry: this.store, consumer: this, log, protect, refused });
  }

  /**
   * Starts a created sink and its shipper. A misconfigured sink (no Object Lock, bad
   * credentials) throws; an unreachable one does not: its shipper keeps retrying start() while
   * the other sinks deliver.
   */
  private sinkContext(): SinkContext {
    return { log: this.opts.log.child({ component: 'sink' }) };
  }

  private async startSink(sc: SinkConfig, sink: Sink, started?: boolean): Promise<void> {
    started ??= await this.tryStart(sc, sink);
    const shipper = new Shipper(
      sink,
      this.store,
      this.sinkNames,
      this.opts.log.child({ component: 'sink' }),
      () => this.onAck(),
      { backoff: sc.retry, inFlight: sc.in_flight, started, observer: this.metrics },
    );
    this.sinks.set(sc.name, { sink, shipper });
    if (!this.sinkNames.includes(sc.name)) this.sinkNames.push(sc.name);
    shipper.start();
  }

  /** Starts `sink`: false when it is unreachable for now (retried later), throws when misconfigured. */
  private async tryStart(sc: SinkConfig, sink: Sink): Promise<boolean> {
    try {
      await sink.start();
      return true;
    } catch (err) {
      if (classifyError(err) !== 'retryable') throw err;
      this.log.warn(
        { sink: sc.name, err: errorMessage(err) },
        'Sink is not reachable at start-up; its deliveries wait and retry, the other sinks go on.',
      );
      return false;
    }
  }

  /** Stops a sink's shipper (puts in progress are abandoned and re-sent later) and closes it. */
  private async stopSink(name: string): Promise<void> {
    const unit = this.sinks.get(name);
    if (!unit) return;
    await unit.shipper?.stop();
    await unit.sink.close();
    this.sinks.delete(name);
  }

  /**
   * SIGHUP: applies `next` (already validated) without losing state, or throws CONFIG_INVALID
   * and changes nothing when it asks for what only a restart can do, or a new sink or metrics
   * listener cannot start. Sinks first, so every
   * object has its sinks before new inputs add objects; then inputs: a removed or changed
   * input's source is released (files the new config no longer covers are read to their end
   * or their unread bytes sealed as a gap record, per `unmatched`) and closed before its
   * successor starts, so no file is read by two sources. Offsets, heads, the outbox and sink
   * cursors live in the state database and carry over. A failure after that point leaves every
   * input that is not running on /readyz (inputErrors).
   */
  reload(next: Config, signer: NoteSigner): Promise<{ inputs: NamedDiff<InputConfig>; sinks: NamedDiff<SinkConfig> }> {
    const run = async () => {
      const before = this.config;
      const problems = reloadProblems(this.config, next);
      if (problems.length > 0) throw new TailsealError('CONFIG_INVALID', problems.join('\n'));
      const sinks = diffNamed(this.config.sinks, next.sinks);
      // An input whose start failed at an earlier reload is not running: it counts as new again.
      const inputs = diffNamed(
        this.config.inputs.filter((i) => !this.inputErrors.has(i.name)),
        next.inputs,
      );
      // New and changed sinks are built and started first: one that is misconfigured (no
      // Object Lock, unwritable directory) stops the reload before anything running changed.
      const built = new Map<string, { sink: Sink; started: boolean }>();
      try {
        for (const sc of [...sinks.added, ...sinks.changed]) {
          const sink = await createSink(sc, this.sinkContext());
          built.set(sc.name, { sink, started: false });
          built.get(sc.name)!.started = await this.tryStart(sc, sink);
        }
        await this.moveStatusServer(next.metrics);
      } catch (err) {
        for (const b of built.values()) await b.sink.close();
        throw err;
      }
      let failed: string[];
      try {
        failed = await this.applyReload(before, next, signer, sinks, inputs, built);
      } catch (err) {
        // Failed half-way: every configured input that is not running now says so on /readyz
        // (and counts as new at the next reload, which starts it), never a silent "ok".
        const why = `the reload failed half-way (${errorMessage(err)}); fix the cause and reload again`;
        for (const i of [...before.inputs, ...next.inputs]) {
          if (!this.sources.has(i.name)) this.inputErrors.set(i.name, why);
        }
        throw err;
      }
      if (failed.length > 0) {
        const what = `${failed.length === 1 ? 'an input' : 'inputs'} could not start: ${failed.join('; ')}`;
        throw new TailsealError('CONFIG_INVALID', `reload applied, but ${what}; fix the config and reload again`);
      }
      return { inputs, sinks };
    };
    const result = this.reloading.then(run, run);
    this.reloading = result.catch(() => undefined);
    return result;
  }

  /** reload() past its checks: swaps sinks, then inputs (see reload). Returns the inputs that could not start. */
  private async applyReload(
    before: Config,
    next: Config,
    signer: NoteSigner,
    sinks: NamedDiff<SinkConfig>,
    inputs: NamedDiff<InputConfig>,
    built: Map<string, { sink: Sink; started: boolean }>,
  ): Promise<string[]> {
    for (const sc of [...sinks.removed, ...sinks.changed]) await this.stopSink(sc.name);
    for (const sc of sinks.removed) this.sinkNames.splice(this.sinkNames.indexOf(sc.name), 1);
    for (const sc of [...sinks.added, ...sinks.changed]) {
      const b = built.get(sc.name)!;
      await this.startSink(sc, b.sink, b.started);
    }
    for (const ic of [...inputs.removed, ...inputs.changed]) {
      const src = this.sources.get(ic.name);
      if (!src) continue;
      const successor = next.inputs.find((i) => i.name === ic.name);
      await src.release?.(successor);
      await src.close();
      this.sources.delete(ic.name);
      this.maskers.delete(ic.name);
    }
    this.config = next;
    this.signer = signer;
    this.policy = checkpointPolicy(next);
    this.startTimer();
    if (JSON.stringify(before.audit) !== JSON.stringify(next.audit)) {
      await this.auditor?.stop();
      this.auditor = null;
      this.startAuditor();
    }
    // pino's child loggers keep the level they were made with: a new level needs a restart.
    if (next.log.level !== before.log.level) {
      const levels = { level: before.log.level, requested: next.log.level };
      this.log.warn(levels, 'log.level changes take effect at the next restart.');
    }
    for (const ic of inputs.removed) this.inputErrors.delete(ic.name);
    // An input that had failed to start is not in the diff above: forget it once it is gone from the file.
    for (const name of [...this.inputErrors.keys()]) {
      if (!next.inputs.some((i) => i.name === name)) this.inputErrors.delete(name);
    }
    const failed: string[] = [];
    for (const ic of [...inputs.added, ...inputs.changed]) {
      if (ic.mask) this.maskers.set(ic.name, new Masker(ic.mask));
      const src = this.createSource(ic);
      try {
        await src.start();
        this.sources.set(ic.name, src);
        this.inputErrors.delete(ic.name);
      } catch (err) {
        // Not running (e.g. its listen port is taken): /readyz says so, the next reload retries
        // it, and the other inputs start. Its files and offsets wait in the state database.
        await src.close().catch(() => undefined);
        this.inputErrors.set(ic.name, errorMessage(err));
        failed.push(`input ${ic.name}: ${errorMessage(err)}`);
      }
    }
    if (this.backpressure) this.onAck();
    return failed;
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
    const head = this.heads.get(batch.stream) ?? this.store.loadStream(batch.stream);
    const now = Date.now();
    const counters = { ...batch.counters };
    const dedupe = new DedupeFilter(this.store, batch, head.nextSeq, this.masking(batch, counters));
    for (const r of batch.records) dedupe.add(r);
    const cutAt = cutPositions(head, dedupe.records.length, this.policy.entries);
    const sealed = sealWithCuts(head, dedupe.records, cutAt, now, this.lineBatch);
    return this.commitSealed(batch, counters, dedupe, head, sealed, now);
  }

  /**
   * commit() in slices of about `sliceMs` (BatchConsumer.commitSliced): masking, dedupe lookups
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
      const head = this.heads.get(batch.stream) ?? this.store.loadStream(batch.stream);
      const now = Date.now();
      const counters = { ...batch.counters };
      const dedupe = new DedupeFilter(this.store, batch, head.nextSeq, this.masking(batch, counters));
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
      const cutAt = cutPositions(head, records.length, this.policy.entries);
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
      await this.store.prewriteSealed(batch.stream, sealed.data.subarray(0, cuts[0]?.end ?? sealed.data.length));
      if (this.stopping) throw stopping();
      return this.commitSealed(batch, counters, dedupe, head, sealed, now, true);
    } finally {
      this.slicing.delete(batch.stream);
      unlock();
      if (this.wakeAfterSlicing && this.slicing.size === 0) {
        this.wakeAfterSlicing = false;
        for (const s of this.sources.values()) s.wake();
      }
    }
  }

  /** BatchConsumer.admit: whether the outbox takes `bytes` of entry lines now. */
  admit(bytes: number): 'ok' | 'full' | 'never' {
    if (bytes > this.config.outbox.max_bytes) return 'never';
    return this.outboxFull(bytes) ? 'full' : 'ok';
  }

  /** Whether adding `bytes` would take the outbox past its limit; if so, reading pauses (backpressure). */
  private outboxFull(bytes: number): boolean {
    const limit = this.config.outbox.max_bytes;
    const used = this.store.outboxBytes();
    if (used === 0 || (!this.backpressure && used + bytes <= limit)) return false;
    if (!this.backpressure) {
      this.backpressure = true;
      const msg = 'Outbox is full; reading paused until sinks catch up (backpressure). No data is dropped.';
      this.log.warn({ outbox_bytes: used, max_bytes: limit }, msg);
    }
    return true;
  }

  /** True while reading is paused by backpressure (an empty outbox always takes one batch). */
  private pausedFor(batch: SourceBatch): boolean {
    return this.backpressure && batch.records.length > 0 && this.store.outboxBytes() > 0;
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
    const signed = sealed.cuts.map((c) => ({ ...c, note: signHead(this.config.origin, c.head, now, this.signer) }));
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
      added = signed.length === 0 ? this.store.commitSealed(commit) : this.store.commitSealedCut(commit, signed, now);
    } catch (err) {
      this.commitError = errorMessage(err);
      throw err;
    }
    this.commitError = null;
    // Committed: from here on nothing may throw, or the source would read the batch again.
    try {
      this.metrics.committed(batch.input, batch.stream, counters);
    } catch (err) {
      this.log.warn({ err: errorMessage(err) }, 'Could not update the metrics of a committed batch.');
    }
    if (duplicates > 0)
      this.log.info(
        { stream: batch.stream, duplicates },
        'Skipped decisions already sealed (a retried upload); each decision is sealed once.',
      );
    // Committed: only now does the in-memory head move. A checkpoint signed while the batch was
    // sealed in slices moved the head's checkpoint fields: start from the head as it is now.
    const current = this.heads.get(batch.stream) ?? head;
    let next: StreamState = { ...current, ...sealed.head, spoolBytes: current.spoolBytes + added };
    const last = signed.at(-1);
    if (last) {
      // The batch's cuts were signed and closed as objects with it; the rest is the open segment.
      const size = last.head.nextSeq;
      next = { ...next, checkpointedSize: size, checkpointedAt: now, lastNote: last.note, spoolBytes: added };
      const sizes = signed.map((c) => c.head.nextSeq);
      this.log.debug({ stream: next.name, sizes }, 'Checkpoints signed within a batch.');
      for (const { shipper } of this.sinks.values()) shipper?.notify();
    }
    this.heads.set(batch.stream, next);
    if (next.nextSeq - next.checkpointedSize >= this.policy.entries || next.spoolBytes >= this.policy.maxBytes) {
      // The batch is committed: whatever happens to the checkpoint, report success, or the
      // source would re-read lines that are already sealed. The timer retries the checkpoint.
      try {
        this.checkpoint(next, now);
      } catch (err) {
        this.log.error({ stream: next.name, err: errorMessage(err) }, 'Signing a checkpoint failed; retrying.');
      }
    }
    return true;
  }

  /** What a new record of `batch` becomes under its input's mask rules (none: itself); see mask/apply.ts. */
  private masking(batch: SourceBatch, counters: Record<string, number>): RecordTransform | undefined {
    const masker = this.maskers.get(batch.input);
    if (!masker) return undefined;
    const rules = { masker, quarantine: this.quarantine, log: this.log };
    return (r) => maskRecord(batch.input, r, rules, counters);
  }

  private checkpoint(s: StreamState, now: number): void {
    const note = signHead(this.config.origin, s, now, this.signer);
    const obj = this.store.commitCheckpoint(s.name, s.checkpointedSize, s.nextSeq, note, now);
    this.heads.set(s.name, { ...s, checkpointedSize: s.nextSeq, checkpointedAt: now, lastNote: note, spoolBytes: 0 });
    this.log.debug({ stream: s.name, size: s.nextSeq, object_id: obj.id }, 'Checkpoint signed.');
    for (const { shipper } of this.sinks.values()) shipper?.notify();
  }

  /** Signs every stream whose checkpoint is due (or, with `force`, that has unsigned entries). */
  private checkpointTick(force = false): void {
    const now = Date.now();
    for (const s of this.heads.values()) {
      const due = force ? s.nextSeq > s.checkpointedSize : checkpointDue(s, now, this.policy, s.spoolBytes);
      // A stream being sealed in slices keeps its open segment until its commit (prewrite).
      if (!due || this.slicing.has(s.name)) continue;
      try {
        this.checkpoint(s, now);
      } catch (err) {
        this.log.error({ stream: s.name, err: errorMessage(err) }, 'Signing a checkpoint failed; retrying.');
      }
    }
  }

  private onAck(): void {
    if (this.backpressure && this.store.outboxBytes() < this.config.outbox.max_bytes * OUTBOX_LOW_WATER) {
      this.backpressure = false;
      this.log.info({ outbox_bytes: this.store.outboxBytes() }, 'Outbox has room again; reading resumed.');
      for (const s of this.sources.values()) s.wake();
    }
  }

  /** Whether every sink has every object (the outbox is drained). */
  drained(): boolean {
    return [...this.sinks.values()].every((u) => u.shipper?.caughtUp() ?? true);
  }

  /**
   * Graceful stop: stop reading, sign what is pending, give the sinks up to `graceMs` to take
   * the outbox, then close. Whatever is not shipped stays in the outbox for the next start.
   */
  stop(graceMs = this.config.shutdown.grace): Promise<void> {
    this.stopping ??= (async () => {
      const log = this.log;
      await this.reloading;
      await this.auditor?.stop();
      for (const s of this.sources.values()) await s.close();
      // Batches still being sealed in slices see `stopping` and give up: wait for their locks.
      await Promise.all(this.slicing.values());
      if (this.timer) clearInterval(this.timer);
      if (this.upkeepTimer) clearInterval(this.upkeepTimer);
      if ([...this.sinks.values()].some((u) => u.shipper)) {
        try {
          this.checkpointTick(true);
        } catch (err) {
          log.error({ err: errorMessage(err) }, 'Final checkpoint failed.');
        }
        const deadline = Date.now() + graceMs;
        while (!this.drained() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      }
      for (const { shipper } of this.sinks.values()) await shipper?.stop();
      for (const { sink } of this.sinks.values()) await sink.close();
      await this.status?.close();
      const left = this.store.outboxBytes();
      log.info(
        { outbox_bytes: left, counters: this.store.counters() },
        left > 0
          ? 'tailseal stopped; unshipped objects stay in the outbox for the next start.'
          : 'tailseal stopped; outbox drained.',
      );
      this.store.close();
    })();
    return this.stopping;
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
      if (this.inBatch.has(k) || this.store.dedupeKeySeen(this.batch.stream, k)) {
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
