// The one retry classifier every sink shares. tailseal never drops an object: every failure is
// retried. The class decides the backoff and how loudly it is reported:
// - retryable: transient (network, 5xx, 429, busy disk); exponential backoff with full jitter.
// - permanent: retrying soon will not help (403, bad config, read-only store); logged as an
//   error on every attempt, retried at the maximum backoff until an operator fixes it.
// - conflict: the store holds different bytes under the object's name; never overwritten.
import { z } from 'zod';
import { duration } from '../common/units.js';
import { TailsealError } from '../errors.js';

export type RetryClass = 'retryable' | 'permanent' | 'conflict';

// ABORT_ERR: a request cut off by its own deadline (AbortSignal.timeout) is a timeout.
const RETRYABLE_ERRNO = new Set([
  'ABORT_ERR',
  'EAGAIN',
  'EBUSY',
  'EINTR',
  'EIO',
  'EMFILE',
  'ENFILE',
  'ENOSPC',
  'EDQUOT',
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);
/** undici codes that mean the request itself is wrong (config), not that the network failed. */
const PERMANENT_UNDICI = new Set(['UND_ERR_INVALID_ARG', 'UND_ERR_NOT_SUPPORTED', 'UND_ERR_INVALID_RETURN_VALUE']);
const RETRYABLE_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);

/** Classifies an HTTP status (for HTTP-based sinks). */
export function classifyStatus(status: number): RetryClass {
  if (status === 412 || status === 409) return 'conflict';
  return RETRYABLE_STATUS.has(status) || status >= 500 ? 'retryable' : 'permanent';
}

/** Classifies any error a sink throws. */
export function classifyError(err: unknown): RetryClass {
  if (err instanceof TailsealError) {
    if (err.code === 'SINK_CONFLICT') return 'conflict';
    // STORE_UNSAFE: a symlinked folder planted in a file sink; only an operator can fix it.
    if (err.code === 'SINK_PERMANENT' || err.code === 'STORE_UNSAFE') return 'permanent';
    return 'retryable';
  }
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    if (PERMANENT_UNDICI.has(code)) return 'permanent';
    if (RETRYABLE_ERRNO.has(code) || code.startsWith('UND_ERR_')) return 'retryable';
    return 'permanent';
  }
  return 'retryable';
}

/** The server's requested minimum wait carried by an error (net/errors.ts statusError), if any. */
export function retryAfterOf(err: unknown): number | undefined {
  const v = (err as { details?: { retryAfterMs?: unknown } } | null)?.details?.retryAfterMs;
  return typeof v === 'number' ? v : undefined;
}

export interface Backoff {
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: Backoff = { baseMs: 200, maxMs: 30_000 };

/** The `retry:` block every sink's config accepts. */
export const retrySchema = z
  .strictObject({
    initial_backoff: duration(1)
      .default(DEFAULT_BACKOFF.baseMs)
      .describe('First retry delay ceiling; doubles per attempt, full jitter.'),
    max_backoff: duration(1)
      .default(DEFAULT_BACKOFF.maxMs)
      .describe(
        'Longest wait between attempts (permanent errors and conflicts are parked instead, until `tailseal requeue`).',
      ),
  })
  .prefault({})
  .transform((r): Backoff => ({ baseMs: r.initial_backoff, maxMs: Math.max(r.initial_backoff, r.max_backoff) }));

/** Delay before attempt `attempt` (1-based): full jitter over an exponential ceiling. */
export function retryDelay(
  cls: RetryClass,
  attempt: number,
  b: Backoff = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number {
  if (cls !== 'retryable') return b.maxMs;
  const ceiling = Math.min(b.maxMs, b.baseMs * 2 ** Math.min(attempt - 1, 20));
  return Math.max(b.baseMs / 4, Math.floor(random() * ceiling));
}
