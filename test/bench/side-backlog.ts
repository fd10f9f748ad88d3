// Backlog side by side: Fluent Bit (defaults, then with filesystem buffering) and tailseal (http sink to
// the same collector, and the example config's file sink) on one corpus, alternating run by run
// (peer, durable peer, tailseal http, tailseal file; again for each run) so that this VM's drift
// touches all of them alike. A run ends when the collector has every corpus line (Fluent Bit ships
// each line) or, for tailseal, when every decision is sealed and acknowledged by its sink.
import { linkSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Collector, startCollector } from './collector-client.js';
import { type CorpusStats, writeCorpus } from './corpus.js';
import { startFluentBit } from './peer.js';
import { procStats, sleep } from './proc.js';
import { type Row, median, range, referenceMs, row, withMedian } from './rows.js';
import { Progress, daemon, httpSink, settleDisk, stop, untilDone, workspace } from './tailseal.js';

export interface BacklogOptions {
  size: number;
  runs: number;
  /** Fluent Bit's binary; without it, tailseal's rows only */
  peer?: string;
  /** tailseal's http sink row (`http` scenario), its file sink row (`backlog` scenario) */
  http: boolean;
  file: boolean;
  httpGzip: boolean;
}

/** One side-by-side row: medians over the runs, and the ratios tailseal / Fluent Bit. */
export interface SideRow {
  row: string;
  runs: number;
  input_lines_per_s: number;
  cpu_s: number;
  peak_rss_mb: number;
  /** tailseal / Fluent Bit defaults: lines/s, CPU s, peak RSS (from the medians) */
  x_lines_per_s?: number;
  x_cpu_s?: number;
  x_rss?: number;
  /** the same three ratios against Fluent Bit with filesystem buffering */
  x_durable?: string;
  ranges: string;
}

interface Measure {
  seconds: number;
  cpu: number;
  rssMb: number;
}

const TIMEOUT_MS = 30 * 60_000;

async function peerRun(bin: string, corpusFile: string, corpus: CorpusStats, durable: boolean): Promise<Measure> {
  const dir = mkdtempSync(join(tmpdir(), 'tailseal-bench-peer-'));
  mkdirSync(join(dir, 'opa'));
  linkSync(corpusFile, join(dir, 'opa', 'opa.log'));
  const collector = await startCollector();
  const fb = startFluentBit({ bin, dir, logs: join(dir, 'opa', '*.log'), port: collector.port, durable });
  const t0 = performance.now();
  try {
    for (;;) {
      const s = await collector.stats();
      const st = procStats(fb.pid!);
      if (s.lines >= corpus.lines) return { seconds: (performance.now() - t0) / 1000, cpu: st.cpu, rssMb: st.hwmMb };
      if (fb.exitCode !== null)
        throw new Error(`Fluent Bit exited (${fb.exitCode}) at ${s.lines}/${corpus.lines} lines`);
      if (performance.now() - t0 > TIMEOUT_MS) throw new Error(`Fluent Bit timed out: ${s.lines}/${corpus.lines}`);
      await sleep(20);
    }
  } finally {
    await stop(fb);
    collector.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function tailsealRun(
  name: string,
  corpusFile: string,
  corpus: CorpusStats,
  collector?: Collector,
  gzip = false,
): Promise<{ m: Measure; row: Row }> {
  const b = workspace(collector ? httpSink(collector.port, gzip) : undefined);
  linkSync(corpusFile, join(b.opa, 'opa.log'));
  const ref = referenceMs();
  const c = daemon(b);
  const p = new Progress(b.db);
  try {
    const done = await untilDone(c, p, corpus.decisions, TIMEOUT_MS);
    const refAfter = referenceMs();
    return {
      m: { seconds: done.ms / 1000, cpu: done.cpu, rssMb: done.hwmMb },
      row: row(name, corpus.decisions, corpus.bytes, done.ms, done.cpu, done.hwmMb, {
        sys_pct: Math.round((100 * done.sys) / done.cpu),
        ref_ms: `${ref}/${refAfter}`,
      }),
    };
  } finally {
    p.close();
    await stop(c);
    rmSync(b.root, { recursive: true, force: true });
  }
}

interface Variant {
  name: string;
  run: () => Promise<Measure | { m: Measure; row: Row }>;
  measures: Measure[];
  rows: Row[];
}

const ratio = (a: number, b: number) => +(a / b).toFixed(2);

function summarize(v: Variant, lines: number): SideRow {
  const lps = v.measures.map((m) => Math.round(lines / m.seconds));
  const cpu = v.measures.map((m) => +m.cpu.toFixed(2));
  const rss = v.measures.map((m) => Math.round(m.rssMb));
  return {
    row: v.name,
    runs: v.measures.length,
    input_lines_per_s: median(lps),
    cpu_s: median(cpu),
    peak_rss_mb: median(rss),
    ranges: `${range(lps)} lines/s, ${range(cpu)} CPU s, ${range(rss)} MiB`,
  };
}

/** Runs the variants alternately; returns tailseal's usual rows and the side-by-side rows. */
export async function backlogSideBySide(o: BacklogOptions): Promise<{ rows: Row[]; side: SideRow[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'tailseal-bench-corpus-'));
  const corpusFile = join(dir, 'opa.log');
  const corpus = writeCorpus(corpusFile, o.size, 42);
  settleDisk();
  const variants: Variant[] = [];
  const add = (name: string, run: Variant['run']) => variants.push({ name, run, measures: [], rows: [] });
  if (o.peer) {
    const bin = o.peer;
    add('Fluent Bit defaults, tail -> http', () => peerRun(bin, corpusFile, corpus, false));
    add('Fluent Bit, storage.type filesystem', () => peerRun(bin, corpusFile, corpus, true));
  }
  const httpName = `backlog -> http sink${o.httpGzip ? ' (gzip)' : ' (gzip off)'}`;
  if (o.http)
    add(httpName, async () => {
      const collector = await startCollector();
      try {
        return await tailsealRun(httpName, corpusFile, corpus, collector, o.httpGzip);
      } finally {
        collector.stop();
      }
    });
  if (o.file) add('backlog -> file sink', () => tailsealRun('backlog -> file sink', corpusFile, corpus));
  try {
    for (let i = 0; i < o.runs; i++) {
      for (const v of variants) {
        const r = await v.run();
        if ('row' in r) {
          v.measures.push(r.m);
          v.rows.push(r.row);
        } else v.measures.push(r);
        process.stderr.write(`  ${v.name} #${i + 1}: ${v.measures.at(-1)!.seconds.toFixed(1)} s\n`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const side = variants.map((v) => summarize(v, corpus.lines));
  const [peer, durable] = o.peer ? side : [];
  for (const s of side.slice(o.peer ? 2 : 0)) {
    if (!peer || !durable) break;
    s.x_lines_per_s = ratio(s.input_lines_per_s, peer.input_lines_per_s);
    s.x_cpu_s = ratio(s.cpu_s, peer.cpu_s);
    s.x_rss = ratio(s.peak_rss_mb, peer.peak_rss_mb);
    s.x_durable =
      `${ratio(s.input_lines_per_s, durable.input_lines_per_s)} / ${ratio(s.cpu_s, durable.cpu_s)} / ` +
      `${ratio(s.peak_rss_mb, durable.peak_rss_mb)}`;
  }
  const rows = variants.flatMap((v) => withMedian(v.rows));
  return { rows, side };
}
