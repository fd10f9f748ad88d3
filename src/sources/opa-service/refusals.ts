// Reporting refused requests without letting a flood of them flood the log: every refusal is
// counted in tailseal_opa_service_refused_total; at most BURST lines are logged per WINDOW_MS,
// the next logged line says how many were left out; each line holds a bounded path and message
// and never the body's bytes (refusal messages are built from positions and limits only).
import type { Logger } from 'pino';
import type { RequestError } from './body.js';

/** Log lines per window; the rest is only counted. */
const BURST = 10;
const WINDOW_MS = 10_000;
/** Longest path and message logged (a URL may be 16 KB; the message is ours but may quote a header). */
const MAX_PATH = 128;
const MAX_MESSAGE = 300;

/** `s` cut to `max` characters, saying so. */
export function capped(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max)}...(${s.length} chars)`;
}

export class RefusalReporter {
  private windowStart = -Infinity;
  private logged = 0;
  private suppressed = 0;

  constructor(
    private readonly input: string,
    private readonly log: Logger,
    private readonly count: ((input: string, reason: string) => void) | undefined,
  ) {}

  report(e: RequestError, path: string | undefined, now = Date.now()): void {
    this.count?.(this.input, e.reason);
    // 503s are load (the outbox or the budget is full) and said by their own lines and metrics.
    if (e.status === 503) return;
    if (now - this.windowStart >= WINDOW_MS) {
      this.windowStart = now;
      this.logged = 0;
    }
    if (this.logged >= BURST) {
      this.suppressed++;
      return;
    }
    this.logged++;
    const fields: Record<string, unknown> = {
      input: this.input,
      status: e.status,
      code: e.reason,
      path: capped(path ?? '', MAX_PATH),
      err: capped(e.message, MAX_MESSAGE),
    };
    if (this.suppressed > 0) fields.suppressed = this.suppressed;
    this.suppressed = 0;
    this.log.warn(fields, 'Refused a decision-log upload.');
  }
}
