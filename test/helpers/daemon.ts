// Integration-test harness: a temporary workspace with a config and a key, the real daemon as a
// child process (killed with real signals), and readers for what reached the store.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decisionLine, prng } from './opa-sample.js';
import { writeKeyPair } from '../../src/seal/keyfile.js';
import type { Envelope } from '../../src/trail/envelope.js';
import { parseObject } from '../../src/seal/gzip.js';
import { CLI } from './paths.js';

export interface Workspace {
  root: string;
  opaDir: string;
  storeDir: string;
  stateDir: string;
  keyFile: string;
  pubFile: string;
  configFile: string;
  cleanup: () => void;
}

/** Settings that keep integration tests fast; `extra` is YAML appended to the input/sink blocks. */
export interface WorkspaceOptions {
  maxLineBytes?: string;
  outboxMaxBytes?: string;
  glob?: string;
  rotateWait?: string;
  readChunkBytes?: string;
  /** Replaces the default file sink: the YAML list items under `sinks:` (indented two spaces). */
  sinksYaml?: string;
  /** Replaces the default file input: the YAML list items under `inputs:` (indented two spaces). */
  inputsYaml?: string;
  /** Top-level YAML appended to the config (e.g. a `recovery:` block). */
  extraYaml?: string;
}

/** A temp workspace with a key pair and a config tailing <root>/opa/<glob> into <root>/store. */
export function makeWorkspace(o: WorkspaceOptions = {}): Workspace {
  const root = mkdtempSync(join(tmpdir(), 'tailseal-it-'));
  const w: Workspace = {
    root,
    opaDir: join(root, 'opa'),
    storeDir: join(root, 'store'),
    stateDir: join(root, 'state'),
    keyFile: join(root, 'keys', 'signer.key'),
    pubFile: join(root, 'keys', 'signer.key.pub'),
    configFile: join(root, 'tailseal.yaml'),
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
  mkdirSync(w.opaDir, { recursive: true });
  writeKeyPair(w.keyFile, 'tailseal.test/it');
  writeFileSync(
    w.configFile,
    `state_dir: ${w.stateDir}
origin: tailseal.test/it
signing:
  key_file: ${w.keyFile}
inputs:
${
  o.inputsYaml ??
  `  - name: opa
    type: file
    paths: ["${join(w.opaDir, o.glob ?? '*.log')}"]
    max_line_bytes: ${o.maxLineBytes ?? '1MiB'}
    poll_interval: 50ms
    rotate_wait: ${o.rotateWait ?? '500ms'}
    read_chunk_bytes: ${o.readChunkBytes ?? '1MiB'}`
}
checkpoint:
  entries: 500
  interval: 100ms
  heartbeat: 1h
outbox:
  max_bytes: ${o.outboxMaxBytes ?? '128MiB'}
sinks:
${
  o.sinksYaml ??
  `  - name: local
    type: file
    dir: ${w.storeDir}
    retry:
      initial_backoff: 20ms
      max_backoff: 200ms`
}
shutdown:
  grace: 5s
log:
  level: debug
${o.extraYaml?.includes('metrics:') ? '' : 'metrics:\n  listen: 127.0.0.1:0\n'}${o.extraYaml ?? ''}`,
  );
  return w;
}

export interface DaemonProc {
  child: ChildProcess;
  /** Every log line so far (stdout and stderr). */
  logs: string[];
  exited: Promise<number | null>;
}

/** Starts `tailseal run` on the workspace's config as a real child process (`as`: another user). */
export function startDaemon(w: Workspace, env: NodeJS.ProcessEnv = {}, as?: { uid: number; gid: number }): DaemonProc {
  return startCli(['run', '--config', w.configFile], env, as);
}

/** Starts `tailseal <args>` as a real child process, collecting its log lines (e.g. `monitor --config f`). */
export function startCli(args: string[], env: NodeJS.ProcessEnv = {}, as?: { uid: number; gid: number }): DaemonProc {
  const child = spawn(process.execPath, [CLI, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
    ...as,
  });
  const logs: string[] = [];
  const collect = (buf: Buffer) =>
    logs.push(
      ...buf
        .toString('utf8')
        .split('\n')
        .filter((l) => l !== ''),
    );
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<number | null>((res) =>
    child.on('close', (code, signal) => res(code ?? (signal ? -1 : null))),
  );
  return { child, logs, exited };
}

/** `tailseal run --config <config> [...args]` started by `sh -c 'umask <umask>; exec node ...'`. */
export function startUnderUmask(config: string, umask: string, args: string[] = []): DaemonProc {
  const script = `umask ${umask}; exec "$0" "$@"`;
  const argv = ['-c', script, process.execPath, CLI, 'run', '--config', config, ...args];
  const child = spawn('sh', argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: string[] = [];
  const collect = (buf: Buffer) =>
    logs.push(
      ...buf
        .toString('utf8')
        .split('\n')
        .filter((l) => l !== ''),
    );
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = new Promise<number | null>((res) => {
    child.on('close', (code, signal) => res(code ?? (signal ? -1 : null)));
  });
  return { child, logs, exited };
}

/** Sends SIGTERM and resolves with the exit code. */
export async function stopDaemon(d: DaemonProc): Promise<number | null> {
  d.child.kill('SIGTERM');
  return d.exited;
}

/** kill -9: no chance to clean up. */
export async function killDaemon(d: DaemonProc): Promise<void> {
  d.child.kill('SIGKILL');
  await d.exited;
}

/** Polls `cond` every 25 ms until it holds; fails after `timeoutMs` with `what` (bounded). */
export async function waitFor(cond: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Every entry in the store's objects (all streams), in (stream, seq) order. */
export function storeEntries(storeDir: string): Envelope[] {
  const out: Envelope[] = [];
  const walk = (d: string): void => {
    let ents;
    try {
      ents = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of ents) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.ndjson(\.gz)?$/.test(e.name) && !e.name.startsWith('.'))
        out.push(...parseObject(readFileSync(p)).entries.map((x) => x.envelope));
    }
  };
  walk(storeDir);
  return out.sort((a, b) => a.stream.localeCompare(b.stream) || a.seq - b.seq);
}

/** Payloads of the stored decision entries, as strings, in seq order. */
export function storedDecisions(storeDir: string): string[] {
  return storeEntries(storeDir)
    .filter((e) => e.kind === 'decision')
    .map((e) => Buffer.from(e.payload).toString('utf8'));
}

/** Runs the CLI synchronously. */
export function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * A documented `tailseal ...` command's arguments, its example paths replaced by the workspace's: the
 * store and the public key always, `files` for the others it names (e.g. 'proof.json').
 */
export function docArgs(command: string, w: Workspace, files: Record<string, string> = {}): string[] {
  const [bin, ...args] = command.split(' ');
  if (bin !== 'tailseal') throw new Error(`not a tailseal command: ${command}`);
  const paths: Record<string, string> = {
    '/var/lib/tailseal/store': w.storeDir,
    'signer.key.pub': w.pubFile,
    ...files,
  };
  return args.map((a) => paths[a] ?? a);
}

/** `tailseal verify` on the workspace's store; returns the CLI result. */
export function verifyStore(
  w: Workspace,
  extra: string[] = [],
): { status: number | null; stdout: string; stderr: string } {
  return cli(['verify', '--store', w.storeDir, '--public-key', w.pubFile, ...extra]);
}

/** Parsed JSON log lines whose msg starts with `prefix`. */
export function logsWith(d: DaemonProc, prefix: string): Record<string, unknown>[] {
  return d.logs.flatMap((l) => {
    try {
      const o = JSON.parse(l) as Record<string, unknown>;
      return typeof o.msg === 'string' && o.msg.startsWith(prefix) ? [o] : [];
    } catch {
      return [];
    }
  });
}

/** Ports freePort handed out in this process: the kernel may offer a released port again at once. */
const givenPorts = new Set<number>();

/**
 * A TCP port free on 127.0.0.1 right now (bound and released; loopback only), never one this process
 * was given before: two calls in a row once returned the same port, and the daemon's metrics and its
 * OPA receiver then fought over it (EADDRINUSE in CI).
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const port = (srv.address() as AddressInfo).port;
    await new Promise((r) => srv.close(r));
    if (givenPorts.has(port)) continue;
    givenPorts.add(port);
    return port;
  }
  throw new Error('no fresh free port on 127.0.0.1 in 50 attempts');
}

/** Waits until `n` opa_service receivers of `d` listen (their start-up log line). */
export async function receiversListening(d: DaemonProc, n = 1): Promise<void> {
  await waitFor(() => logsWith(d, 'Receiving OPA decision-log uploads.').length === n, `${n} receiver(s) to listen`);
}

/** An http sink aimed at `port` on 127.0.0.1, retrying fast: with nothing listening, the outbox keeps all. */
export function retryingHttpSinkYaml(port: number): string {
  return `  - name: remote
    type: http
    url: http://127.0.0.1:${port}/ingest
    retry: { initial_backoff: 50ms, max_backoff: 100ms }`;
}

/** OPA decision lines from a seeded generator, `count` at a time, each ending in `\n`, numbered on. */
export function decisionText(seed: number): (count: number) => string {
  const rnd = prng(seed);
  let n = 0;
  return (count) => Array.from({ length: count }, () => `${decisionLine(n++, rnd)}\n`).join('');
}
