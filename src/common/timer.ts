// Timers for configured durations. Node's setTimeout/setInterval treat a delay above 2^31-1 ms
// (about 24.8 days) as 1 ms, with only a warning: a long configured wait would fire at once and
// then in a tight loop. The config schema bounds durations (units.ts MAX_TIMER_MS); these helpers
// keep a longer wait correct anyway (a sum of two bounded durations, a caller's computation).
import { MAX_TIMER_MS } from './units.js';

/** A timer from setLongTimeout: `clear()` cancels it, `unref()` lets the process exit meanwhile. */
export interface LongTimer {
  clear(): void;
  unref(): LongTimer;
}

/**
 * Calls `fn` once after `ms` (any length): a wait beyond the timer limit is chained in steps of
 * at most `stepMs`, so it never fires early. `stepMs` is only lowered by tests.
 */
export function setLongTimeout(fn: () => void, ms: number, stepMs = MAX_TIMER_MS): LongTimer {
  const due = Date.now() + Math.max(0, ms);
  let unref = false;
  let handle: NodeJS.Timeout;
  const arm = (left: number) => {
    handle = setTimeout(
      () => {
        const rest = due - Date.now();
        if (rest > 0) arm(rest);
        else fn();
      },
      Math.min(left, stepMs),
    );
    if (unref) handle.unref();
  };
  arm(Math.max(0, ms));
  const timer: LongTimer = {
    clear: () => clearTimeout(handle),
    unref: () => {
      unref = true;
      handle.unref();
      return timer;
    },
  };
  return timer;
}

/** A delay for an API that takes one (AbortSignal.timeout, setInterval): capped at the timer limit. */
export function timerDelay(ms: number): number {
  return Math.min(Math.max(0, ms), MAX_TIMER_MS);
}
