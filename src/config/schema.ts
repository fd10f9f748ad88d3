// The config file's schema. Unknown keys are errors (strictObject), so a typo never silently
// falls back to a default. Each source and sink folder exports its own schema; this file only
// composes them.
import { z } from 'zod';
import { fileSinkSchema } from '../sinks/file/config.js';
import { httpSinkSchema } from '../sinks/http/config.js';
import { opaSinkSchema } from '../sinks/opa/config.js';
import { elasticsearchSinkSchema } from '../sinks/elasticsearch/config.js';
import { splunkHecSinkSchema } from '../sinks/splunk-hec/config.js';
import { otlpSinkSchema } from '../sinks/otlp/config.js';
import { witnessSinkSchema } from '../sinks/witness/config.js';
import { s3SinkSchema } from '../sinks/s3/config.js';
import { fileInputSchema } from '../sources/file/config.js';
import { opaServiceInputSchema } from '../sources/opa-service/config.js';
import { MAX_SPAN_MS, dirPath, duration, listenAddress, size } from '../common/units.js';

// Descriptions (`.describe()`) are the config reference: docs/configuration.md and
// docs/config.schema.json are generated from them (npm run docs), and a unit test fails when they are stale.
/** The `log:` section, the same for the daemon and the monitor. */
export function logSchema() {
  return z
    .strictObject({
      level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info').describe('Log level.'),
    })
    .prefault({});
}

export const configSchema = z.strictObject({
  state_dir: dirPath().describe(
    "Directory of the state database `tailseal.db` (offsets, chain heads, outbox index) and the outbox's entry " +
      'lines `tailseal.db-outbox/` (see [State directory](operations.md#state-directory)). One daemon per state ' +
      'directory.',
  ),
  origin: z
    .string()
    .regex(/^[^\s+]+$/, 'must be non-empty with no spaces or "+" (c2sp.org/tlog-checkpoint)')
    .describe(
      'Checkpoint origin prefix, e.g. `opa.example.com/pod-a`; stream `S` signs as `<origin>/S`. No spaces or `+`.',
    ),
  signing: z
    .strictObject({
      key_file: z
        .string()
        .min(1)
        .optional()
        .describe(
          'Signer key file from `tailseal keygen`; refused if group or others can read it. Set exactly one of ' +
            '`key_file` and `key_env`.',
        ),
      key_env: z
        .string()
        .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name')
        .optional()
        .describe(
          '... or the name of an environment variable holding the signer key line (e.g. set from a Kubernetes Secret ' +
            'with `secretKeyRef`).',
        ),
      allow_group_read: z
        .boolean()
        .default(false)
        .describe(
          'Accept a key file readable (not writable) by its group: a Kubernetes Secret mounted with `fsGroup` and ' +
            '`defaultMode: 0440`. Readable by others is always refused.',
        ),
      verify_keys: z
        .array(z.string().min(1))
        .default([])
        .describe(
          'Verifier key files (`.pub`) of keys that signed earlier parts of the trail (key rotation): trusted ' +
            'besides ' +
            'the current key when the daemon reads its trail back (audit, lost state); each file is read at start ' +
            '(exit 2 if it cannot be read or holds no valid key) and at reload (refused).',
        ),
    })
    .refine((s) => (s.key_file === undefined) !== (s.key_env === undefined), {
      message: 'set exactly one of key_file and key_env',
      path: ['key_file'],
    })
    .describe('The signing key: checkpoints are signed with it.'),
  inputs: z
    .array(z.discriminatedUnion('type', [fileInputSchema, opaServiceInputSchema]))
    .min(1)
    .describe('Where decisions come from: `file` or `opa_service` inputs (sections below). At least one.'),
  checkpoint: z
    .strictObject({
      entries: z
        .number()
        .int()
        .min(1)
        .default(10_000)
        .describe(
          'Sign a checkpoint at least every this many entries: no object holds more (a read or upload that brings ' +
            'more is cut into several objects, committed in its one transaction).',
        ),
      max_bytes: size(4096)
        .default(8 * 1024 * 1024)
        .describe("... or once this many bytes of entries are pending (bounds each object's size, and memory)."),
      interval: duration(10)
        .default(500)
        .describe(
          '... or this long after the previous checkpoint when entries are pending (the main term of write-to-store ' +
            'latency).',
        ),
      heartbeat: duration(100)
        .default(60_000)
        .describe('... and this often while idle (a heartbeat object proves liveness).'),
    })
    .prefault({}),
  outbox: z
    .strictObject({
      max_bytes: size(64 * 1024)
        .default(256 * 1024 * 1024)
        .describe(
          'Sealed bytes waiting for sinks; at the limit reading pauses (backpressure) until the sinks have drained ' +
            'it ' +
            'below 75%.',
        ),
    })
    .prefault({}),
  sinks: z
    .array(
      z.discriminatedUnion('type', [
        fileSinkSchema,
        s3SinkSchema,
        httpSinkSchema,
        opaSinkSchema,
        witnessSinkSchema,
        elasticsearchSinkSchema,
        splunkHecSinkSchema,
        otlpSinkSchema,
      ]),
    )
    .min(1)
    .describe(
      'Where sealed objects go: `file`, `s3` and `http` sinks hold the trail (the proof); `opa`, `elasticsearch`, ' +
        '`splunk_hec` and `otlp` send copies of the decisions (for OPA collectors and search); `witness` gets ' +
        'cosignatures of every checkpoint (sections below). Every object goes to every sink.',
    ),
  shutdown: z
    .strictObject({
      grace: duration(0).default(5000).describe('On SIGTERM, how long to keep shipping the outbox before exiting.'),
    })
    .prefault({}),
  metrics: z
    .strictObject({
      enabled: z
        .boolean()
        .default(true)
        .describe('Serve `/metrics`, `/healthz` and `/readyz` (see [Operations](operations.md#health)).'),
      // Loopback by default: scrape from the pod or host (a Service or port-forward exposes it).
      listen: listenAddress('127.0.0.1:9464').describe(
        'Their address; `0.0.0.0:9464` for a kubelet probe or a Prometheus outside the pod; port `0` picks a free one.',
      ),
      sink_failing_after: duration(1000)
        .default(5 * 60_000)
        .describe('`/readyz` fails once a sink has had objects waiting and no successful delivery for this long.'),
    })
    .prefault({}),
  audit: z
    .strictObject({
      interval: duration(0)
        .default(5 * 60_000)
        .describe(
          'How often the daemon reads back and verifies the objects new in each `file` and `s3` sink since its last ' +
            'pass; `0` disables the audit ([Integrity audit](operations.md#integrity-audit)).',
        ),
      full_interval: duration(0, MAX_SPAN_MS)
        .default(24 * 60 * 60_000)
        .describe(
          'How often a pass re-reads and verifies the whole trail instead (the first pass is always full; this also ' +
            'catches an object changed after it was audited).',
        ),
      sinks: z
        .array(z.string().min(1))
        .optional()
        .describe('Which sinks to audit. Default: every `file` and `s3` sink.'),
    })
    .prefault({}),
  recovery: z
    .strictObject({
      on_state_loss: z
        .enum(['refuse', 'chain_tail', 'end_of_files'])
        .default('refuse')
        .describe(
          "What to do when the state database is missing, empty or corrupt while a sink already holds this daemon's " +
            'trail: `refuse` to start, `chain_tail` (continue the verified chain; files resume after the last line ' +
            'it holds) or `end_of_files` (continue the chain; what the files hold now is skipped, and said so). ' +
            'See [Lost state](operations.md#lost-state).',
        ),
      sink: z
        .string()
        .min(1)
        .optional()
        .describe(
          'The sink whose trail is read back to tell a first start from a lost state, and to continue the chain ' +
            'from. ' +
            'Default: the first `file` or `s3` sink.',
        ),
    })
    .prefault({}),
  log: logSchema(),
});

export type Config = z.infer<typeof configSchema>;
export type InputConfig = Config['inputs'][number];
export type { FileInputConfig } from '../sources/file/config.js';
export type { OpaServiceInputConfig } from '../sources/opa-service/config.js';
export type SinkConfig = Config['sinks'][number];
