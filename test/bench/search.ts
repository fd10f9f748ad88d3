// `npm run bench -- --scenario search`: each search sink (elasticsearch, splunk_hec, otlp) in a
// backlog beside the file sink that holds the trail, into the benchmark's receiver for its protocol
// (search-receiver.ts, its own process). Two rows per kind:
// - `backlog -> file + <kind>`: decisions/s until both sinks acknowledged everything, CPU, peak RSS;
// - the same with the receiver answering each request `--search-delay-ms` late (a slow backend): the
//   trail is done (the file sink acknowledged every object) long before the search copy, because
//   each sink has its own cursor. `trail_s` / `search_s` say when each finished. The outbox holds
//   what the slow sink has not taken, up to outbox.max_bytes (then reading would pause).
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/paths.js';
import { writeCorpus } from './corpus.js';
import { procStats, sleep } from './proc.js';
import { type Row, row } from './rows.js';
import { daemon, settleDisk, stop, workspace } from './tailseal.js';

export const SEARCH_KINDS = ['elasticsearch', 'splunk_hec', 'otlp'] as const;
type Kind = (typeof SEARCH_KINDS)[number];

async function receiver(kind: Kind, delayMs: number): Promise<{ port: number; stop: () => void }> {
  const child = spawn(
    process.execPath,
    [join(REPO_ROOT, 'dist', 'test', 'bench', 'search-receiver.js'), '--protocol', kind, '--delay-ms', String(delayMs)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const port = await new Promise<number>((res, rej) => {
    child.once('error', rej);
    child.stdout!.once('data', (d: Buffer) => res(Number(d.toString().trim())));
  });
  return { port, stop: () => child.kill('SIGTERM') };
}

const sinkYaml = (kind: Kind, port: number): string => {
  const url = `http://127.0.0.1:${port}`;
  if (kind === 'elasticsearch') return `  - { name: search, type: elasticsearch, url: "${url}" }`;
  if (kind === 'splunk_hec') return `  - { name: search, type: splunk_hec, url: "${url}", token: bench-token }`;
  return `  - { name: search, type: otlp, endpoint: "${url}" }`;
};

/** Decisions sealed, each sink's acknowledged object id and the last object id, from the state database. */
function progress(db: string): { decisions: number; local: number; search: number; last: number } | undefined {
  let d: Database.Database | undefined;
  try {
    d = new Database(db, { readonly: true, fileMustExist: true });
    const acked = (name: string) =>
      (d!.prepare('SELECT acked_id FROM sink_cursors WHERE sink = ?').get(name) as { acked_id: number } | undefined)
        ?.acked_id ?? 0;
    const last = (
      d.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'objects'").get() as { seq: number } | undefined
    )?.seq;
    const sealed = (
      d.prepare("SELECT value FROM counters WHERE name = 'decisions'").get() as { value: number } | undefined
    )?.value;
    return { decisions: sealed ?? 0, local: acked('local'), search: acked('search'), last: last ?? 0 };
  } catch {
    return undefined;
  } finally {
    d?.close();
  }
}

async function one(kind: Kind, size: number, delayMs: number): Promise<Row> {
  const r = await receiver(kind, delayMs);
  const b = workspace((w) => `  - { name: local, type: file, dir: ${w.store} }\n${sinkYaml(kind, r.port)}`);
  const corpus = writeCorpus(join(b.opa, 'opa.log'), size, 42);
  settleDisk();
  const c = daemon(b);
  const t0 = performance.now();
  let trailMs: number | undefined;
  let sealedAll = false;
  let last: ReturnType<typeof procStats>;
  for (;;) {
    await sleep(20);
    last = procStats(c.pid!);
    if (performance.now() - t0 > 30 * 60_000) throw new Error(`search bench ${kind}: timed out`);
    const s = progress(b.db);
    sealedAll ||= (s?.decisions ?? 0) >= corpus.decisions;
    if (!s || !sealedAll) continue;
    if (trailMs === undefined && s.local >= s.last && s.last > 0) trailMs = performance.now() - t0;
    if (s.search >= s.last && s.last > 0 && trailMs !== undefined) break;
  }
  const ms = performance.now() - t0;
  await stop(c);
  r.stop();
  rmSync(b.root, { recursive: true, force: true });
  const name = delayMs > 0 ? `backlog -> file + ${kind} (receiver ${delayMs} ms late)` : `backlog -> file + ${kind}`;
  return row(name, corpus.decisions, corpus.bytes, ms, last.cpu, last.hwmMb, {
    note: `trail_s ${((trailMs ?? ms) / 1000).toFixed(2)}, search_s ${(ms / 1000).toFixed(2)}`,
  });
}

/** The rows of the search scenario: each kind at full speed, then behind a slow receiver. */
export async function searchBenchmark(size: number, delayMs: number): Promise<Row[]> {
  const rows: Row[] = [];
  for (const kind of SEARCH_KINDS) {
    rows.push(await one(kind, size, 0));
    rows.push(await one(kind, size, delayMs));
  }
  return rows;
}
