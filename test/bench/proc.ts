// What the benchmark reads about a running process from /proc: CPU seconds (the process and all its
// threads: /proc/PID/stat of the thread-group leader sums them) and resident memory.
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || '100');

export interface ProcStats {
  /** user + system CPU seconds since the process started, all threads */
  cpu: number;
  /** the system (kernel) part of `cpu` */
  sys: number;
  /** resident memory now (VmRSS) */
  rssMb: number;
  /** peak resident memory (VmHWM) */
  hwmMb: number;
}

/** CPU seconds (user + system) and RSS (MB) of a live process, from /proc. */
export function procStats(pid: number): ProcStats {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpu = (Number(f[11]) + Number(f[12])) / CLK_TCK;
  const sys = Number(f[12]) / CLK_TCK;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { cpu, sys, rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024 };
}

/** CPU seconds per thread name of a live process (BENCH_THREADS=1 prints it: main thread vs libuv pool vs GC). */
export function threadCpu(pid: number): Record<string, number> {
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

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
