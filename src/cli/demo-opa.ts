// `npm run demo:opa [-- COUNT [FILE]]`: appends OPA-style log lines (decisions mixed with OPA's
// request/response lines) to ./var/opa/opa.log, a few per 100 ms, so a newcomer can watch
// tailseal seal them. Default: 200 decisions.
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { decisionLine, otherLine, prng } from './demo-lines.js';

const USAGE = `usage: npm run demo:opa [-- COUNT [FILE]]
  appends COUNT OPA decisions (default 200), mixed with OPA's other log lines, to FILE
  (default ./var/opa/opa.log), ten every 100 ms, then exits.
`;

/** COUNT and FILE from argv, or the reason they are not usable (anything else: no file is touched). */
function parseArgs(argv: string[]): { count: number; file: string } | { help: boolean; error?: string } {
  if (argv.some((a) => a === '-h' || a === '--help')) return { help: true };
  const bad = argv.find((a) => a.startsWith('-'));
  if (bad !== undefined) return { help: false, error: `unknown option ${bad}` };
  if (argv.length > 2) return { help: false, error: 'too many arguments' };
  const count = Number(argv[0] ?? 200);
  // A non-number would never reach `count`: the demo would append forever.
  if (!Number.isSafeInteger(count) || count < 1) {
    return { help: false, error: `COUNT must be a positive integer, not ${argv[0]}` };
  }
  return { count, file: argv[1] ?? './var/opa/opa.log' };
}

const args = parseArgs(process.argv.slice(2));
if (!('count' in args)) {
  if (args.error) process.stderr.write(`demo-opa: ${args.error}\n${USAGE}`);
  else process.stdout.write(USAGE);
  process.exit(args.error ? 2 : 0);
}
const { count, file } = args;
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
