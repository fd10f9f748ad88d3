// `tailseal monitor` as a long-running service: a pass over every store, then `interval` of rest,
// until stopped (the pass in progress is finished first). Each origin's status change is logged
// once, as it happens; the metrics and the /status document read the last pass.
import type { Logger } from '../log.js';
import type { MonitorMetrics } from '../metrics/monitor.js';
import { type PassDeps, type PassResult, type StoreProblem, type VerifiedCheckpoint, runPass, viewOf } from './pass.js';

/** The /status document (docs/operations.md, "The fleet monitor"). */
export interface StatusDocument {
  /** Every origin ok and no store problem. */
  ok: boolean;
  /** Passes since this process started; the last one, null before it ends. */
  passes: number;
  /** The shard of the origins this monitor verifies (`index/count`; absent: every origin). */
  shard?: string;
  last_pass: { started_at: string; duration_ms: number; full: boolean; objects_read: number } | null;
  counts: Record<string, number>;
  origins: {
    store: string;
    origin: string;
    status: string;
    code?: string;
    message?: string;
    object?: string;
    seq?: number;
    newest?: { size: number; root: string; time: string };
    /** With `witness:`: the checkpoint of the origin this monitor last cosigned (in any store). */
    cosigned?: { size: number; time: string };
    last_pass_at: string;
  }[];
  stores: { name: string; problems: StoreProblem[] }[];
}

export class MonitorService {
  private last: PassResult | null = null;
  private passes = 0;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;
  private stopped = false;
  private problemCodes = new Map<string, string>();

  constructor(
    private readonly deps: PassDeps,
    private readonly intervalMs: number,
    private readonly log: Logger,
    private readonly metrics: MonitorMetrics | null,
    /** Called (and awaited) after each pass with what it verified: where the witness step cosigns. */
    private readonly onVerified: (v: readonly VerifiedCheckpoint[]) => unknown = () => undefined,
    /** Per origin, what the witness last cosigned (size, POSIX seconds), for /status. */
    private readonly cosignedOf: () => ReadonlyMap<string, { size: number; time: number }> = () => new Map(),
  ) {}

  /** Runs the first pass now, then one `intervalMs` after the end of each. */
  start(): void {
    this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.runOnce().finally(() => {
        this.running = null;
        this.schedule(this.intervalMs);
      });
    }, ms);
  }

  /** One pass; logs its changes and never throws (a failure is logged and the next pass tries again). */
  async runOnce(): Promise<PassResult | null> {
    let r: PassResult;
    try {
      r = await runPass(this.deps);
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'Monitor pass failed; the next pass tries again.');
      return null;
    }
    this.passes++;
    this.last = r;
    this.report(r);
    this.metrics?.pass(r.full, r.objectsRead, r.durationMs, r.startedAt + r.durationMs);
    try {
      await this.onVerified(r.verified);
    } catch (err) {
      this.log.error(
        { err: (err as Error).message },
        'Monitor: the step after the pass failed; the next pass tries again.',
      );
    }
    return r;
  }

  private report(r: PassResult): void {
    for (const { view, before } of r.changed) {
      const f = view.finding;
      const fields = {
        store: view.store,
        origin: view.origin,
        status: view.status,
        ...(before ? { was: before.status } : {}),
        ...(view.newest ? { size: view.newest.size, newest: new Date(view.newest.time).toISOString() } : {}),
        ...f,
      };
      if (view.status === 'ok') this.log.info(fields, 'Monitor: origin verifies (ok).');
      else if (view.status === 'silent')
        this.log.warn(fields, 'Monitor: origin is SILENT: no checkpoint newer than its max_silence.');
      else if (view.status === 'fork')
        this.log.error(
          fields,
          'Monitor: origin FORKED: two validly signed checkpoints disagree; its signing key signed two histories.',
        );
      else if (view.status === 'untrusted_key')
        this.log.error(fields, 'Monitor: origin has objects signed by no trusted key (untrusted_key); not trusted.');
      else this.log.error(fields, 'Monitor: origin BROKEN: its trail does not verify.');
    }
    for (const [store, problems] of r.problems) {
      const codes = problems.map((p) => p.code).join(',');
      if ((this.problemCodes.get(store) ?? '') === codes) continue;
      this.problemCodes.set(store, codes);
      if (problems.length === 0) this.log.info({ store }, 'Monitor: store problems cleared.');
      for (const p of problems) this.log.error({ store, ...p }, 'Monitor: store problem.');
    }
    const counts = countStatuses(r.origins);
    this.log.info(
      { full: r.full, objects_read: r.objectsRead, duration_ms: r.durationMs, ...counts },
      'Monitor pass done.',
    );
  }

  /** Before the first pass: this monitor's origins as the state database has them. */
  private stateOrigins() {
    const shard = this.deps.shard;
    return this.deps.state
      .origins()
      .filter((r) => shard?.owns(r.origin) ?? true)
      .map(viewOf);
  }

  /** The origins as the last pass left them (for metrics; before a pass, as the state database has them). */
  origins(): { store: string; origin: string; status: string; size?: number; newestTime?: number }[] {
    const list = this.last?.origins ?? this.stateOrigins();
    return list.map((o) => ({
      store: o.store,
      origin: o.origin,
      status: o.status,
      ...(o.newest ? { size: o.newest.size, newestTime: o.newest.time } : {}),
    }));
  }

  problems(): { store: string; count: number }[] {
    return [...(this.last?.problems ?? [])].map(([store, p]) => ({ store, count: p.length }));
  }

  status(): StatusDocument {
    const origins = this.last?.origins ?? this.stateOrigins();
    const stores = [...(this.last?.problems ?? [])].map(([name, problems]) => ({ name, problems }));
    const cosigned = this.cosignedOf();
    return {
      ok: origins.every((o) => o.status === 'ok') && stores.every((s) => s.problems.length === 0),
      passes: this.passes,
      ...(this.deps.shard ? { shard: this.deps.shard.toString() } : {}),
      last_pass: this.last && {
        started_at: new Date(this.last.startedAt).toISOString(),
        duration_ms: this.last.durationMs,
        full: this.last.full,
        objects_read: this.last.objectsRead,
      },
      counts: countStatuses(origins),
      origins: origins.map((o) => ({
        store: o.store,
        origin: o.origin,
        status: o.status,
        ...pick(o.finding),
        ...(o.newest
          ? { newest: { size: o.newest.size, root: o.newest.root, time: new Date(o.newest.time).toISOString() } }
          : {}),
        ...cosignedView(cosigned.get(o.origin)),
        last_pass_at: new Date(o.lastPassAt).toISOString(),
      })),
      stores,
    };
  }

  /** Stops the schedule; a pass in progress is finished first. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }
}

function cosignedView(c: { size: number; time: number } | undefined): { cosigned?: { size: number; time: string } } {
  return c ? { cosigned: { size: c.size, time: new Date(c.time * 1000).toISOString() } } : {};
}

function countStatuses(origins: readonly { status: string }[]): Record<string, number> {
  const counts: Record<string, number> = { ok: 0, broken: 0, silent: 0, fork: 0, untrusted_key: 0 };
  for (const o of origins) counts[o.status] = (counts[o.status] ?? 0) + 1;
  return counts;
}

function pick(f: PassResult['origins'][number]['finding']): {
  code?: string;
  message?: string;
  object?: string;
  seq?: number;
} {
  return {
    ...(typeof f.code === 'string' ? { code: f.code } : {}),
    ...(typeof f.message === 'string' ? { message: f.message } : {}),
    ...(typeof f.object === 'string' ? { object: f.object } : {}),
    ...(typeof f.seq === 'number' ? { seq: f.seq } : {}),
  };
}
