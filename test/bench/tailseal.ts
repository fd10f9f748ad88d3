// The benchmark's handle on the real daemon: a throwaway workspace (key, config, log dir, store),
// the daemon as a child process (like production), and its progress read from its state database.
import Database from 'better-sqlite3';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeKeyPair } from '../../src/seal/keyfile.js';
import { CLI, REPO_ROOT } from '../helpers/paths.js';
import { procStats, sleep, threadCpu } from './proc.js';

export interface Bench {
  root: string;
  opa: string;
  store: string;
  db: string;
  config: string;
  pub: string;
}

/** A workspace whose config tails `<root>/opa/*.log` into a file sink, or into the sinks `sinkYaml` gives. */
export function workspace(sinkYaml?: (b: Bench) => string): Bench {
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
${sinkYaml ? sinkYaml(b) : `  - { name: local, type: file, dir: ${b.store} }`}
log: { level: warn }
metrics: { listen: "127.0.0.1:0" }
`,
  );
  return b;
}

/** An http sink to a collector on `port` (gzip off unless asked: Fluent Bit's out_http does not compress). */
export const httpSink = (port: number, gzip: boolean) => () =>
  `  - { name: collector, type: http, url: "http://127.0.0.1:${port}/objects", gzip: ${gzip} }`;

/**
 * The NODE_OPTIONS the container image runs the daemon with (its Dockerfile's `ENV NODE_OPTIONS=`; the systemd
 * unit sets the same), so the bench measures the daemon as it is deployed. BENCH_NODE_OPTIONS overrides it
 * (`BENCH_NODE_OPTIONS= npm run bench` measures Node's defaults).
 */
export function deployedNodeOptions(): string {
  if (process.env.BENCH_NODE_OPTIONS !== undefined) return process.env.BENCH_NODE_OPTIONS;
  const m = /^ENV NODE_OPTIONS=(.*)$/m.exec(readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8'));
  return m?.[1]?.trim() ?? '';
}

export function daemon(b: Bench): ChildProcess {
  // BENCH_DAEMON_NODE_ARGS passes node flags to the daemon, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
  const nodeArgs = process.env.BENCH_DAEMON_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  return spawn(process.execPath, [...nodeArgs, CLI, 'run', '--config', b.config], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, NODE_OPTIONS: deployedNodeOptions() },
  });
}

export async function stop(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return;
  c.kill('SIGTERM');
  await new Promise((r) => c.once('exit', r));
}

/**
 * Flushes the freshly written corpus to disk before the daemon starts: otherwise the kernel's
 * writeback of that gigabyte competes with the daemon's own fsyncs and the figures swing by 30%.
 */
export function settleDisk(): void {
  spawnSync('sync');
}

/** The daemon's progress, read from its state database (a second, read-only connection). */
export class Progress {
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

/** Waits until `decisions` are sealed and the outbox is empty (every object acknowledged); samples the daemon. */
export async function untilDone(
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
