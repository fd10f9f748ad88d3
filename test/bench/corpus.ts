// A deterministic corpus of OPA console lines for the benchmark: compact JSON with sorted keys,
// ~0.5 KiB typical decisions, some with 4 KiB and 64 KiB inputs, ~5% other OPA log lines.
import { closeSync, openSync, writeSync } from 'node:fs';
import { decisionLine, otherLine, prng } from '../helpers/opa-sample.js';

export interface CorpusStats {
  lines: number;
  decisions: number;
  bytes: number;
}

/** A decision line whose input is padded to about `inputBytes` (for the 4 KiB / 64 KiB cases). */
function padded(i: number, rnd: () => number, inputBytes: number, writtenAt?: number): string {
  const line = decisionLine(i, rnd, writtenAt === undefined ? undefined : new Date(writtenAt));
  return inputBytes <= 0 ? line : line.replace('"input":{', `"input":{"body":"${'x'.repeat(inputBytes)}",`);
}

/** One corpus line: a decision (95%) or another OPA line (5%). `writtenAt` goes into the line. */
export function corpusLine(i: number, rnd: () => number, writtenAt?: number): { line: string; decision: boolean } {
  const r = rnd();
  if (r < 0.05) return { line: otherLine(i), decision: false };
  const size = r > 0.9995 ? 64 * 1024 : r > 0.99 ? 4 * 1024 : 0;
  let line = padded(i, rnd, size, writtenAt);
  if (writtenAt !== undefined) line = line.replace('"level":"info"', `"level":"info","written_at_ms":${writtenAt}`);
  return { line, decision: true };
}

/** Writes `lines` corpus lines to `file` (seeded, so every run writes the same bytes). */
export function writeCorpus(file: string, lines: number, seed: number): CorpusStats {
  const rnd = prng(seed);
  const fd = openSync(file, 'w');
  const stats: CorpusStats = { lines: 0, decisions: 0, bytes: 0 };
  let batch: string[] = [];
  const flush = () => {
    const buf = Buffer.from(batch.join('\n') + '\n');
    writeSync(fd, buf);
    stats.bytes += buf.length;
    batch = [];
  };
  for (let i = 0; i < lines; i++) {
    const { line, decision } = corpusLine(i, rnd);
    batch.push(line);
    stats.lines++;
    if (decision) stats.decisions++;
    if (batch.length === 5000) flush();
  }
  if (batch.length) flush();
  closeSync(fd);
  return stats;
}
