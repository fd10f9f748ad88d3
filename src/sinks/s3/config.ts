// Config of the `s3` sink: any S3-compatible bucket, optionally with Object Lock.
import { z } from 'zod';
import { MAX_SPAN_MS, duration, nameSchema } from '../../config/units.js';
import { timeoutSchema, tlsSchema } from '../http-client-config.js';
import { deliveryFields } from '../delivery-config.js';

export const S3_SINK_DEFAULTS = { region: 'us-east-1', prefix: '', path_style: false, gzip: true } as const;

export const s3SinkSchema = z.strictObject({
  name: nameSchema(),
  type: z.literal('s3'),
  bucket: z.string().min(3).max(63),
  /**
   * Key prefix, e.g. "opa/prod/" (a trailing "/" is added when missing). Bounded so that prefix,
   * stream name and object name stay within S3's 1024-byte keys.
   */
  prefix: z
    .string()
    .refine((p) => Buffer.byteLength(p) <= 512, 'must be at most 512 bytes (S3 keys are at most 1024)')
    .default(S3_SINK_DEFAULTS.prefix),
  region: z.string().min(1).default(S3_SINK_DEFAULTS.region),
  /** Endpoint URL for S3-compatible servers; AWS's regional endpoint when absent. */
  endpoint: z.url({ protocol: /^https?$/ }).optional(),
  /** Path-style addressing (https://endpoint/bucket/key), which MinIO and Ceph usually need. */
  path_style: z.boolean().default(S3_SINK_DEFAULTS.path_style),
  gzip: z.boolean().default(S3_SINK_DEFAULTS.gzip),
  /** Static keys (use ${ENV}); without them the AWS credential chain is used. */
  credentials: z
    .strictObject({
      access_key_id: z.string().min(1),
      secret_access_key: z.string().min(1),
      session_token: z.string().optional(),
    })
    .optional(),
  /** Per-object retention. With this set, start-up refuses a bucket without Object Lock. */
  object_lock: z
    .strictObject({
      mode: z.enum(['GOVERNANCE', 'COMPLIANCE']),
      /** Retain-until = upload time + this (e.g. "365d"). */
      retention: duration(60_000, MAX_SPAN_MS),
      legal_hold: z.boolean().default(false),
    })
    .optional(),
  server_side_encryption: z
    .strictObject({
      algorithm: z.enum(['AES256', 'aws:kms']),
      kms_key_id: z.string().min(1).optional(),
    })
    .refine((s) => s.algorithm === 'aws:kms' || s.kms_key_id === undefined, {
      message: 'kms_key_id needs algorithm aws:kms',
    })
    .optional(),
  /** HTTPS proxy URL (undici ProxyAgent). */
  proxy: z.url().optional(),
  tls: tlsSchema,
  timeout: timeoutSchema,
  ...deliveryFields,
});

export type S3SinkConfig = z.infer<typeof s3SinkSchema>;
