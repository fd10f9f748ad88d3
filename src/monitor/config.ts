// The config file of `tailseal monitor`: which stores to watch, which keys to trust for which
// origins, how often to look and how long an origin may stay silent. Validated like the daemon's
// (unknown keys are errors, one line per problem naming the file and the key, exit 2).
import { z } from 'zod';
import { TailsealError } from '../errors.js';
import { MAX_SPAN_MS, dirPath, duration, hostPort, listenAddress, nameSchema } from '../common/units.js';
import { describeIssue, expandEnv, loadYamlFile } from '../config/load.js';
import { logSchema } from '../config/schema.js';
import { S3_URL_ACCESS } from '../sinks/s3/config.js';

/**
 * An origin pattern: `*` stands for any run of characters (`/` included), everything else is
 * literal, and the pattern must match the whole origin. `opa.example.com/*` is a prefix.
 */
const originPattern = () =>
  z
    .string()
    .min(1)
    .regex(/^[^\s+]+$/, 'must be an origin or a pattern such as "opa.example.com/*" (no spaces or "+")');

// Descriptions (`.describe()`) are the monitor's config reference: docs/configuration.md's "Monitor
// configuration" section is generated from them (npm run docs).

export const monitorConfigSchema = z.strictObject({
  state_dir: dirPath().describe(
    "Directory of the monitor's state database `monitor.db` (per store and origin: where its verified trail " +
      'ends, the checkpoints seen, the status). A restart resumes from it. One monitor per state directory.',
  ),
  stores: z
    .array(
      z.strictObject({
        name: nameSchema().describe('The store\'s name in logs, metrics and `/status` (e.g. "prod-bucket").'),
        store: z
          .string()
          .min(1)
          .describe(
            'A file sink directory, or `s3://bucket/prefix` (credentials from the environment, as `tailseal verify`).',
          ),
        ...S3_URL_ACCESS,
      }),
    )
    .min(1)
    .describe('The stores to watch; every origin found in them is verified (origins are discovered, not listed).'),
  keys: z
    .array(
      z.strictObject({
        match: originPattern().describe(
          'The origins these keys may sign for: an origin, or a pattern where `*` is any run of characters ' +
            '(`opa.example.com/*`).',
        ),
        files: z
          .array(z.string().min(1))
          .min(1)
          .describe('Verifier key files (`.pub`, one or more key lines each); read at start (exit 2 if unusable).'),
      }),
    )
    .min(1)
    .describe(
      'Trusted verifier keys per origin pattern. An origin is verified with the keys of every entry that matches ' +
        'it; objects signed by none of them make the origin `untrusted_key` (never silently trusted).',
    ),
  interval: duration(100)
    .default(60_000)
    .describe('Time from the end of one pass over every store to the start of the next.'),
  full_pass_every: duration(0, MAX_SPAN_MS)
    .default(24 * 60 * 60_000)
    .describe(
      'How often a pass re-reads and verifies every object instead of only the new ones (the first pass, with no ' +
        'state, is full; this catches an object changed after it was verified). `0`: every pass is full.',
    ),
  concurrency: z
    .int()
    .min(1)
    .max(256)
    .default(8)
    .describe(
      'Objects read and origins verified at once. Memory of a pass is bounded by it (some 8 MiB per origin in ' +
        "flight, plus a 64 MiB pass cache), not by the fleet; more overlaps the store's latency (docs/deploy.md).",
    ),
  shard: z
    .string()
    .regex(/^\d{1,6}\/\d{1,6}$/, 'must be i/n, e.g. 0/3')
    .optional()
    .describe(
      'This monitor verifies, reports and cosigns only the origins of shard `i` of `n` (`i/n`, 0-based): ' +
        'SHA-256 of the origin, first 8 bytes as an unsigned integer, mod n. `--shard` overrides it.',
    ),
  max_silence: z
    .strictObject({
      default: duration(0, MAX_SPAN_MS)
        .default(60 * 60_000)
        .describe(
          'An origin whose newest checkpoint is older than this is `silent` (a writer that stopped). Writers sign ' +
            'a heartbeat checkpoint while idle (`checkpoint.heartbeat`, 1m): a few heartbeats is a good value.',
        ),
      origins: z
        .array(
          z.strictObject({
            match: originPattern().describe('An origin or pattern, as in `keys`.'),
            after: duration(0, MAX_SPAN_MS).describe('Its max silence.'),
          }),
        )
        .default([])
        .describe('Per origin pattern: the first entry that matches an origin wins over `default`.'),
    })
    .prefault({}),
  min_retention: z
    .strictObject({
      default: duration(0, MAX_SPAN_MS)
        .optional()
        .describe(
          'Every object of an origin in an `s3://` store must be under Object Lock retention until at least this ' +
            "long after it was sealed (its checkpoint's time), as verify's --min-retention; an object with a " +
            'shorter or no retention makes the origin `broken` with code `RETENTION_MISSING`. Unset: not checked. ' +
            'File stores have no retention and are not checked.',
        ),
      origins: z
        .array(
          z.strictObject({
            match: originPattern().describe('An origin or pattern, as in `keys`.'),
            at_least: duration(0, MAX_SPAN_MS).describe('Its min retention (`0`: any Object Lock retention).'),
          }),
        )
        .default([])
        .describe('Per origin pattern: the first entry that matches an origin wins over `default`.'),
    })
    .prefault({}),
  witness: z
    .strictObject({
      key_file: z
        .string()
        .min(1)
        .describe(
          'The witness signer key (made by keygen with --witness, kept apart from every writer key); read at start ' +
            '(exit 2 if unusable). Auditors trust its `.pub` with the --witness-key of verify.',
        ),
      store: z
        .string()
        .min(1)
        .describe(
          'Where the cosigned checkpoints go, as the --witness-store of cosign: a directory or ' +
            '`s3://bucket/prefix` (with `endpoint`, `region`, `path_style` below) that the writers cannot write.',
        ),
      ...S3_URL_ACCESS,
      listen: hostPort('0.0.0.0:7380')
        .optional()
        .describe(
          'Also a witness that writers submit to: listens here for the add-checkpoint call of c2sp.org/tlog-witness ' +
            '(`POST /add-checkpoint`; the `witness` sink of a daemon). It cosigns a submitted checkpoint of an ' +
            'origin whose key it trusts (`keys`) once its consistency proof from what it cosigned before verifies, ' +
            'and publishes it to `store` too. Port `0` picks a free one.',
        ),
      min_interval: duration(0, MAX_SPAN_MS)
        .optional()
        .describe(
          'A checkpoint whose tree did not grow is cosigned again (a fresh timestamp) at most this often. ' +
            "Default: half the origin's max_silence. A grown tree is cosigned on the pass that verified it.",
        ),
    })
    .optional()
    .describe(
      'Makes the monitor a witness: after each pass it cosigns the newest checkpoint of every origin it verified ' +
        '(`ok` or `silent`, consistent with all it verified and cosigned before) and publishes it to `store`.',
    ),
  metrics: z
    .strictObject({
      listen: listenAddress('127.0.0.1:9465').describe(
        'Address of `/metrics`, `/status` and `/healthz`; port `0` picks a free one.',
      ),
    })
    .prefault({}),
  log: logSchema(),
});

export type MonitorConfig = z.infer<typeof monitorConfigSchema>;

/** Validates an already-parsed monitor config; `file` is only for messages. */
export function parseMonitorConfig(raw: unknown, file: string, env: NodeJS.ProcessEnv = process.env): MonitorConfig {
  const problems: string[] = [];
  const expanded = expandEnv(raw ?? {}, env, [], problems);
  if (problems.length === 0) {
    const res = monitorConfigSchema.safeParse(expanded);
    if (res.success) {
      const names = res.data.stores.map((s) => s.name);
      const dup = names.find((n, i) => names.indexOf(n) !== i);
      const w = res.data.witness?.store;
      if (dup !== undefined) problems.push(`stores: name "${dup}" is used twice; store names must be unique`);
      else if (w !== undefined && res.data.stores.some((s) => sameStore(s.store, w)))
        problems.push(
          `witness.store: ${w} is (inside) a watched store; cosignatures go to a place the writers cannot write ` +
            '(another directory, bucket or prefix)',
        );
      else return res.data;
    } else problems.push(...res.error.issues.map((i) => describeIssue(i, expanded)));
  }
  throw new TailsealError('CONFIG_INVALID', problems.map((p) => `${file}: ${p}`).join('\n'), {
    details: { file, problems },
  });
}

/** Whether two store locations overlap: the same place, or one inside the other (up to trailing slashes). */
function sameStore(a: string, b: string): boolean {
  const [x, y] = [a.replace(/\/+$/, ''), b.replace(/\/+$/, '')];
  return x === y || x.startsWith(`${y}/`) || y.startsWith(`${x}/`);
}

/** Reads, expands and validates the monitor config file at `file`. */
export function loadMonitorConfig(file: string, env: NodeJS.ProcessEnv = process.env): MonitorConfig {
  return loadYamlFile(file, (raw) => parseMonitorConfig(raw, file, env));
}

/** Whether `origin` matches `pattern` (`*`: any run of characters, the rest literal, whole origin). */
export function matchesOrigin(pattern: string, origin: string): boolean {
  const parts = pattern.split('*');
  if (parts.length === 1) return pattern === origin;
  const first = parts[0]!;
  const last = parts.at(-1)!;
  if (!origin.startsWith(first) || origin.length < first.length + last.length || !origin.endsWith(last)) return false;
  let at = first.length;
  const end = origin.length - last.length;
  for (const mid of parts.slice(1, -1)) {
    const i = origin.indexOf(mid, at);
    if (i < 0 || i + mid.length > end) return false;
    at = i + mid.length;
  }
  return true;
}
