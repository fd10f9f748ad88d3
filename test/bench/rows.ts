// The row the benchmark prints for each tailseal run (decisions/s, MB/s, CPU s per 100k decisions, peak
// RSS, latency), the median of several runs with their ranges, and this machine's speed at the time.
import { sha256 } from '../../src/trail/hash.js';

export interface Row {
  scenario: string;
  decisions: number;
  seconds: number;
  decisions_per_s: number;
  mb_per_s: number;
  cpu_s_per_100k: number;
  /** Share of that CPU spent in the kernel (reads, writes, fsyncs, copies). */
  sys_pct?: number;
  /** The machine's speed just before and after the run, "before/after" (referenceMs: lower is faster). */
  ref_ms?: string;
  peak_rss_mb: number;
  p50_ms?: number;
  p99_ms?: number;
  max_ms?: number;
  note?: string;
}

export function row(
  scenario: string,
  decisions: number,
  bytes: number,
  ms: number,
  cpu: number,
  hwmMb: number,
  extra: Partial<Row> = {},
): Row {
  const s = ms / 1000;
  return {
    scenario,
    decisions,
    seconds: +s.toFixed(2),
    decisions_per_s: Math.round(decisions / s),
    mb_per_s: +(bytes / 1e6 / s).toFixed(1),
    cpu_s_per_100k: +((cpu * 100_000) / decisions).toFixed(2),
    peak_rss_mb: Math.round(hwmMb),
    ...extra,
  };
}

/** The median (the upper one of an even count). */
export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
/** "min–max" of a figure over runs. */
export const range = (xs: number[]) => `${Math.min(...xs)}–${Math.max(...xs)}`;

/**
 * With more than one run, a row per run and then their median (this VM's speed drifts between runs
 * by as much as a quarter; one run can mislead).
 */
export function withMedian(runs: Row[]): Row[] {
  if (runs.length <= 1) return runs;
  const of = (f: (r: Row) => number) => median(runs.map(f));
  const over = (f: (r: Row) => number) => range(runs.map(f));
  const med: Row = {
    ...runs[0]!,
    scenario: `${runs[0]!.scenario} (median of ${runs.length})`,
    seconds: of((r) => r.seconds),
    decisions_per_s: of((r) => r.decisions_per_s),
    mb_per_s: of((r) => r.mb_per_s),
    cpu_s_per_100k: of((r) => r.cpu_s_per_100k),
    peak_rss_mb: of((r) => r.peak_rss_mb),
    sys_pct: of((r) => r.sys_pct ?? 0),
    ref_ms: runs.map((r) => r.ref_ms).join(' '),
    note:
      `range ${over((r) => r.decisions_per_s)}/s, ${over((r) => r.cpu_s_per_100k)} CPU s, ` +
      `${over((r) => r.peak_rss_mb)} MB`,
  };
  return [...runs.map((r, i) => ({ ...r, scenario: `${r.scenario} #${i + 1}` })), med];
}

/**
 * This machine's speed right now: ms for noble's SHA-256 over 16 MiB (in this process, just
 * before a run). A VM's speed drifts with its neighbours; this says which runs met a slow phase.
 */
export function referenceMs(): number {
  const data = Buffer.alloc(16 * 1024 * 1024, 7);
  sha256(data.subarray(0, 1024 * 1024)); // warm up
  const t0 = performance.now();
  sha256(data);
  return Math.round(performance.now() - t0);
}
