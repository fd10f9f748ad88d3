// `npm run bench -- --scenario monitor`: the fleet monitor (a real `tailseal monitor` child) over
// ORIGINS origins x OBJECTS objects on the local Ceph RGW. The trails are sealed in process
// (test/helpers/trail.ts) and PUT directly, not written by 1,000 daemons. Per concurrency: the
// first full pass (time, objects/s, CPU s, peak RSS), then, in a restarted monitor on the same
// state, the incremental pass after 1% new objects (time, objects read). Skipped, with the reason,
// when no S3 server can be had (test/helpers/s3-server.ts).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { forEachLimited } from '../../src/monitor/pool.js';
import { freePort } from '../helpers/daemon.js';
import { CLI } from '../helpers/paths.js';
import { type S3Server, createBucket, s3ForBench } from '../helpers/s3-server.js';
import { type SealedTrail, sealTrail, testKey } from '../helpers/trail.js';
import { procStats, sleep } from './proc.js';

export interface MonitorRow {
  concurrency: number;
  pass: string;
  objects_listed: number;
  objects_read: number;
  seconds: number;
  objects_per_s: number;
  /** CPU of the monitor process from its start to the end of the pass. */
  cpu_s: number;
  peak_rss_mb: number;
  statuses: string;
}

interface StatusDoc {
  passes: number;
  last_pass: { duration_ms: number; objects_read: number; full: boolean } | null;
  counts: Record<string, number>;
}

const KEY = testKey('bench.monitor', 7);

/** One origin's trail: `extra` objects more than the OBJECTS first put (the new objects of later passes). */
const trailOf = (i: number, objects: number, extra: number): SealedTrail =>
  sealTrail({
    origin: `bench.monitor/pod-${String(i).padStart(4, '0')}`,
    key: KEY,
    plan: Array.from({ length: objects + extra }, () => 5),
    t0: Date.now() - 3_600_000,
  });

export async function monitorBenchmark(o: {
  origins: number;
  objects: number;
  concurrencies: number[];
}): Promise<MonitorRow[] | string> {
  const s3 = s3ForBench();
  if ('skip' in s3) return `monitor scenario skipped: ${s3.skip}`;
  const server = s3.server;
  const root = mkdtempSync(join(tmpdir(), 'tailseal-bench-monitor-'));
  try {
    const bucket = `bench-monitor-${Date.now()}`;
    const client = await createBucket(server, bucket, false);
    // One new object per run for every 5th origin: 1% of the objects (20 objects per origin).
    const runs = o.concurrencies.length;
    const t0 = performance.now();
    const trails = Array.from({ length: o.origins }, (_, i) => trailOf(i, o.objects, i % 5 === 0 ? runs : 0));
    const put = async (t: SealedTrail, from: number, to: number) => {
      for (const x of t.objects.slice(from, to)) {
        const key = `${t.origin.split('/')[1]}/${x.name}`;
        const res = await client.send('PUT', key, { body: x.body });
        if (res.status !== 200) throw new Error(`PUT ${key}: HTTP ${res.status}`);
      }
    };
    await forEachLimited(trails, 32, (t) => put(t, 0, o.objects));
    process.stderr.write(
      `monitor bench: ${o.origins} origins x ${o.objects} objects sealed and PUT in ` +
        `${((performance.now() - t0) / 1000).toFixed(1)} s\n`,
    );
    writeFileSync(join(root, 'keys.pub'), `${KEY.verifierKey}\n`);
    const rows: MonitorRow[] = [];
    let listed = o.origins * o.objects;
    for (const [run, concurrency] of o.concurrencies.entries()) {
      const stateDir = join(root, `state-${run}`);
      mkdirSync(stateDir);
      const full = await measuredPass(server, root, bucket, stateDir, concurrency);
      rows.push({ concurrency, pass: 'first (full)', objects_listed: listed, ...full });
      const fresh = trails.filter((t) => t.objects.length > o.objects);
      await forEachLimited(fresh, 32, (t) => put(t, o.objects + run, o.objects + run + 1));
      listed += fresh.length;
      const inc = await measuredPass(server, root, bucket, stateDir, concurrency);
      rows.push({ concurrency, pass: `incremental (+${fresh.length} new)`, objects_listed: listed, ...inc });
    }
    return rows;
  } finally {
    rmSync(root, { recursive: true, force: true });
    server.stop();
  }
}

/** Starts a monitor on `stateDir`, waits for its first pass to end, and stops it. */
async function measuredPass(
  server: S3Server,
  root: string,
  bucket: string,
  stateDir: string,
  concurrency: number,
): Promise<Omit<MonitorRow, 'concurrency' | 'pass' | 'objects_listed'>> {
  const port = await freePort();
  const config = join(root, `monitor-${concurrency}.yaml`);
  writeFileSync(
    config,
    `state_dir: ${stateDir}
stores:
  - { name: bench, store: "s3://${bucket}/", endpoint: "${server.endpoint}", region: ${server.region}, path_style: true }
keys: [{ match: "bench.monitor/*", files: [${join(root, 'keys.pub')}] }]
interval: 1h
concurrency: ${concurrency}
max_silence: { default: 30d }
metrics: { listen: "127.0.0.1:${port}" }
log: { level: warn }
`,
  );
  const child: ChildProcess = spawn(process.execPath, [CLI, 'monitor', '--config', config], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      ...process.env,
      AWS_ACCESS_KEY_ID: server.accessKey,
      AWS_SECRET_ACCESS_KEY: server.secretKey,
      AWS_EC2_METADATA_DISABLED: 'true',
    },
  });
  try {
    const deadline = Date.now() + 30 * 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the monitor exited (${child.exitCode}) before its first pass`);
      if (Date.now() > deadline) throw new Error('no pass ended within 30 minutes');
      const doc = await status(port);
      if (doc && doc.passes >= 1 && doc.last_pass) {
        const st = procStats(child.pid!);
        const seconds = doc.last_pass.duration_ms / 1000;
        return {
          objects_read: doc.last_pass.objects_read,
          seconds: +seconds.toFixed(2),
          objects_per_s: Math.round(doc.last_pass.objects_read / seconds),
          cpu_s: +st.cpu.toFixed(1),
          peak_rss_mb: Math.round(st.hwmMb),
          statuses: Object.entries(doc.counts)
            .filter(([, n]) => n > 0)
            .map(([k, n]) => `${k} ${n}`)
            .join(', '),
        };
      }
      await sleep(200);
    }
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
  }
}

async function status(port: number): Promise<StatusDoc | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/status`);
    return (await res.json()) as StatusDoc;
  } catch {
    return undefined; // not listening yet
  }
}
