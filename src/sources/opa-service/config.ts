// The `opa_service` input's config: an HTTP endpoint that speaks OPA's decision-log service API,
// so OPA's `decision_logs.service` uploads to tailseal instead of keeping decisions in memory.
import { z } from 'zod';
import { duration, listenAddress, size } from '../../common/units.js';
import { inputMaskSchema, inputNameSchema, inputStreamSchema } from '../input-config.js';
import { OPA_DEFAULT_UPLOAD_LIMIT, OPA_MIN_UPLOAD_LIMIT } from './limits.js';

export const opaServiceInputSchema = z
  .strictObject({
    name: inputNameSchema(),
    type: z.literal('opa_service'),
    stream: inputStreamSchema(),
    mask: inputMaskSchema(),
    // Loopback by default: OPA runs in the same pod or on the same host.
    listen: listenAddress('127.0.0.1:8282').describe(
      '`host:port` to listen on (`[::1]:8282` for IPv6); keep it on loopback beside OPA.',
    ),
    resource: z
      .string()
      .regex(/^\/[A-Za-z0-9._~/-]*$/, 'must be a path such as "/logs"')
      .default('/logs')
      .describe("OPA's `decision_logs.resource`; `<resource>/<partition>` (OPA's `partition_name`) is accepted too."),
    token: z
      .string()
      .min(1)
      .optional()
      .describe(
        'Require `Authorization: Bearer <token>` (OPA: `services[_].credentials.bearer.token`); `${ENV}` works. ' +
          'Never logged. Without `token` or `token_file`, every start logs a warning: any local process could ' +
          'upload decisions.',
      ),
    token_file: z
      .string()
      .min(1)
      .optional()
      .describe('... or a file holding it (a mounted Secret; surrounding whitespace is ignored). Not both.'),
    tls: z
      .strictObject({
        cert_file: z.string().min(1).describe('PEM certificate.'),
        key_file: z.string().min(1).describe('PEM private key.'),
      })
      .optional()
      .describe('Serve HTTPS with this certificate and key.'),
    /**
     * Not enforced on bodies: it sizes the start-time check (limits.ts) that every chunk OPA may
     * send under it is taken, since OPA re-sends a refused chunk forever.
     */
    opa_upload_size_limit_bytes: size(OPA_MIN_UPLOAD_LIMIT)
      .default(OPA_DEFAULT_UPLOAD_LIMIT)
      .describe(
        "OPA's `decision_logs.reporting.upload_size_limit_bytes` (OPA's default; at least 90, as in OPA): the " +
          'limits below are checked at start to take every chunk OPA may send under it ' +
          "([OPA's chunk sizes](operations.md#opa_service-input)). A larger body is still taken within the limits, " +
          'with a warning once.',
      ),
    max_body_bytes: size(1024)
      .default(8 * 1024 * 1024)
      .describe("Largest body as sent (gzip'd): 413 above it. At least `opa_upload_size_limit_bytes`."),
    max_decoded_bytes: size(1024)
      .default(64 * 1024 * 1024)
      .describe(
        'Largest body after gunzip (413), so a small gzip bomb cannot exhaust memory. At least 1032 × ' +
          '`opa_upload_size_limit_bytes`.',
      ),
    // Each body counts from its first decoded byte until it is answered; the default keeps a burst
    // well under the 256 MiB the deploy/ manifests give tailseal.
    max_inflight_decoded_bytes: size(1024)
      .default(64 * 1024 * 1024)
      .describe(
        'Decoded bytes all requests in progress hold together; beyond it `503` + `Retry-After` (`busy`). At least ' +
          "`max_decoded_bytes`. Sealing takes about three times a body's size in memory: keep it well under the " +
          "container's limit.",
      ),
    // OPA's default 32 KiB chunk holds at most ~2,000 events (UUIDv4 decision_id: 122 random bits).
    max_events: z
      .number()
      .int()
      .min(1)
      .max(10_000_000)
      .default(10_000)
      .describe(
        'Events one upload may hold (413 `too_many_events`), or one per 16 bytes of `opa_upload_size_limit_bytes`, ' +
          "whichever is more. Each of OPA's events carries a random `decision_id` that no compression shrinks " +
          'below ~16 bytes, so no chunk OPA sends under its declared limit is refused, while a bomb of empty ' +
          "objects (a few bits each gzip'd) is, after a scan of its first bytes. The bound does not grow with the " +
          "body actually sent: the commit records each event's dedupe key in one synchronous step, so a body " +
          'padded to `max_body_bytes` must not buy a longer one.',
      ),
    request_timeout: duration(100)
      .default(30_000)
      .describe('Whole request, headers and body; a client that stalls is cut off.'),
    retry_after: duration(1000)
      .default(5000)
      .describe(
        'The `Retry-After` of a 503 (outbox full, decoded budget spent, state storage failing). OPA ignores it and ' +
          'retries on its own backoff (100 ms up to `max_delay_seconds`).',
      ),
    // A retried upload (OPA re-sends a chunk it got no 2xx for, e.g. after tailseal was killed
    // between committing and answering) must not seal its decisions twice.
    dedupe: z
      .strictObject({
        window: duration(0)
          .default(60 * 60_000)
          .describe('An event (`decision_id` and exact bytes) sealed in the stream this recently ...'),
        max_ids: z
          .number()
          .int()
          .min(0)
          .default(1_000_000)
          .describe('... and among its last this many entries is not sealed again.'),
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

export { parseListen } from '../../common/units.js';
