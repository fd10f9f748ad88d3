// The `opa_service` input's config: an HTTP endpoint that speaks OPA's decision-log service API,
// so OPA's `decision_logs.service` uploads to tailseal instead of keeping decisions in memory.
import { z } from 'zod';
import { duration, listenAddress, nameSchema, size } from '../../config/units.js';
import { maskSchema } from '../../mask/config.js';
import { OPA_DEFAULT_UPLOAD_LIMIT, OPA_MIN_UPLOAD_LIMIT } from './limits.js';

export const opaServiceInputSchema = z
  .strictObject({
    name: nameSchema(),
    type: z.literal('opa_service'),
    stream: nameSchema().optional(),
    /** Mask and drop rules applied to every decision of this input before it is sealed. */
    mask: maskSchema.optional(),
    /** Address to listen on. Loopback by default: OPA runs in the same pod or on the same host. */
    listen: listenAddress('127.0.0.1:8282'),
    /** OPA's `decision_logs.resource` (default "/logs"); "<resource>/<partition>" is accepted too. */
    resource: z
      .string()
      .regex(/^\/[A-Za-z0-9._~/-]*$/, 'must be a path such as "/logs"')
      .default('/logs'),
    /** Bearer token OPA must send (its `services[_].credentials.bearer.token`); ${ENV} works. */
    token: z.string().min(1).optional(),
    /** ... or a file holding it (a mounted Secret); surrounding whitespace is ignored. */
    token_file: z.string().min(1).optional(),
    /** Serve HTTPS with this certificate and key (PEM). */
    tls: z.strictObject({ cert_file: z.string().min(1), key_file: z.string().min(1) }).optional(),
    /**
     * OPA's decision_logs.reporting.upload_size_limit_bytes (OPA's default; OPA clamps it to at
     * least 90). Not enforced on bodies: it sizes the start-time check (limits.ts) that every
     * chunk OPA may send under it is taken, since OPA re-sends a refused chunk forever.
     */
    opa_upload_size_limit_bytes: size(OPA_MIN_UPLOAD_LIMIT).default(OPA_DEFAULT_UPLOAD_LIMIT),
    /** Largest request body as sent (gzip'd); at least opa_upload_size_limit_bytes. */
    max_body_bytes: size(1024).default(8 * 1024 * 1024),
    /** Largest body after gunzip, so a small gzip bomb cannot exhaust memory. */
    max_decoded_bytes: size(1024).default(64 * 1024 * 1024),
    /**
     * Decoded bytes all requests in progress may hold together (each body counts from its first
     * decoded byte until it is answered); beyond it 503 + Retry-After. Sealing a body takes about
     * three times its size in memory, so the default keeps a burst well under the 256 MiB the
     * deploy/ manifests give tailseal.
     */
    max_inflight_decoded_bytes: size(1024).default(64 * 1024 * 1024),
    /**
     * Events one upload may hold (413 beyond), or one per 16 bytes of opa_upload_size_limit_bytes,
     * whichever is more: each event of OPA's carries a random UUIDv4 decision_id (122 random bits)
     * that no compression shrinks below ~16 bytes, so no chunk OPA sends under that limit can
     * exceed it. OPA's default 32 KiB chunk holds at most ~2,000 events. Not scaled by the body
     * actually sent: a body padded to max_body_bytes cannot buy a longer commit.
     */
    max_events: z.number().int().min(1).max(10_000_000).default(10_000),
    /** Whole request, headers and body: a client that stalls is cut off. */
    request_timeout: duration(100).default(30_000),
    /** What a 503 tells OPA to wait (Retry-After) when the outbox is full or the disk fails. */
    retry_after: duration(1000).default(5000),
    /**
     * A retried upload (OPA re-sends a chunk it got no 2xx for, e.g. after tailseal was killed
     * between committing and answering) must not seal its decisions twice: an event whose
     * decision_id and exact bytes were sealed within `window`, and among the last `max_ids`
     * entries of the stream, is skipped.
     */
    dedupe: z
      .strictObject({
        window: duration(0).default(60 * 60_000),
        max_ids: z.number().int().min(0).default(1_000_000),
      })
      .prefault({}),
  })
  .refine((c) => !(c.token !== undefined && c.token_file !== undefined), {
    message: 'set token or token_file, not both',
    path: ['token_file'],
  })
  // A body the budget can never hold would be refused with 503 forever, and OPA retries it forever.
  .refine((c) => c.max_inflight_decoded_bytes >= c.max_decoded_bytes, {
    message:
      'must be at least max_decoded_bytes, or an upload of that size could never be taken; ' +
      'raise it or lower max_decoded_bytes',
    path: ['max_inflight_decoded_bytes'],
  });

export type OpaServiceInputConfig = z.infer<typeof opaServiceInputSchema>;

export { parseListen } from '../../config/units.js';
