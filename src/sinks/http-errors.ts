// Turning an HTTP answer into a coded sink error, shared by every HTTP-based sink, so that the
// one retry classifier (retry.ts) sees the same codes and throttle hints everywhere.
import { TailsealError } from '../errors.js';
import { classifyStatus } from './retry.js';

/** The longest server-requested wait we honour; a larger Retry-After is clamped to this. */
export const MAX_RETRY_AFTER_MS = 10 * 60_000;

/**
 * Parses a Retry-After header: delta-seconds or an HTTP-date (RFC 9110 §10.2.3).
 * Returns milliseconds to wait, or undefined when absent or unparsable.
 */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v.trim() === '') return undefined;
  if (/^\s*\d+\s*$/.test(v)) return Math.min(Number(v) * 1000, MAX_RETRY_AFTER_MS);
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.min(Math.max(0, at - now), MAX_RETRY_AFTER_MS);
}

/** A coded error for a non-2xx answer; `detail` is a short excerpt of the body for the log. */
export function statusError(sink: string, what: string, status: number, headers: Record<string, string | string[] | undefined>, detail = ''): TailsealError {
  const cls = classifyStatus(status);
  const code = cls === 'conflict' ? 'SINK_CONFLICT' : cls === 'permanent' ? 'SINK_PERMANENT' : 'SINK_RETRYABLE';
  const retryAfterMs = parseRetryAfter(headers['retry-after']);
  const excerpt = detail.replace(/\s+/g, ' ').trim().slice(0, 300);
  return new TailsealError(code, `sink ${sink}: ${what} answered HTTP ${status}${excerpt ? `: ${excerpt}` : ''}`, {
    details: { status, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) },
  });
}

/** The server's requested minimum wait carried by an error, if any. */
export function retryAfterOf(err: unknown): number | undefined {
  const v = (err as { details?: { retryAfterMs?: unknown } } | null)?.details?.retryAfterMs;
  return typeof v === 'number' ? v : undefined;
}
