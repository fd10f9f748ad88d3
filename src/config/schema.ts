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
import { duration, size } from './units.js';

export const configSchema = z.strictObject({
  /** Directory of the state database (offsets, chain heads, outbox). */
  state_dir: z.string().min(1),
  /** Checkpoint origin prefix; each stream's origin is `<origin>/<stream>`. */
  origin: z.string().regex(/^[^\s+]+$/, 'must be non-empty with no spaces or "+" (c2sp.org/tlog-checkpoint)'),
  signing: z.strictObject({
    /** The signer key file written by `tailseal keygen` (mode 0600). */
    key_file: z.string().min(1),
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
