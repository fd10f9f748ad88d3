// Config of the `s3` sink: any S3-compatible bucket, optionally with Object Lock.
import { z } from 'zod';
import { MAX_SPAN_MS, duration } from '../../common/units.js';
import { deliveryFields, sinkNameSchema } from '../delivery-config.js';
import { timeoutSchema, tlsSchema } from '../net/config.js';

export const S3_SINK_DEFAULTS = { region: 'us-east-1', prefix: '', path_style: false, gzip: true } as const;

/**
 * How a store given as `s3://bucket/prefix` is reached (the monitor's watched stores, a witness
 * store): as `tailseal verify`'s options; credentials from the AWS chain.
 */
export const S3_URL_ACCESS = {
  endpoint: z
    .url({ protocol: /^https?$/ })
    .optional()
    .describe('s3: endpoint URL of an S3-compatible server.'),
  region: z.string().min(1).optional().describe('s3: region (default us-east-1).'),
  path_style: z.boolean().default(false).describe('s3: path-style addressing (MinIO, Ceph).'),
};

export const s3SinkSchema = z.strictObject({
  name: sinkNameSchema,
  type: z.literal('s3'),
  bucket: z.string().min(3).max(63).describe('Bucket name.'),
  // Bounded so that prefix, stream name and object name stay within S3's 1024-byte keys.
  prefix: z
    .string()
    .refine((p) => Buffer.byteLength(p) <= 512, 'must be at most 512 bytes (S3 keys are at most 1024)')
    .default(S3_SINK_DEFAULTS.prefix)
    .describe(
      'Key prefix (at most 512 bytes; a trailing `/` is added when missing); objects are ' +
        '`<prefix><stream>/YYYY/MM/DD/<first seq>-<last seq>.ndjson.gz` (20-digit zero-padded, dated by the ' +
        "checkpoint's signing time, UTC).",
    ),
  region: z.string().min(1).default(S3_SINK_DEFAULTS.region).describe('Region for SigV4 and the AWS endpoint.'),
  endpoint: z
    .url({ protocol: /^https?$/ })
    .optional()
    .describe('Endpoint URL of an S3-compatible server. Default: `https://s3.<region>.amazonaws.com`.'),
  path_style: z
    .boolean()
    .default(S3_SINK_DEFAULTS.path_style)
    .describe(
      '`https://endpoint/bucket/key` instead of `https://bucket.endpoint/key` (MinIO and Ceph usually need it).',
    ),
  gzip: z.boolean().default(S3_SINK_DEFAULTS.gzip).describe('Gzip each object.'),
  credentials: z
    .strictObject({
      access_key_id: z.string().min(1).describe('Access key id (write `${ENV}`).'),
      secret_access_key: z.string().min(1).describe('Secret access key (write `${ENV}`).'),
      session_token: z.string().optional().describe('Session token of temporary credentials.'),
    })
    .optional()
    .describe("Static keys. Without them, the AWS SDK's credential chain " + '([s3 sink](operations.md#s3-sink)).'),
  object_lock: z
    .strictObject({
      mode: z.enum(['GOVERNANCE', 'COMPLIANCE']).describe('Object Lock mode, sent per object.'),
      retention: duration(60_000, MAX_SPAN_MS).describe('Retain-until = upload time + this (e.g. `400d`).'),
      legal_hold: z.boolean().default(false).describe('Also put a legal hold on each object.'),
    })
    .optional()
    .describe('Per-object retention. With `object_lock` set, start-up **refuses** a bucket without Object Lock.'),
  server_side_encryption: z
    .strictObject({
      algorithm: z.enum(['AES256', 'aws:kms']).describe('`x-amz-server-side-encryption`.'),
      kms_key_id: z.string().min(1).optional().describe('KMS key id, with `aws:kms` only.'),
    })
    .refine((s) => s.algorithm === 'aws:kms' || s.kms_key_id === undefined, {
      message: 'kms_key_id needs algorithm aws:kms',
    })
    .optional()
    .describe('Server-side encryption of each object.'),
  proxy: z.url().optional().describe('HTTPS proxy URL.'),
  tls: tlsSchema,
  timeout: timeoutSchema,
  ...deliveryFields,
});

export type S3SinkConfig = z.infer<typeof s3SinkSchema>;
