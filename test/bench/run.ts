// `npm run bench [-- --size N --scenario backlog,http,live,restart,micro --live-seconds S --rate R --runs K]`
// Measures the real daemon (a child process, like production) and prints one row per scenario:
// decisions/s, MB/s, CPU seconds per 100k decisions, peak RSS, and latency percentiles where
// they apply. All rows are also written to bench/results/<date>.json. Not part of `npm test`.
import Database from 'better-sqlite3';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeKeyPair } from '../../src/seal/keyfile.js';
import { sha256 } from '../../src/trail/hash.js';
import { parseObject } from '../../src/seal/gzip.js';
import { prng } from '../helpers/opa-sample.js';
import { CLI, REPO_ROOT } from '../helpers/paths.js';
import { corpusLine, writeCorpus } from './corpus.js';
import { microBenchmarks } from './micro.js';

interface Row {
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

const args = process.argv.slice(2);
const flag = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : def;
};
const SIZE = Number(flag('size', '50000'));
const SCENARIOS = flag('scenario', 'backlog,http,live,restart,micro').split(',');
const LIVE_SECONDS = Number(flag('live-seconds', '10'));
const RATE = Number(flag('rate', '5000'));
const RUNS = Math.max(1, Number(flag('runs', '1')));
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || '100');

/** CPU seconds (user + system) and peak RSS (MB) of a live process, from /proc. */
function procStats(pid: number): { cpu: number; sys: number; rssMb: number; hwmMb: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpu = (Number(f[11]) + Number(f[12])) / CLK_TCK;
  const sys = Number(f[12]) / CLK_TCK;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { cpu, sys, rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024 };
}

/** CPU seconds per thread name of a live process (BENCH_THREADS=1 prints it: main thread vs libuv pool vs GC). */
function threadCpu(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8');
      const name = t === String(pid) ? 'main' : stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out[name] = +((out[name] ?? 0) + (Number(f[11]) + Number(f[12])) / CLK_TCK).toFixed(2);
    } catch {
      // the thread ended between readdir and read
    }
  }
  return out;
}

/**
 * This machine's speed right now: ms for noble's SHA-256 over 16 MiB (in this process, just
 * before a run). A VM's speed drifts with its neighbours; this says which runs met a slow phase.
 */
function referenceMs(): number {
  const data = Buffer.alloc(16 * 1024 * 1024, 7);
  sha256(data.subarray(0, 1024 * 1024)); // warm up
  const t0 = performance.now();
  sha256(data);
  return Math.round(performance.now() - t0);
}

interface Bench {
  root: string;
  opa: string;
  store: string;
  db: string;
  config: string;
  pub: string;
}

function workspace(sinkYaml?: string): Bench {
  const root = mkdtempSync(join(tmpdir(), 'tailseal-bench-'));
  const b = {
    root,
    opa: join(root, 'opa'),
    store: join(root, 'store'),
    db: join(root, 'state', 'tailseal.db'),
    config: join(root, 'tailseal.yaml'),
    pub: join(root, 'key.pub'),
  };
  mkdirSync(b.opa);
  writeKeyPair(join(root, 'key'), 'bench.tailseal/x');
  writeFileSync(
    b.config,
    `state_dir: ${join(root, 'state')}
origin: bench.tailseal/x
signing: { key_file: ${join(root, 'key')} }
inputs: [{ name: opa, type: file, paths: ["${b.opa}/*.log"]${process.env.BENCH_INPUT_EXTRA ?? ''} }]
sinks:
${sinkYaml ?? `  - { name: local, type: file, dir: ${b.store} }`}
log: { level: warn }
metrics: { listen: "127.0.0.1:0" }
`,
  );
  return b;
}

function daemon(b: Bench): ChildProcess {
  // BENCH_DAEMON_NODE_ARGS passes node flags to the daemon, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
  const nodeArgs = process.env.BENCH_DAEMON_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const c = spawn(process.execPath, [...nodeArgs, CLI, 'run', '--config', b.config], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return c;
}

async function stop(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null) return;
  c.kill('SIGTERM');
  await new Promise((r) => c.once('exit', r));
}

/**
 * Flushes the freshly written corpus to disk before the daemon starts: otherwise the kernel's
 * writeback of that gigabyte competes with the daemon's own fsyncs and the figures swing by 30%.
 */
function settleDisk(): void {
  spawnSync('sync');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The daemon's progress, read from its state database (a second, read-only connection). */
class Progress {
  private db: Database.Database | null = null;
  constructor(private readonly file: string) {}
  read(): { decisions: number; outbox: number } {
    if (!this.db) {
      if (!existsSync(this.file)) return { decisions: 0, outbox: 1 };
      this.db = new Database(this.file, { readonly: true, fileMustExist: true });
    }
    try {
      const get = (n: string) =>
        (this.db!.prepare('SELECT value FROM counters WHERE name = ?').get(n) as { value: number } | undefined)
          ?.value ?? 0;
      return { decisions: get('decisions'), outbox: get('outbox_bytes') };
    } catch {
      return { decisions: 0, outbox: 1 };
    }
  }
  close(): void {
    this.db?.close();
  }
}

/** Waits until `decisions` are sealed and the outbox is empty; samples the daemon meanwhile. */
async function untilDone(
  c: ChildProcess,
  p: Progress,
  decisions: number,
  timeoutMs: number,
): Promise<{ ms: number; cpu: number; sys: number; hwmMb: number }> {
  const t0 = performance.now();
  let last: ReturnType<typeof procStats>;
  for (;;) {
    const s = p.read();
    last = procStats(c.pid!);
    if (s.decisions >= decisions && s.outbox === 0) break;
    if (performance.now() - t0 > timeoutMs)
      throw new Error(`timed out: ${s.decisions}/${decisions} sealed, outbox ${s.outbox} bytes`);
    await sleep(20);
  }
  if (process.env.BENCH_THREADS === '1') console.error('CPU s by thread:', JSON.stringify(threadCpu(c.pid!)));
  return { ms: performance.now() - t0, cpu: last.cpu, sys: last.sys, hwmMb: last.hwmMb };
}

function row(
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

async function backlog(name: string, sinkYaml?: (b: Bench) => string): Promise<Row> {
  const b = workspace();
  if (sinkYaml)
    writeFileSync(b.config, readFileSync(b.config, 'utf8').replace(/sinks:\n.*\n/, `sinks:\n${sinkYaml(b)}\n`));
  const corpus = writeCorpus(join(b.opa, 'opa.log'), SIZE, 42);
  settleDisk();
  const ref = referenceMs();
  const c = daemon(b);
  const p = new Progress(b.db);
  const done = await untilDone(c, p, corpus.decisions, 30 * 60_000);
  const refAfter = referenceMs();
  p.close();
  await stop(c);
  rmSync(b.root, { recursive: true, force: true });
  return row(name, corpus.decisions, corpus.bytes, done.ms, done.cpu, done.hwmMb, {
    sys_pct: Math.round((100 * done.sys) / done.cpu),
    ref_ms: `${ref}/${refAfter}`,
  });
}

async function httpBacklog(): Promise<Row> {
  const collector = spawn(process.execPath, [join(REPO_ROOT, 'dist', 'test', 'bench', 'collector.js')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<string>((res) =>
    collector.stdout!.once('data', (d: Buffer) => res(d.toString().trim())),
  );
  try {
    return await backlog(
      'backlog -> http sink',
      () => `  - { name: collector, type: http, url: "http://127.0.0.1:${port}/objects" }`,
    );
  } finally {
    collector.kill('SIGTERM');
  }
}

/** Live: lines written at RATE/s for LIVE_SECONDS; latency = object visible in the store - write time. */
async function live(): Promise<Row> {
  const b = workspace();
  const log = join(b.opa, 'opa.log');
  writeFileSync(log, '');
  const c = daemon(b);
  await sleep(1000);
  const rnd = prng(7);
  const latencies: number[] = [];
  const seen = new Set<string>();
  const rss: number[] = [];
  let written = 0;
  let bytes = 0;
  const start = Date.now();
  const cpu0 = procStats(c.pid!).cpu;
  let nextWrite = start;
  let i = 0;
  const scan = () => {
    const dir = join(b.store, 'opa');
    if (!existsSync(dir)) return;
    for (const name of readdirSync(dir)) {
      if (seen.has(name) || name.startsWith('.')) continue;
      seen.add(name);
      const now = Date.now();
      for (const e of parseObject(readFileSync(join(dir, name))).entries) {
        const m = /"written_at_ms":(\d+)/.exec(Buffer.from(e.envelope.payload).toString());
        if (m) latencies.push(now - Number(m[1]));
      }
    }
  };
  while (Date.now() - start < LIVE_SECONDS * 1000) {
    // Write what is due (every 10 ms a slice of the per-second rate), then look at the store.
    const now = Date.now();
    const lines: string[] = [];
    while (nextWrite <= now) {
      for (let k = 0; k < RATE / 100; k++) {
        const l = corpusLine(i++, rnd, Date.now());
        if (l.decision) written++;
        lines.push(l.line);
      }
      nextWrite += 10;
    }
    if (lines.length) {
      const text = lines.join('\n') + '\n';
      bytes += text.length;
      appendFileSync(log, text);
    }
    scan();
    if (rss.length < (Date.now() - start) / 5000) rss.push(Math.round(procStats(c.pid!).rssMb));
    await sleep(5);
  }
  const deadline = Date.now() + 30_000;
  while (latencies.length < written && Date.now() < deadline) {
    scan();
    await sleep(5);
  }
  const st = procStats(c.pid!);
  await stop(c);
  rmSync(b.root, { recursive: true, force: true });
  latencies.sort((a, b2) => a - b2);
  const pct = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  return row(`live ${RATE}/s for ${LIVE_SECONDS}s`, written, bytes, LIVE_SECONDS * 1000, st.cpu - cpu0, st.hwmMb, {
    p50_ms: pct(0.5),
    p99_ms: pct(0.99),
    max_ms: latencies.at(-1) ?? NaN,
    note: `RSS every 5 s (MB): ${rss.join(' ')}; ${latencies.length}/${written} acknowledged`,
  });
}

/** kill -9 halfway through a backlog: time to resume, time to finish, and exactness. */
async function restart(): Promise<Row> {
  const b = workspace();
  const corpus = writeCorpus(join(b.opa, 'opa.log'), SIZE, 43);
  settleDisk();
  const p = new Progress(b.db);
  let c = daemon(b);
  const t0 = performance.now();
  while (p.read().decisions < corpus.decisions / 2) await sleep(5);
  c.kill('SIGKILL');
  await new Promise((r) => c.once('exit', r));
  const before = p.read().decisions;
  const tRestart = performance.now();
  c = daemon(b);
  while (p.read().decisions <= before) await sleep(5);
  const resumeMs = performance.now() - tRestart;
  const done = await untilDone(c, p, corpus.decisions, 30 * 60_000);
  p.close();
  await stop(c);
  const v = spawnSync(
    process.execPath,
    [CLI, 'verify', '--store', b.store, '--public-key', join(b.root, 'key.pub'), '--json'],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  const report = JSON.parse(v.stdout || '{}') as { ok?: boolean; streams?: { entries: number }[] };
  const exact = report.ok === true && report.streams?.[0]?.entries === corpus.decisions;
  rmSync(b.root, { recursive: true, force: true });
  const total = performance.now() - t0;
  return row('restart (kill -9 at 50%)', corpus.decisions, corpus.bytes, total, done.cpu, done.hwmMb, {
    note:
      `resumed sealing ${Math.round(resumeMs)} ms after restart; verify ` +
      (exact ? `OK, exactly ${corpus.decisions} entries (no loss, no duplicate)` : `FAILED: ${v.stdout.slice(0, 300)}`),
  });
}

/**
 * Runs a backlog scenario RUNS times: with more than one, a row per run and then their median
 * (this VM's speed drifts between runs by as much as a quarter; one run can mislead).
 */
async function repeated(scenario: () => Promise<Row>): Promise<Row[]> {
  const runs: Row[] = [];
  for (let i = 0; i < RUNS; i++) runs.push(await scenario());
  if (RUNS === 1) return runs;
  const median = (f: (r: Row) => number) => [...runs].map(f).sort((a, b) => a - b)[Math.floor(RUNS / 2)]!;
  const range = (f: (r: Row) => number) => `${Math.min(...runs.map(f))}–${Math.max(...runs.map(f))}`;
  const med: Row = {
    ...runs[0]!,
    scenario: `${runs[0]!.scenario} (median of ${RUNS})`,
    seconds: median((r) => r.seconds),
    decisions_per_s: median((r) => r.decisions_per_s),
    mb_per_s: median((r) => r.mb_per_s),
    cpu_s_per_100k: median((r) => r.cpu_s_per_100k),
    peak_rss_mb: median((r) => r.peak_rss_mb),
    sys_pct: median((r) => r.sys_pct ?? 0),
    ref_ms: runs.map((r) => r.ref_ms).join(' '),
    note:
      `range ${range((r) => r.decisions_per_s)}/s, ${range((r) => r.cpu_s_per_100k)} CPU s, ` +
      `${range((r) => r.peak_rss_mb)} MB`,
  };
  return [...runs.map((r, i) => ({ ...r, scenario: `${r.scenario} #${i + 1}` })), med];
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  const micro: Record<string, string>[] = [];
  process.stderr.write(`tailseal bench: ${SIZE} lines, scenarios ${SCENARIOS.join(',')}\n`);
  if (SCENARIOS.includes('backlog')) rows.push(...(await repeated(() => backlog('backlog -> file sink'))));
  if (SCENARIOS.includes('http')) rows.push(...(await repeated(httpBacklog)));
  if (SCENARIOS.includes('live')) rows.push(await live());
  if (SCENARIOS.includes('restart')) rows.push(await restart());
  if (SCENARIOS.includes('micro')) micro.push(...(await microBenchmarks()));
  console.table(rows);
  if (micro.length) console.table(micro);
  const dir = join(REPO_ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${new Date().toISOString().slice(0, 10)}.json`);
  writeFileSync(
    file,
    JSON.stringify({ date: new Date().toISOString(), size: SIZE, node: process.version, rows, micro }, null, 2) + '\n',
  );
  process.stderr.write(`results written to ${file}\n`);
}

await main();
