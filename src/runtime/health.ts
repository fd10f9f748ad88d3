// Health: what /readyz checks, what the scraped gauges read, and the status listener's lifecycle
// (start, move to a reloaded address, close).
import type { Config } from '../config/schema.js';
import { parseListen } from '../common/units.js';
import type { Logger } from '../log.js';
import type { Metrics, MetricsView } from '../metrics/metrics.js';
import { type Check, type ReadinessProbe, StatusServer } from '../metrics/server.js';
import type { StateStore } from '../store/state.js';
import type { StreamState } from '../store/streams.js';
import type { Topology } from './topology.js';
import { reportsFileProblems, reportsHealth, reportsLag } from '../sources/capabilities.js';

/**
 * While start-up runs: what it is doing, and the configured inputs and sinks not started yet.
 * /readyz fails until both are done (the status server answers from the first step on).
 */
export interface Startup {
  phase: string | null;
  readonly notStarted: Set<string>;
}

/** What health reads, each at the time of the check or scrape. */
export interface HealthParts {
  config: () => Config;
  store: StateStore;
  committer: { readonly backpressure: boolean; readonly commitError: string | null };
  topology: Topology;
  heads: ReadonlyMap<string, StreamState>;
  startup: Startup;
}

/** What the scraped gauges read: the outbox, files, sinks and checkpoints as they are now. */
export function metricsView(p: HealthParts): MetricsView {
  const { store, topology } = p;
  return {
    outbox: () => ({
      bytes: store.outbox.bytes(),
      objects: store.outbox.objectsAfter(0),
      entries: store.outbox.entries(),
      limitBytes: p.config().outbox.max_bytes,
      backpressure: p.committer.backpressure,
    }),
    fileLag: () =>
      [...topology.sources].flatMap(([input, src]) => (reportsLag(src) ? src.lag() : []).map((f) => ({ input, ...f }))),
    fileProblems: () =>
      [...topology.sources].flatMap(([input, src]) =>
        (reportsFileProblems(src) ? src.fileProblems() : []).map((f) => ({ input, ...f })),
      ),
    sinks: () => {
      const parked = store.outbox.listParked();
      return topology.sinkNames.map((sink) => ({
        sink,
        parked: parked.filter((x) => x.sink === sink).length,
        cursorLagObjects: store.outbox.objectsAfter(store.outbox.cursor(sink)),
      }));
    },
    checkpoints: () =>
      [...p.heads.values()].map((h) => ({ stream: h.name, size: h.checkpointedSize, signedAt: h.checkpointedAt })),
  };
}

/** /readyz: the state database commits, every input reads, no sink fails past its threshold. */
export function readiness(p: HealthParts): Record<string, Check> {
  const commitError = p.committer.commitError;
  const checks: Record<string, Check> = {
    state_db: commitError === null ? { ok: true } : { ok: false, detail: `last commit failed: ${commitError}` },
  };
  if (p.startup.phase !== null) checks.startup = { ok: false, detail: `still starting: ${p.startup.phase}` };
  for (const [name, src] of p.topology.sources)
    checks[`input ${name}`] = reportsHealth(src) ? src.health() : { ok: true };
  for (const [name, err] of p.topology.inputErrors)
    checks[`input ${name}`] = { ok: false, detail: `not running: ${err}` };
  const limit = p.config().metrics.sink_failing_after;
  for (const [name, { shipper }] of p.topology.sinks) {
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
  for (const name of p.startup.notStarted) checks[name] = { ok: false, detail: 'not started yet' };
  return checks;
}

/** The status listener (/metrics, /healthz, /readyz), when metrics.enabled. */
export class StatusListener {
  private status: StatusServer | null = null;

  constructor(
    private readonly metrics: Metrics,
    private readonly ready: ReadinessProbe,
    /** Its logger (component "metrics"). */
    private readonly log: Logger,
  ) {}

  async start(m: Config['metrics']): Promise<void> {
    await this.status?.close();
    this.status = null;
    this.status = await this.listen(m);
  }

  /** A started status listener for `m` (null when disabled); throws CONFIG_INVALID when it cannot listen. */
  private async listen(m: Config['metrics']): Promise<StatusServer | null> {
    if (!m.enabled) return null;
    const server = new StatusServer(parseListen(m.listen), this.metrics, this.ready, this.log);
    await server.start();
    return server;
  }

  /**
   * Reload: moves the status listener from `before`'s address to `next`'s before anything running
   * changes, so a taken port refuses the reload instead of failing it after inputs were released.
   * The listener reads sink_failing_after at each request: only `enabled` and `listen` rebind.
   */
  async move(before: Config['metrics'], next: Config['metrics']): Promise<void> {
    if (before.enabled === next.enabled && before.listen === next.listen) return;
    let server: StatusServer | null;
    try {
      server = await this.listen(next);
    } catch (err) {
      // The same port on another address is taken by the running listener itself: free it first.
      const samePort = before.enabled && parseListen(before.listen).port === parseListen(next.listen).port;
      if (!samePort || this.status === null) throw err;
      await this.status.close();
      this.status = null;
      try {
        server = await this.listen(next);
      } catch (again) {
        this.status = await this.listen(before).catch(() => null);
        throw again;
      }
    }
    await this.status?.close();
    this.status = server;
  }

  async close(): Promise<void> {
    await this.status?.close();
  }
}
