// The peer the benchmark compares tailseal with: a real Fluent Bit (not an npm package; the binary's path
// comes from --peer-fluent-bit PATH or TAILSEAL_TEST_FLUENT_BIT), run with its default settings on the same
// corpus into the same collector: Flush 1; in_tail with Read_from_Head On, a JSON parser and Mem_Buf_Limit
// 64MB; out_http with Format json_lines and no date key. Two settings differ from its defaults, both so
// that it ships every line like tailseal does: Buffer_Max_Size 1MB (its default 32k drops the whole file at
// the corpus's first 64 KiB line, where tailseal's max_line_bytes is 1 MiB) and Log_Level error (quiet).
// `durable` adds its filesystem buffering (storage.type filesystem), the like-for-like of tailseal's outbox.
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { toolFromEnv } from '../helpers/tools.js';

function isProgram(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The Fluent Bit binary to compare with, or undefined (no peer rows). */
export function peerBinary(args: string[]): string | undefined {
  const i = args.indexOf('--peer-fluent-bit');
  if (i >= 0) {
    const path = args[i + 1];
    if (!path || !isProgram(path)) throw new Error(`--peer-fluent-bit needs the path of a Fluent Bit binary: ${path}`);
    return path;
  }
  return toolFromEnv('TAILSEAL_TEST_FLUENT_BIT');
}

export interface PeerRun {
  /** the Fluent Bit binary */
  bin: string;
  /** a directory of this run for its config (and its filesystem buffer) */
  dir: string;
  /** the log files to tail, a glob */
  logs: string;
  /** the collector's port */
  port: number;
  durable: boolean;
}

export function fluentBitConfig(r: PeerRun): string {
  const storage = join(r.dir, 'fluent-bit-storage');
  return `[SERVICE]
    Flush        1
    Log_Level    error
    Parsers_File ${join(r.dir, 'parsers.conf')}
${r.durable ? `    storage.path ${storage}\n` : ''}
[INPUT]
    Name             tail
    Path             ${r.logs}
    Read_from_Head   On
    Parser           json
    Mem_Buf_Limit    64MB
    Buffer_Max_Size  1MB
${r.durable ? '    storage.type     filesystem\n' : ''}
[OUTPUT]
    Name           http
    Match          *
    Host           127.0.0.1
    Port           ${r.port}
    URI            /objects
    Format         json_lines
    Json_Date_Key  false
`;
}

/** Writes the config into `dir` and starts Fluent Bit. */
export function startFluentBit(r: PeerRun): ChildProcess {
  mkdirSync(r.dir, { recursive: true });
  writeFileSync(join(r.dir, 'parsers.conf'), '[PARSER]\n    Name   json\n    Format json\n');
  const config = join(r.dir, 'fluent-bit.conf');
  writeFileSync(config, fluentBitConfig(r));
  const fb = spawn(r.bin, ['-q', '-c', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  // Its errors reach the bench's stderr when it exits; the notice of the SIGTERM that ends every run
  // does not (it comes in several writes, so the filter works on whole lines at the end).
  let err = '';
  fb.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-65536)));
  fb.once('close', () => {
    const text = err
      .split('\n')
      .filter((l) => l.trim() !== '' && !l.includes('caught signal (SIGTERM)'))
      .join('\n');
    if (text) process.stderr.write(`fluent-bit: ${text}\n`);
  });
  return fb;
}
