// The fleet monitor's Prometheus metrics (`tailseal monitor`): per origin its status, entries and
// checkpoint age, read from the last pass at scrape time; per pass the objects read and the time.
// Names follow https://prometheus.io/docs/practices/naming/ (tailseal_monitor_ prefix, base units).
import { Counter, Gauge, Registry } from 'prom-client';
import { VERSION } from '../version.js';
import { scrapedGauge } from './metrics.js';

/** The statuses an origin can have, each a series of tailseal_monitor_origin_status (1: the current one). */
export const ORIGIN_STATUSES = ['ok', 'broken', 'silent', 'fork', 'untrusted_key'] as const;

/** What the per-origin gauges read at scrape time. */
export interface MonitorView {
  origins(): { store: string; origin: string; status: string; size?: number; newestTime?: number }[];
  /** Store-level problems (unreadable, tampering, unattributed objects) by store. */
  problems(): { store: string; count: number }[];
}

export class MonitorMetrics {
  readonly registry = new Registry();
  private readonly passes = new Counter({
    name: 'tailseal_monitor_passes_total',
    help: 'Passes over every store, by kind (full: every object re-read; incremental: only new objects).',
    labelNames: ['kind'],
    registers: [this.registry],
  });
  private readonly objectsRead = new Counter({
    name: 'tailseal_monitor_objects_read_total',
    help: 'Distinct objects read, summed over passes.',
    registers: [this.registry],
  });
  private readonly lastRead = new Gauge({
    name: 'tailseal_monitor_last_pass_objects_read',
    help: 'Distinct objects the last pass read (an incremental pass reads only new ones).',
    registers: [this.registry],
  });
  private readonly lastDuration = new Gauge({
    name: 'tailseal_monitor_last_pass_duration_seconds',
    help: 'How long the last pass took.',
    registers: [this.registry],
  });
  private readonly lastEnd = new Gauge({
    name: 'tailseal_monitor_last_pass_timestamp_seconds',
    help: 'When the last pass ended (Unix seconds): a stuck monitor stops moving it.',
    registers: [this.registry],
  });

  private readonly inFlight = new Gauge({
    name: 'tailseal_monitor_pass_in_flight',
    help: "Objects being read or origins being verified at this moment (at most the config's concurrency).",
    registers: [this.registry],
  });
  private readonly shardInfo = new Gauge({
    name: 'tailseal_monitor_shard_info',
    help: 'The shard this monitor verifies (index of count, 0-based; 0 of 1: every origin); always 1.',
    labelNames: ['index', 'count'],
    registers: [this.registry],
  });

  private readonly cosignatures = new Counter({
    name: 'tailseal_monitor_cosignatures_published_total',
    help: 'Cosigned checkpoints the monitor, as a witness, published to its witness store, per origin.',
    labelNames: ['store', 'origin'],
    registers: [this.registry],
  });

  constructor(view: MonitorView, now: () => number = Date.now) {
    new Gauge({
      name: 'tailseal_monitor_build_info',
      help: 'Build information; always 1.',
      labelNames: ['version'],
      registers: [this.registry],
    }).set({ version: VERSION }, 1);
    this.scraped(
      'tailseal_monitor_origin_status',
      'Per origin and status: 1 for the status the origin has now, 0 for the others.',
      ['store', 'origin', 'status'],
      () =>
        view
          .origins()
          .flatMap((o) =>
            ORIGIN_STATUSES.map((s): [Record<string, string>, number] => [
              { store: o.store, origin: o.origin, status: s },
              +(s === o.status),
            ]),
          ),
    );
    this.scraped('tailseal_monitor_entries', 'Entries of the newest verified checkpoint.', ['store', 'origin'], () =>
      view
        .origins()
        .flatMap((o) =>
          o.size === undefined
            ? []
            : [[{ store: o.store, origin: o.origin }, o.size] as [Record<string, string>, number]],
        ),
    );
    this.scraped(
      'tailseal_monitor_checkpoint_age_seconds',
      'Seconds since the newest verified checkpoint was signed (compare with max_silence).',
      ['store', 'origin'],
      () =>
        view
          .origins()
          .flatMap((o) =>
            o.newestTime === undefined
              ? []
              : [
                  [{ store: o.store, origin: o.origin }, (now() - o.newestTime) / 1000] as [
                    Record<string, string>,
                    number,
                  ],
                ],
          ),
    );
    this.scraped('tailseal_monitor_store_problems', 'Store-level problems of the last pass.', ['store'], () =>
      view.problems().map((p): [Record<string, string>, number] => [{ store: p.store }, p.count]),
    );
  }

  /** Objects being read or origins being verified now. */
  active(n: number): void {
    this.inFlight.set(n);
  }

  shard(s: { index: number; count: number }): void {
    this.shardInfo.set({ index: String(s.index), count: String(s.count) }, 1);
  }

  /** A pass ended. */
  pass(full: boolean, objectsRead: number, durationMs: number, endedAt: number): void {
    this.passes.inc({ kind: full ? 'full' : 'incremental' });
    this.objectsRead.inc(objectsRead);
    this.lastRead.set(objectsRead);
    this.lastDuration.set(durationMs / 1000);
    this.lastEnd.set(endedAt / 1000);
  }

  /** A cosigned checkpoint of `origin` (verified in `store`) was published. */
  cosigned(store: string, origin: string): void {
    this.cosignatures.inc({ store, origin });
  }

  /** A gauge whose values are read on every scrape. */
  private scraped(
    name: string,
    help: string,
    labelNames: string[],
    read: () => [Record<string, string>, number][],
  ): void {
    scrapedGauge(this.registry, name, help, labelNames, read);
  }
}
