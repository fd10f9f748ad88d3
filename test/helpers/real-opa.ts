// A real OPA server for integration tests (OPA is not on npm or in Debian): found through
// TAILSEAL_TEST_OPA, which .ci/run sets; tests without it skip with the reason. OPA listens on a
// free 127.0.0.1 port; its decisions are asked through its REST API and their decision_ids kept.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, waitFor } from './daemon.js';
import { toolFromEnv } from './tools.js';

/** The OPA binary, or undefined (then `NO_OPA` says why the test is skipped). */
export const OPA_BIN = toolFromEnv('TAILSEAL_TEST_OPA');
export const NO_OPA = 'real OPA not run: set TAILSEAL_TEST_OPA to an OPA 1.8.0 binary (.ci/run sets it)';

/** The policy the tests ask (`authz/allow`) and OPA's mask policy: `input.password` is erased. */
export const POLICIES = {
  'authz.rego': 'package authz\n\ndefault allow := false\n\nallow if input.method == "GET"\n',
  'mask.rego': 'package system.log\n\nmask contains "/input/password"\n',
};

export interface RealOpa {
  port: number;
  child: ChildProcess;
  /** OPA's stdout and stderr, unless stderr goes to a file. */
  out: string[];
  exited: Promise<number | null>;
}

/**
 * Starts `opa run --server` in `dir` with `config` (YAML) and POLICIES; resolves once /health
 * answers. `stderrFile`: OPA's stderr (its console decision log) is appended to that file, as
 * `2>> file` does.
 */
export async function startOpa(
  dir: string,
  config: string,
  o: { stderrFile?: string; grace?: number } = {},
): Promise<RealOpa> {
  mkdirSync(join(dir, 'policies'), { recursive: true });
  for (const [name, text] of Object.entries(POLICIES)) writeFileSync(join(dir, 'policies', name), text);
  writeFileSync(join(dir, 'opa.yaml'), config);
  const port = await freePort();
  const args = ['run', '--server', `--addr=127.0.0.1:${port}`, `--config-file=${join(dir, 'opa.yaml')}`];
  args.push(`--shutdown-grace-period=${o.grace ?? 20}`, join(dir, 'policies'));
  const fd = o.stderrFile === undefined ? undefined : openSync(o.stderrFile, 'a');
  const child = spawn(OPA_BIN!, args, { stdio: ['ignore', 'pipe', fd ?? 'pipe'], env: { PATH: process.env.PATH } });
  if (fd !== undefined) closeSync(fd); // the child holds its own copy
  const out: string[] = [];
  child.stdout!.on('data', (b: Buffer) => out.push(b.toString()));
  child.stderr?.on('data', (b: Buffer) => out.push(b.toString()));
  const exited = new Promise<number | null>((res) => child.on('close', (code) => res(code)));
  const opa = { port, child, out, exited };
  let up = false;
  await waitFor(() => {
    if (child.exitCode !== null) throw new Error(`OPA exited: ${out.join('')}`);
    void fetch(`http://127.0.0.1:${port}/health`).then(
      (r) => (up = r.ok),
      () => undefined,
    );
    return up;
  }, 'OPA to answer /health');
  return opa;
}

/** SIGTERM (OPA uploads what it holds, within its grace period) or SIGKILL; resolves on exit. */
export async function stopOpa(opa: RealOpa, signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
  if (opa.child.exitCode === null && opa.child.signalCode === null) opa.child.kill(signal);
  await opa.exited;
}

/** Asks `authz/allow` for `input`; returns the decision_id of OPA's answer. */
export async function decide(opa: RealOpa, input: object): Promise<string> {
  const url = `http://127.0.0.1:${opa.port}/v1/data/authz/allow`;
  const res = await fetch(url, { method: 'POST', body: JSON.stringify({ input }) });
  const body = (await res.json()) as { decision_id?: string; result?: unknown };
  if (res.status !== 200 || typeof body.decision_id !== 'string') {
    throw new Error(`OPA answered ${res.status}: ${JSON.stringify(body).slice(0, 200)}`);
  }
  return body.decision_id;
}

/**
 * Asks `n` decisions, `concurrency` at a time, the i-th (from `first`) with input `input(i)`;
 * returns decision_id -> i. `during(done)` runs after each answer (e.g. to kill tailseal midway).
 */
export async function decideMany(
  opa: RealOpa,
  first: number,
  n: number,
  input: (i: number) => object,
  o: { concurrency?: number; during?: (done: number) => Promise<void> | void } = {},
): Promise<Map<string, number>> {
  const ids = new Map<string, number>();
  let next = first;
  const worker = async () => {
    while (next < first + n) {
      const i = next++;
      ids.set(await decide(opa, input(i)), i);
      await o.during?.(ids.size);
    }
  };
  await Promise.all(Array.from({ length: o.concurrency ?? 4 }, worker));
  return ids;
}

/** The input of decision i: `password` is what OPA's mask policy erases before logging. */
export function askInput(i: number): object {
  return { method: i % 3 === 0 ? 'POST' : 'GET', user: `u${i}`, password: `secret-${i}` };
}
