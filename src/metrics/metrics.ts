// The Prometheus metrics (prom-client): counters the pipeline bumps as things happen, and gauges
// read from the daemon's state when scraped, so a scrape never sees a stale copy.
// Names follow https://prometheus.io/docs/practices/naming/ (tailseal_ prefix, _total, base units).
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { VERSION } from '../version.js';

/** What the gauges read at scrape time (implemented by the daemon). */
export interface MetricsView {
  outbox(): { bytes: number; objects: number; entries: number; limitBytes: number; backpressure: boolean };
  /** Per open file: bytes between the committed offset and the file's end. */
  fileLag(): { input: string; path: string; bytes: number }[];
  /** Files an input matches but does not read, with the FILE_* code saying why. */
  fileProblems(): { input: string; path: string; code: string }[];
  sinks(): { sink: string; parked: number; cursorLagObjects: number }[];
  checkpoints(): { stream: string; size: number; signedAt: number }[];
}

/** Maps the per-batch counter names the sources use (store/counters.ts) to metrics. */
const SKIPPED = 'skipped_';
const GAP = 'gap_';

export class Metrics {
  readonly registry = new Registry();
  private readonly linesRead = this.counter(
    'tailseal_lines_read_total',
    'Lines (or uploaded events) read from each input.',
    ['input'],
  );
  private readonly bytesRead = this.counter('tailseal_bytes_read_total', 'Bytes read from each input.', ['input']);
  private readonly sealed = this.counter('tailseal_decisions_sealed_total', 'Decisions sealed into the trail.', [
    'input',
    'stream',
  ]);
  private readonly skipped = this.counter(
    'tailseal_lines_skipped_total',
    'Lines not sealed because they are not decisions (or are malformed), by reason.',
    ['input', 'reason'],
  );
  private readonly gaps = this.counter(
    'tailseal_gap_records_total',
    'Gap records sealed, by reason (data that could not be sealed, said so in the trail).',
    ['input', 'reason'],
  );
  private readonly acked = this.counter('tailseal_sink_objects_acked_total', 'Trail objects a sink acknowledged.', [
    'sink',
  ]);
  private readonly ackedBytes = this.counter(
    'tailseal_sink_bytes_acked_total',
    'Entry bytes of the objects a sink acknowledged.',
    ['sink'],
  );
  private readonly failures = this.counter(
    'tailseal_sink_failures_total',
    'Failed deliveries, by class (retryable, permanent, conflict).',
    ['sink', 'class'],
  );
  private readonly retries = this.counter(
    'tailseal_sink_retries_total',
    'Deliveries retried after a retryable failure.',
    ['sink'],
  );
  private readonly parkedTotal = this.counter(
    'tailseal_sink_parked_total',
    'Objects parked for a sink after a permanent failure or conflict.',
    ['sink'],
  );
  private readonly refusedTotal = this.counter(
    'tailseal_opa_service_refused_total',
    'Requests an opa_service input refused (answered non-2xx), by reason.',
    ['input', 'reason'],
  );
  private readonly upload = new Histogram({
    name: 'tailseal_sink_upload_seconds',
    help: 'Time to store one object in a sink, successful attempts.',
    labelNames: ['sink'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  private readonly auditOk = this.gauge(
    'tailseal_audit_ok',
    '1 when the last integrity audit of a sink verified, 0 when it found a break.',
    ['sink'],
  );
  private readonly auditLast = this.gauge(
    'tailseal_audit_last_success_timestamp_seconds',
    'When the last integrity audit of a sink verified.',
    ['sink'],
  );
  private readonly auditEntries = this.gauge('tailseal_audit_entries', 'Entries the last audit of a sink verified.', [
    'sink',
    'stream',
  ]);

  constructor(view: MetricsView) {
    new Gauge({
      name: 'tailseal_build_info',
      help: 'Version of tailseal and Node.js; always 1.',
      labelNames: ['version', 'node'],
      registers: [this.registry],
    }).set({ version: VERSION, node: process.version }, 1);
    this.scraped('tailseal_outbox_bytes', 'Sealed bytes waiting in the outbox for sinks.', [], () => [
      [{}, view.outbox().bytes],
    ]);
    this.scraped('tailseal_outbox_objects', 'Signed objects waiting in the outbox.', [], () => [
      [{}, view.outbox().objects],
    ]);
    this.scraped('tailseal_outbox_entries', 'Sealed entries waiting in the outbox (signed or not yet).', [], () => [
      [{}, view.outbox().entries],
    ]);
    this.scraped('tailseal_outbox_limit_bytes', 'outbox.max_bytes: reading pauses at this size.', [], () => [
      [{}, view.outbox().limitBytes],
    ]);
    this.scraped('tailseal_backpressure', '1 while reading is paused because the outbox is full.', [], () => [
      [{}, view.outbox().backpressure ? 1 : 0],
    ]);
    this.scraped(
      'tailseal_file_lag_bytes',
      'Bytes of an open file not sealed yet (its size minus the committed offset).',
      ['input', 'path'],
      () => view.fileLag().map((f) => [{ input: f.input, path: f.path }, f.bytes]),
    );
    const fileErrorsHelp =
      'Files an input matches but does not read (1 each), by FILE_* code ' + '(docs/operations.md, Errors).';
    this.scraped('tailseal_file_errors', fileErrorsHelp, ['input', 'path', 'code'], () =>
      view.fileProblems().map((f) => [{ input: f.input, path: f.path, code: f.code }, 1]),
    );
    this.scraped(
      'tailseal_sink_parked_objects',
      'Objects parked for a sink now, waiting for `tailseal requeue`.',
      ['sink'],
      () => view.sinks().map((s) => [{ sink: s.sink }, s.parked]),
    );
    this.scraped(
      'tailseal_sink_cursor_lag_objects',
      'Objects in the outbox a sink has not acknowledged yet.',
      ['sink'],
      () => view.sinks().map((s) => [{ sink: s.sink }, s.cursorLagObjects]),
    );
    this.scraped('tailseal_checkpoint_size', 'Tree size of the last signed checkpoint.', ['stream'], () =>
      view.checkpoints().map((c) => [{ stream: c.stream }, c.size]),
    );
    this.scraped('tailseal_checkpoint_age_seconds', 'Seconds since the last signed checkpoint.', ['stream'], () =>
      view
        .checkpoints()
        .filter((c) => c.signedAt > 0)
        .map((c) => [{ stream: c.stream }, (Date.now() - c.signedAt) / 1000]),
    );
  }

  private counter(name: string, help: string, labelNames: string[]): Counter {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  private gauge(name: string, help: string, labelNames: string[]): Gauge {
    return new Gauge({ name, help, labelNames, registers: [this.registry] });
  }

  /** A gauge whose values are read from the daemon on every scrape. */
  private scraped(
    name: string,
    help: string,
    labelNames: string[],
    read: () => [Record<string, string>, number][],
  ): void {
    scrapedGauge(this.registry, name, help, labelNames, read);
  }

  /** A committed batch's counters (the names store/counters.ts keeps: lines_read, decisions, skipped_*, gap_* ...). */
  committed(input: string, stream: string, counters: Readonly<Record<string, number>>): void {
    for (const [k, n] of Object.entries(counters)) {
      if (!n) continue;
      if (k === 'lines_read') this.linesRead.inc({ input }, n);
      else if (k === 'bytes_read') this.bytesRead.inc({ input }, n);
      else if (k === 'decisions') this.sealed.inc({ input, stream }, n);
      else if (k.startsWith(SKIPPED)) this.skipped.inc({ input, reason: k.slice(SKIPPED.length) }, n);
      else if (k.startsWith(GAP)) this.gaps.inc({ input, reason: k.slice(GAP.length) }, n);
    }
  }

  /** A request an opa_service input refused; `reason` is the refusal's stable code. */
  refused(input: string, reason: string): void {
    this.refusedTotal.inc({ input, reason });
  }

  delivered(sink: string, bytes: number, seconds: number): void {
    this.acked.inc({ sink });
    this.ackedBytes.inc({ sink }, bytes);
    this.upload.observe({ sink }, seconds);
  }

  failed(sink: string, cls: string, willRetry: boolean): void {
    this.failures.inc({ sink, class: cls });
    if (willRetry) this.retries.inc({ sink });
  }

  parked(sink: string): void {
    this.parkedTotal.inc({ sink });
  }

  audited(sink: string, ok: boolean, streams: { stream: string; entries: number }[]): void {
    this.auditOk.set({ sink }, ok ? 1 : 0);
    if (!ok) return;
    this.auditLast.set({ sink }, Date.now() / 1000);
    for (const s of streams) this.auditEntries.set({ sink, stream: s.stream }, s.entries);
  }
}

/** A gauge of `registry` whose values `read` gives on every scrape (state kept elsewhere, never copied in). */
export function scrapedGauge(
  registry: Registry,
  name: string,
  help: string,
  labelNames: string[],
  read: () => [Record<string, string>, number][],
): void {
  new Gauge({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const [labels, v] of read()) this.set(labels, v);
    },
  });
}
