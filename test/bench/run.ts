// `npm run bench [-- --size N --scenario backlog,http,idle,live,restart,micro,monitor,search --live-seconds S --rate R
//  --idle-seconds S --runs K --http-gzip --peer-fluent-bit PATH --origins N --objects N --concurrency 1,8]`
// Measures the real daemon (a child process, like production) and prints one row per scenario:
// decisions/s, MB/s, CPU seconds per 100k decisions, peak RSS, and latency percentiles where
// they apply. With a Fluent Bit binary (--peer-fluent-bit PATH, or TAILSEAL_TEST_FLUENT_BIT) the
// backlog, idle and live scenarios also run it beside tailseal, alternating, and print the
// side-by-side rows with the ratios tailseal / Fluent Bit. All rows are also written to
// bench/results/<date>.json. The monitor scenario (not run by default: it needs Ceph RGW) measures
// `tailseal monitor` over --origins x --objects objects (test/bench/monitor.ts). Not part of `npm test`.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseObject } from '../../src/seal/gzip.js';
import { CLI, REPO_ROOT } from '../helpers/paths.js';
import { writeCorpus } from './corpus.js';
import { writeAtRate } from './live-writer.js';
import { microBenchmarks } from './micro.js';
import { type MonitorRow, monitorBenchmark } from './monitor.js';
import { peerBinary } from './peer.js';
import { procStats, sleep } from './proc.js';
import { type Row, row } from './rows.js';
import { searchBenchmark } from './search.js';
import { type SideRow, backlogSideBySide } from './side-backlog.js';
import { type SteadyRow, idleSideBySide, liveSideBySide } from './side-steady.js';
import { Progress, daemon, deployedNodeOptions, settleDisk, stop, untilDone, workspace } from './tailseal.js';

const args = process.argv.slice(2);
const flag = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : def;
};
const SIZE = Number(flag('size', '50000'));
const SCENARIOS = flag('scenario', 'backlog,http,idle,live,restart,micro').split(',');
const LIVE_SECONDS = Number(flag('live-seconds', '10'));
// Node's RSS at idle drops some 15 s after start (84 → 69 MB here, V8 shrinking its heap): measure after that.
const IDLE_SECONDS = Number(flag('idle-seconds', '30'));
const RATE = Number(flag('rate', '5000'));
const RUNS = Math.max(1, Number(flag('runs', '1')));
const HTTP_GZIP = args.includes('--http-gzip');
const PEER = peerBinary(args);

/** Live, file sink: lines written at RATE/s for LIVE_SECONDS; latency = object visible in the store - write time. */
async function live(): Promise<Row> {
  const b = workspace();
  const log = join(b.opa, 'opa.log');
  writeFileSync(log, '');
  const c = daemon(b);
  await sleep(1000);
  const latencies: number[] = [];
  const seen = new Set<string>();
  const rss: number[] = [];
  const start = Date.now();
  const cpu0 = procStats(c.pid!).cpu;
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
  const w = await writeAtRate(log, RATE, LIVE_SECONDS, () => {
    scan();
    if (rss.length < (Date.now() - start) / 5000) rss.push(Math.round(procStats(c.pid!).rssMb));
  });
  const deadline = Date.now() + 30_000;
  while (latencies.length < w.decisions && Date.now() < deadline) {
    scan();
    await sleep(5);
  }
  const st = procStats(c.pid!);
  await stop(c);
  rmSync(b.root, { recursive: true, force: true });
  latencies.sort((a, b2) => a - b2);
  const pct = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  return row(
    `live ${RATE}/s for ${LIVE_SECONDS}s`,
    w.decisions,
    w.bytes,
    LIVE_SECONDS * 1000,
    st.cpu - cpu0,
    st.hwmMb,
    {
      p50_ms: pct(0.5),
      p99_ms: pct(0.99),
      max_ms: latencies.at(-1) ?? NaN,
      note: `RSS every 5 s (MB): ${rss.join(' ')}; ${latencies.length}/${w.decisions} acknowledged`,
    },
  );
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

async function main(): Promise<void> {
  const rows: Row[] = [];
  const side: SideRow[] = [];
  const idle: SteadyRow[] = [];
  const liveSide: SteadyRow[] = [];
  const micro: Record<string, string>[] = [];
  let monitor: MonitorRow[] = [];
  process.stderr.write(
    `tailseal bench: ${SIZE} lines, scenarios ${SCENARIOS.join(',')}, ${RUNS} run(s)` +
      (PEER ? `, beside Fluent Bit (${PEER})` : '') +
      `; daemon NODE_OPTIONS="${deployedNodeOptions()}" (as the image runs it)\n`,
  );
  const file = SCENARIOS.includes('backlog');
  const http = SCENARIOS.includes('http');
  if (file || http) {
    const r = await backlogSideBySide({ size: SIZE, runs: RUNS, peer: PEER, file, http, httpGzip: HTTP_GZIP });
    rows.push(...r.rows);
    side.push(...r.side);
  }
  const steadyOptions = { runs: RUNS, peer: PEER, idleSeconds: IDLE_SECONDS, rate: RATE, liveSeconds: LIVE_SECONDS };
  if (SCENARIOS.includes('idle')) idle.push(...(await idleSideBySide(steadyOptions)));
  if (SCENARIOS.includes('live')) {
    rows.push(await live());
    liveSide.push(...(await liveSideBySide(steadyOptions)));
  }
  if (SCENARIOS.includes('restart')) rows.push(await restart());
  if (SCENARIOS.includes('micro')) micro.push(...(await microBenchmarks()));
  if (SCENARIOS.includes('search')) rows.push(...(await searchBenchmark(SIZE, Number(flag('search-delay-ms', '200')))));
  if (SCENARIOS.includes('monitor')) {
    const m = await monitorBenchmark({
      origins: Number(flag('origins', '1000')),
      objects: Number(flag('objects', '20')),
      concurrencies: flag('concurrency', '1,8').split(',').map(Number),
    });
    if (typeof m === 'string') process.stderr.write(`${m}\n`);
    else monitor = m;
  }
  if (rows.length) console.table(rows);
  if (side.length) console.table(side);
  if (idle.length) console.table(idle);
  if (liveSide.length) console.table(liveSide);
  if (micro.length) console.table(micro);
  if (monitor.length) console.table(monitor);
  const dir = join(REPO_ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const out = join(dir, `${new Date().toISOString().slice(0, 10)}.json`);
  const result = { date: new Date().toISOString(), size: SIZE, node: process.version, peer: PEER ?? null };
  writeFileSync(
    out,
    JSON.stringify({ ...result, rows, side_by_side: side, idle, live: liveSide, micro, monitor }, null, 2) + '\n',
  );
  process.stderr.write(`results written to ${out}\n`);
}

await main();
