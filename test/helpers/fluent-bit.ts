// A real Fluent Bit (TAILSEAL_TEST_FLUENT_BIT, set by .ci/run) as the receiver of the search sinks'
// protocols in tests: its `elasticsearch` (Bulk API), `splunk` (HEC) and `opentelemetry` (OTLP/HTTP)
// inputs on 127.0.0.1, each writing what it received through `[OUTPUT] Name file` into a folder the
// test reads back (reference notes: real-tools.md). Without the variable the suites skip, printing why.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { toolFromEnv } from './tools.js';

/** The binary, or undefined (the reason to print then is SKIP_NO_FLUENT_BIT). */
export const fluentBitBinary = (): string | undefined => toolFromEnv('TAILSEAL_TEST_FLUENT_BIT');
export const SKIP_NO_FLUENT_BIT =
  'real Fluent Bit not run: set TAILSEAL_TEST_FLUENT_BIT to a fluent-bit binary (.ci/run does) to run this suite';

export interface FluentBit {
  /** The folder its file output writes to: one file per tag. */
  outDir: string;
  child: ChildProcess;
  /** Everything it printed. */
  output: () => string;
  /** The lines its file output wrote for `tag` so far (none yet: []). */
  lines(tag: string): string[];
  stop(): Promise<void>;
}

/**
 * Starts Fluent Bit with `inputs` (INPUT sections: Name, Listen, Port ..., each with its `Tag`) and a
 * file output per tag (`format`: Fluent Bit's `Format` of out_file, e.g. `plain` or `template`), and
 * waits until every port in `ports` accepts connections (bounded).
 */
export async function startFluentBit(
  bin: string,
  dir: string,
  inputs: string,
  ports: number[],
  outputs: { tag: string; format?: string; extra?: string }[],
): Promise<FluentBit> {
  const outDir = join(dir, 'received');
  mkdirSync(outDir, { recursive: true });
  const conf = join(dir, 'fluent-bit.conf');
  const out = outputs
    .map(
      (o) =>
        `[OUTPUT]\n    Name file\n    Match ${o.tag}\n    Path ${outDir}\n    File ${o.tag}\n` +
        `${o.format ? `    Format ${o.format}\n` : ''}${o.extra ?? ''}`,
    )
    .join('\n');
  writeFileSync(conf, `[SERVICE]\n    Flush 0.2\n    Log_Level info\n\n${inputs}\n${out}\n`);
  const child = spawn(bin, ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  let printed = '';
  child.stdout.on('data', (b: Buffer) => (printed += b.toString()));
  child.stderr.on('data', (b: Buffer) => (printed += b.toString()));
  const fb: FluentBit = {
    outDir,
    child,
    output: () => printed,
    lines(tag) {
      if (!readdirSync(outDir).includes(tag)) return [];
      return readFileSync(join(outDir, tag), 'utf8')
        .split('\n')
        .filter((l) => l !== '');
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
  for (const port of ports) {
    const end = Date.now() + 15_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`fluent-bit exited ${child.exitCode}:\n${printed}`);
      if (await accepts(port)) break;
      if (Date.now() > end) {
        await fb.stop();
        throw new Error(`fluent-bit did not listen on ${port} within 15 s:\n${printed}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return fb;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}
