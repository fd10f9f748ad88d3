// Appends corpus lines to a log at a steady rate, each decision carrying its write time
// (`written_at_ms`), as OPA would write them while serving.
import { appendFileSync } from 'node:fs';
import { prng } from '../helpers/opa-sample.js';
import { corpusLine } from './corpus.js';
import { sleep } from './proc.js';

export interface Written {
  lines: number;
  decisions: number;
  bytes: number;
}

/** Writes `rate` lines/s for `seconds` (every 10 ms the slice due); `tick` runs between writes. */
export async function writeAtRate(log: string, rate: number, seconds: number, tick = () => {}): Promise<Written> {
  const rnd = prng(7);
  const w: Written = { lines: 0, decisions: 0, bytes: 0 };
  const start = Date.now();
  let nextWrite = start;
  while (Date.now() - start < seconds * 1000) {
    const now = Date.now();
    const lines: string[] = [];
    while (nextWrite <= now) {
      for (let k = 0; k < rate / 100; k++) {
        const l = corpusLine(w.lines++, rnd, Date.now());
        if (l.decision) w.decisions++;
        lines.push(l.line);
      }
      nextWrite += 10;
    }
    if (lines.length) {
      const text = lines.join('\n') + '\n';
      w.bytes += text.length;
      appendFileSync(log, text);
    }
    tick();
    await sleep(5);
  }
  return w;
}
