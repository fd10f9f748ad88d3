// `npm run demo:opa [-- COUNT [FILE]]`: appends OPA-style log lines (decisions mixed with OPA's
// request/response lines) to ./var/opa/opa.log, a few per 100 ms, so a newcomer can watch
// tailseal seal them. Default: 200 decisions.
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { decisionLine, otherLine, prng } from './opa-sample.js';

const count = Number(process.argv[2] ?? 200);
const file = process.argv[3] ?? './var/opa/opa.log';
mkdirSync(dirname(file), { recursive: true });
const rnd = prng(Date.now() & 0xffffffff);
let i = 0;
const timer = setInterval(() => {
  const lines: string[] = [];
  for (let k = 0; k < 10 && i < count; k++, i++) {
    const now = new Date();
    lines.push(otherLine(i, now), decisionLine(i, rnd, now), otherLine(i + 1, now));
  }
  appendFileSync(file, lines.join('\n') + '\n');
  if (i >= count) {
    clearInterval(timer);
    process.stdout.write(`appended ${count} decisions (and ${count * 2} other OPA lines) to ${file}\n`);
  }
}, 100);
