// Durations ("250ms", "5s", "1m", "1h") and byte sizes ("64KiB", "256MiB", "1GB") as config values.
// Plain numbers are accepted too: milliseconds for durations, bytes for sizes. Also the rule for
// names of inputs, streams and sinks, which become path segments and metric labels.
import { z } from 'zod';

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};

function parseUnit(value: unknown, units: Record<string, number>): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value !== 'string') return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(value);
  if (!m) return undefined;
  const unit = units[m[2]!.toLowerCase()];
  return unit === undefined ? undefined : Math.round(Number(m[1]) * unit);
}

/** Parses a duration to milliseconds; undefined when it is not one. */
export function parseDuration(value: unknown): number | undefined {
  return parseUnit(value, DURATION_UNITS);
}

/** Parses a byte size to bytes; undefined when it is not one. */
export function parseSize(value: unknown): number | undefined {
  return parseUnit(value, SIZE_UNITS);
}

/**
 * The longest delay a Node timer holds: setTimeout/setInterval treat anything longer as 1 ms
 * (a 30-day audit.interval ran ~550 audits/s). Durations that reach a timer are bounded by it.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;
/** Bound for durations only compared with timestamps (object lock retention, audit.full_interval): 100 years. */
export const MAX_SPAN_MS = 36_500 * 86_400_000;

/** `ms` in the largest unit that divides it, for messages ("24d", "90s", "2147483647ms"). */
export function formatDuration(ms: number): string {
  for (const [u, f] of Object.entries(DURATION_UNITS).reverse()) if (ms % f === 0) return `${ms / f}${u}`;
  return `${ms}ms`;
}

/** `bytes` in the largest binary unit that divides it ("8MiB", "32KiB", "1000"). */
export function formatSize(bytes: number): string {
  for (const [u, f] of [
    ['GiB', 1024 ** 3],
    ['MiB', 1024 ** 2],
    ['KiB', 1024],
  ] as const) {
    if (bytes >= f && bytes % f === 0) return `${bytes / f}${u}`;
  }
  return `${bytes}`;
}

/**
 * `ms` in the unit of `like` (a duration as the user wrote it: "1d" -> days), rounded down to
 * three decimals so that a value under a limit never prints as the limit ("0.999d", "1.083d").
 */
export function formatDurationLike(ms: number, like: string): string {
  const unit = /([a-zA-Z]*)\s*$/.exec(like)![1]!.toLowerCase() || 'ms';
  const f = DURATION_UNITS[unit] ?? 1;
  return `${Math.floor((ms / f) * 1000) / 1000}${f === 1 ? 'ms' : unit}`;
}

/**
 * A zod schema for a duration (result: milliseconds, from `min` to `max`). The default `max` is
 * the timer limit; pass MAX_SPAN_MS for a duration only compared with timestamps.
 */
export const duration = (min = 0, max = MAX_TIMER_MS) =>
  z
    .union([z.string(), z.number()])
    .transform((v, ctx) => {
      const ms = parseDuration(v);
      if (ms === undefined || !Number.isSafeInteger(ms) || ms < min) {
        ctx.addIssue({
          code: 'custom',
          message: `expected a duration of at least ${min}ms such as "500ms", "5s" or "1m", got ${JSON.stringify(v)}`,
        });
        return z.NEVER;
      }
      if (ms > max) {
        const why = max === MAX_TIMER_MS ? ' (about 24.8 days, the longest wait a Node timer holds); e.g. "24d"' : '';
        const message = `${JSON.stringify(v)} is too long: at most ${formatDuration(max)}${why}`;
        ctx.addIssue({ code: 'custom', message });
        return z.NEVER;
      }
      return ms;
    })
    // Read by the config reference generator (test/docs/) to print defaults as "500ms" rather than 500.
    .meta({ format: 'duration' });

/** A zod schema for a byte size (result: bytes, at least `min`). */
export const size = (min = 1) =>
  z
    .union([z.string(), z.number()])
    .transform((v, ctx) => {
      const n = parseSize(v);
      if (n === undefined || !Number.isSafeInteger(n) || n < min) {
        ctx.addIssue({
          code: 'custom',
          message: `expected a size of at least ${min} bytes such as "64KiB" or "256MiB", got ${JSON.stringify(v)}`,
        });
        return z.NEVER;
      }
      return n;
    })
    .meta({ format: 'size' });

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
/**
 * Names become file and directory names (outbox segments, file sink directories, quarantine
 * files) and object keys: well under the 255-byte file name limit and S3's 1024-byte keys.
 */
export const MAX_NAME_LENGTH = 64;

/** A zod schema for an input, stream or sink name. */
export const nameSchema = () =>
  z
    .string()
    .max(MAX_NAME_LENGTH, `must be at most ${MAX_NAME_LENGTH} characters (it becomes a file name and object key)`)
    .regex(NAME_RE, 'must start with a letter or digit and use only letters, digits, ".", "_" or "-"');

/** Linux NAME_MAX: the longest file or directory name, in bytes. */
export const MAX_PATH_COMPONENT_BYTES = 255;
/**
 * The longest directory path tailseal accepts: PATH_MAX (4096 bytes with the NUL) less room for
 * what it makes inside (a stream folder of up to 64 characters, an object, segment or temporary
 * name), so every path it builds stays under PATH_MAX.
 */
export const MAX_DIR_PATH_BYTES = 4096 - 256;

/**
 * A zod schema for a directory tailseal creates files in: a name over NAME_MAX or a path over
 * PATH_MAX passed validation, then failed with ENAMETOOLONG at start (exit 1, restarted forever).
 */
export const dirPath = () =>
  z
    .string()
    .min(1)
    .superRefine((v, ctx) => {
      const bytes = Buffer.byteLength(v);
      if (bytes > MAX_DIR_PATH_BYTES) {
        const message =
          `is ${bytes} bytes; a directory path may be at most ${MAX_DIR_PATH_BYTES} bytes ` +
          '(PATH_MAX, 4096, less room for the files made in it): use a shorter path';
        ctx.addIssue({ code: 'custom', message });
      }
      const long = v.split('/').find((c) => Buffer.byteLength(c) > MAX_PATH_COMPONENT_BYTES);
      if (long !== undefined) {
        const message =
          `the component "${long.slice(0, 16)}..." is ${Buffer.byteLength(long)} bytes; ` +
          `a file or directory name is at most ${MAX_PATH_COMPONENT_BYTES} bytes (NAME_MAX): shorten it`;
        ctx.addIssue({ code: 'custom', message });
      }
    });

/** host:port, host being a name, an IPv4 address or a bracketed IPv6 address. */
const LISTEN_RE = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

/** A listen address ("127.0.0.1:8282", "[::1]:8282"); port 0 picks a free one. */
export function listenAddress(defaultValue: string) {
  return hostPort(defaultValue).default(defaultValue);
}

/** A host:port to listen on, without a default; `example` is shown in the error. */
export function hostPort(example: string) {
  return z
    .string()
    .regex(LISTEN_RE, `must be host:port, e.g. "${example}" or "[::1]:${example.split(':').pop()}"`)
    .refine((v) => Number(LISTEN_RE.exec(v)?.[2]) <= 65535, 'port must be at most 65535');
}

/** Splits "host:port" (the host unbracketed). */
export function parseListen(listen: string): { host: string; port: number } {
  const m = LISTEN_RE.exec(listen)!;
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}
