// OPA console lines for tests and benchmarks: the demo's generator (src/cli/demo-lines.ts) with a
// fixed clock, so that a seed gives the same bytes on every run (line i is stamped 7 ms after i-1).
import * as demo from '../../src/cli/demo-lines.js';

export { prng } from '../../src/cli/demo-lines.js';

/** The time stamped on generated line `i`: 2026-11-29T12:00:00Z + 7 ms per line. */
function clock(i: number): Date {
  return new Date(Date.UTC(2026, 10, 29, 12, 0, 0) + i * 7);
}

/** Decision line `i` as OPA's console logger writes it (no trailing newline). */
export function decisionLine(i: number, rnd: () => number, now = clock(i)): string {
  return demo.decisionLine(i, rnd, now);
}

/** One of OPA's other log lines on the same stream (not a decision). */
export function otherLine(i: number, now = clock(i)): string {
  return demo.otherLine(i, now);
}
