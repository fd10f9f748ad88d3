// Steady-state rows side by side: `idle` (started on the example-like config, no input: RSS once it has
// settled, CPU) and `live` over http (lines appended at a steady rate, each decision carrying its write
// time; the collector takes write → received latency), for tailseal and, given its binary, Fluent Bit
// with its defaults into the same kind of collector. Runs alternate (peer, tailseal; again per run).
import { type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Collector, startCollector } from './collector-client.js';
import { writeAtRate } from './live-writer.js';
import { startFluentBit } from './peer.js';
import { procStats, sleep } from './proc.js';
import { median, range } from './rows.js';
import { daemon, httpSink, stop, workspace } from './tailseal.js';

export interface SteadyOptions {
  runs: number;
  peer?: string;
  idleSeconds: number;
  rate: number;
  liveSeconds: number;
}

type Figures = Record<string, number>;
/** A summary row: medians of the runs' figures, their ranges, and ratios tailseal / Fluent Bit. */
export type SteadyRow = Record<string, string | number>;

interface Started {
  proc: ChildProcess;
  log: string;
  done(): Promise<void>;
}

/**
 * Fluent Bit (defaults, into the collector) or tailseal on an empty log: tailseal with the example
 * config's file sink (what a sidecar starts with), or with an http sink into the collector if `http`.
 */
function start(peer: string | undefined, collector: Collector | undefined, http: boolean): Started {
  if (peer) {
    const dir = mkdtempSync(join(tmpdir(), 'tailseal-bench-peer-'));
    mkdirSync(join(dir, 'opa'));
    const log = join(dir, 'opa', 'opa.log');
    writeFileSync(log, '');
    const port = collector!.port;
    const proc = startFluentBit({ bin: peer, dir, logs: join(dir, 'opa', '*.log'), port, durable: false });
    return { proc, log, done: async () => (await stop(proc), rmSync(dir, { recursive: true, force: true })) };
  }
  const b = workspace(http ? httpSink(collector!.port, false) : undefined);
  const log = join(b.opa, 'opa.log');
  writeFileSync(log, '');
  const proc = daemon(b);
  return { proc, log, done: async () => (await stop(proc), rmSync(b.root, { recursive: true, force: true })) };
}

async function idleRun(peer: string | undefined, seconds: number): Promise<Figures> {
  const collector = peer ? await startCollector() : undefined;
  const s = start(peer, collector, false);
  try {
    await sleep((seconds * 1000) / 2);
    const half = procStats(s.proc.pid!);
    await sleep((seconds * 1000) / 2);
    const end = procStats(s.proc.pid!);
    return {
      rss_mb: Math.round(end.rssMb),
      rss_half_mb: Math.round(half.rssMb),
      peak_rss_mb: Math.round(end.hwmMb),
      cpu_s: +end.cpu.toFixed(2),
      settled_cpu_pct: +((100 * (end.cpu - half.cpu)) / (seconds / 2)).toFixed(2),
    };
  } finally {
    await s.done();
    collector?.stop();
  }
}

async function liveRun(peer: string | undefined, rate: number, seconds: number): Promise<Figures> {
  const collector = await startCollector(true);
  const s = start(peer, collector, true);
  try {
    await sleep(1000);
    const cpu0 = procStats(s.proc.pid!).cpu;
    const t0 = performance.now();
    const w = await writeAtRate(s.log, rate, seconds);
    // Every decision carries its write time; wait (up to 30 s) until the collector has all of them.
    const deadline = Date.now() + 30_000;
    let lat: number[];
    for (;;) {
      lat = (await collector.stats()).latencies;
      if (lat.length >= w.decisions || Date.now() > deadline) break;
      await sleep(100);
    }
    const st = procStats(s.proc.pid!);
    const wall = (performance.now() - t0) / 1000;
    lat.sort((a, b) => a - b);
    const pct = (q: number) => lat[Math.min(lat.length - 1, Math.floor(q * lat.length))] ?? NaN;
    return {
      p50_ms: pct(0.5),
      p99_ms: pct(0.99),
      max_ms: lat.at(-1) ?? NaN,
      cpu_pct: +((100 * (st.cpu - cpu0)) / wall).toFixed(1),
      rss_peak_mb: Math.round(st.hwmMb),
      rss_after_mb: Math.round(st.rssMb),
      received_pct: +((100 * lat.length) / w.decisions).toFixed(2),
    };
  } finally {
    await s.done();
    collector.stop();
  }
}

/** a / b, or '' where b rounds to 0 (an idle peer's CPU in clock ticks) */
const ratio = (a: number, b: number) => (b > 0 ? +(a / b).toFixed(2) : '');

/** Alternates peer and tailseal `runs` times; a row each (medians, ranges of `ranged`), ratios on tailseal's. */
async function alternate(
  what: string,
  o: SteadyOptions,
  run: (peer: string | undefined) => Promise<Figures>,
  ranged: string[],
  ratios: string[],
): Promise<SteadyRow[]> {
  const sides = [
    ...(o.peer ? [{ name: `Fluent Bit defaults, ${what}`, peer: o.peer }] : []),
    { name: `tailseal, ${what}` },
  ];
  const results = sides.map(() => [] as Figures[]);
  for (let i = 0; i < o.runs; i++)
    for (const [k, side] of sides.entries()) {
      results[k]!.push(await run('peer' in side ? side.peer : undefined));
      process.stderr.write(`  ${side.name} #${i + 1}: ${JSON.stringify(results[k]!.at(-1))}\n`);
    }
  const rows = sides.map((side, k) => {
    const runs = results[k]!;
    const r: SteadyRow = { row: side.name, runs: runs.length };
    for (const key of Object.keys(runs[0]!)) r[key] = median(runs.map((f) => f[key]!));
    if (runs.length > 1) r.ranges = ranged.map((key) => `${key} ${range(runs.map((f) => f[key]!))}`).join(', ');
    return r;
  });
  if (rows.length === 2)
    for (const key of ratios) rows[1]![`x_${key}`] = ratio(rows[1]![key] as number, rows[0]![key] as number);
  return rows;
}

export function idleSideBySide(o: SteadyOptions): Promise<SteadyRow[]> {
  return alternate(
    `idle ${o.idleSeconds} s`,
    o,
    (peer) => idleRun(peer, o.idleSeconds),
    ['rss_mb', 'cpu_s'],
    ['rss_mb', 'cpu_s'],
  );
}

export function liveSideBySide(o: SteadyOptions): Promise<SteadyRow[]> {
  return alternate(
    `live ${o.rate}/s for ${o.liveSeconds} s -> http`,
    o,
    (peer) => liveRun(peer, o.rate, o.liveSeconds),
    ['p99_ms', 'cpu_pct', 'rss_peak_mb'],
    ['p99_ms', 'cpu_pct', 'rss_peak_mb', 'rss_after_mb'],
  );
}
