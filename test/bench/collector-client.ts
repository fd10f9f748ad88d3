// Starts the benchmark's collector (collector.ts) as its own process and reads its counts.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/paths.js';

export interface CollectorStats {
  objects: number;
  bytes: number;
  lines: number;
  /** write → received ms per line carrying `written_at_ms` (only with `latency`) */
  latencies: number[];
}

export interface Collector {
  port: number;
  stats(): Promise<CollectorStats>;
  stop(): void;
}

export async function startCollector(latency = false): Promise<Collector> {
  const child = spawn(
    process.execPath,
    [join(REPO_ROOT, 'dist', 'test', 'bench', 'collector.js'), ...(latency ? ['--latency'] : [])],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const port = await new Promise<number>((res, rej) => {
    child.once('error', rej);
    child.stdout!.once('data', (d: Buffer) => res(Number(d.toString().trim())));
  });
  return {
    port,
    stats: async () => (await (await fetch(`http://127.0.0.1:${port}/stats`)).json()) as CollectorStats,
    stop: () => child.kill('SIGTERM'),
  };
}
