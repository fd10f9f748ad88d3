// The config file's schema. Unknown keys are errors (strictObject), so a typo never silently
// falls back to a default. Each source and sink folder exports its own schema; this file only
// composes them.
import { z } from 'zod';
import { fileSinkSchema } from '../sinks/file/config.js';
import { httpSinkSchema } from '../sinks/http/config.js';
import { opaSinkSchema } from '../sinks/opa/config.js';
import { s3SinkSchema } from '../sinks/s3/config.js';
import { fileInputSchema } from '../sources/file/config.js';
import { opaServiceInputSchema } from '../sources/opa-service/config.js';
import { MAX_SPAN_MS, dirPath, duration, listenAddress, size } from './units.js';

export const configSchema = z.strictObject({
  /** Directory of the state database (offsets, chain heads, outbox). */
  state_dir: dirPath(),
  /** Checkpoint origin prefix; each stream's origin is `<origin>/<stream>`. */
  origin: z.string().regex(/^[^\s+]+$/, 'must be non-empty with no spaces or "+" (c2sp.org/tlog-checkpoint)'),
  signing: z
    .strictObject({
      /** The signer key file written by `tailseal keygen` (mode 0600, or 0440 with allow_group_read). */
      key_file: z.string().min(1).optional(),
      /** ... or the name of an environment variable holding the signer key text. */
      key_env: z
        .string()
        .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name')
        .optional(),
      /**
       * Accept a key file readable by its group (a Kubernetes Secret with fsGroup and defaultMode 0440); never
       * by others.
       */
      allow_group_read: z.boolean().default(false),
      /**
       * Verifier key files (`.pub`) of keys that signed earlier parts of the trail (key rotation):
       * trusted, besides the current key, when the daemon reads its trail back (audit, lost state).
       */
      verify_keys: z.array(z.string().min(1)).default([]),
    })
    .refine((s) => (s.key_file === undefined) !== (s.key_env === undefined), {
      message: 'set exactly one of key_file and key_env',
      path: ['key_file'],
    }),
  inputs: z.array(z.discriminatedUnion('type', [fileInputSchema, opaServiceInputSchema])).min(1),
  checkpoint: z
    .strictObject({
      entries: z.number().int().min(1).default(10_000),
      /** Also sign once this many bytes of entries are pending: bounds object size and memory. */
      max_bytes: size(4096).default(8 * 1024 * 1024),
      interval: duration(10).default(500),
      heartbeat: duration(100).default(60_000),
    })
    .prefault({}),
  outbox: z
    .strictObject({
      /** Sealed bytes waiting for sinks; when reached, reading pauses (backpressure). */
      max_bytes: size(64 * 1024).default(256 * 1024 * 1024),
    })
    .prefault({}),
  sinks: z.array(z.discriminatedUnion('type', [fileSinkSchema, s3SinkSchema, httpSinkSchema, opaSinkSchema])).min(1),
  shutdown: z
    .strictObject({
      /** On SIGTERM, how long to keep shipping the outbox before exiting. */
      grace: duration(0).default(5000),
    })
    .prefault({}),
  metrics: z
    .strictObject({
      /** Serve /metrics (Prometheus), /healthz and /readyz. */
      enabled: z.boolean().default(true),
      /** Loopback by default: scrape from the pod or host (a Service or port-forward exposes it). */
      listen: listenAddress('127.0.0.1:9464'),
      /** /readyz fails once a sink has had objects waiting and no success for this long. */
      sink_failing_after: duration(1000).default(5 * 60_000),
    })
    .prefault({}),
  audit: z
    .strictObject({
      /**
       * How often the daemon verifies the objects new in each file and s3 sink since its last pass; 0 disables
       * the audit.
       */
      interval: duration(0).default(5 * 60_000),
      /**
       * How often a pass re-reads and verifies the whole trail instead (also catching an object changed after
       * it was audited).
       */
      full_interval: duration(0, MAX_SPAN_MS).default(24 * 60 * 60_000),
      /** The sinks to audit; default: every file and s3 sink. */
      sinks: z.array(z.string().min(1)).optional(),
    })
    .prefault({}),
  recovery: z
    .strictObject({
      /**
       * What to do when the state database is missing, empty or corrupt while a sink already
       * holds this daemon's trail (README "Lost state"): `refuse` to start (default),
       * `chain_tail` (continue the verified chain; files resume after the last line it holds), or
       * `end_of_files` (continue the chain; what the files hold now is skipped, and said so).
       */
      on_state_loss: z.enum(['refuse', 'chain_tail', 'end_of_files']).default('refuse'),
      /** The sink to read the trail back from (a file or s3 sink); default: the first such sink. */
      sink: z.string().min(1).optional(),
    })
    .prefault({}),
  log: z
    .strictObject({
      level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info'),
    })
    .prefault({}),
});

export type Config = z.infer<typeof configSchema>;
export type InputConfig = Config['inputs'][number];
export type { FileInputConfig } from '../sources/file/config.js';
export type { OpaServiceInputConfig } from '../sources/opa-service/config.js';
export type SinkConfig = Config['sinks'][number];
