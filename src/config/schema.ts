// The config file's schema. Unknown keys are errors (strictObject), so a typo never silently
// falls back to a default. Each sink folder exports its own schema; this file only composes them.
import { z } from 'zod';
import { fileSinkSchema } from '../sinks/file/config.js';
import { httpSinkSchema } from '../sinks/http/config.js';
import { opaSinkSchema } from '../sinks/opa/config.js';
import { s3SinkSchema } from '../sinks/s3/config.js';
import { duration, size } from './units.js';

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const name = () => z.string().regex(NAME_RE, 'must start with a letter or digit and use only letters, digits, ".", "_" or "-"');

export const fileInputSchema = z.strictObject({
  name: name(),
  type: z.literal('file'),
  /** Paths or globs of OPA decision-log files (one JSON object per line). */
  paths: z.array(z.string().min(1)).min(1),
  /** The stream (one hash chain and tree) the decisions go to; defaults to the input's name. */
  stream: name().optional(),
  /** A line longer than this is not sealed; a gap record says where it was and how long. */
  max_line_bytes: size(64).default(1024 * 1024),
  /** How often every open file is checked for growth, rotation and truncation. */
  poll_interval: duration(10).default(250),
  /** How long a file renamed away (rotated) is still read for late writes before it is closed. */
  rotate_wait: duration(0).default(5000),
  /** Bytes read per read() call. */
  read_chunk_bytes: size(4096).default(1024 * 1024),
});

export const configSchema = z.strictObject({
  /** Directory of the state database (offsets, chain heads, outbox). */
  state_dir: z.string().min(1),
  /** Checkpoint origin prefix; each stream's origin is `<origin>/<stream>`. */
  origin: z.string().regex(/^[^\s+]+$/, 'must be non-empty with no spaces or "+" (c2sp.org/tlog-checkpoint)'),
  signing: z.strictObject({
    /** The signer key file written by `tailseal keygen` (mode 0600). */
    key_file: z.string().min(1),
  }),
  inputs: z.array(z.discriminatedUnion('type', [fileInputSchema])).min(1),
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
  log: z
    .strictObject({
      level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info'),
    })
    .prefault({}),
});

export type Config = z.infer<typeof configSchema>;
export type FileInputConfig = z.infer<typeof fileInputSchema>;
export type SinkConfig = Config['sinks'][number];
