// Config of the `otlp` sink: OpenTelemetry logs over OTLP/HTTP, one log record per decision.
// https://opentelemetry.io/docs/specs/otlp/#otlphttp
import { z } from 'zod';
import { size } from '../../common/units.js';
import { deliveryFields, sinkNameSchema } from '../delivery-config.js';
import { TRANSPORT_HEADERS, checkHeaders, httpClientFields, httpUrlSchema } from '../net/config.js';

export const OTLP_SINK_DEFAULTS = {
  encoding: 'protobuf',
  gzip: true,
  /** Well under the OpenTelemetry Collector's default request limit (confighttp: 20 MiB) and Fluent Bit's 4 MiB. */
  max_batch_bytes: 1024 * 1024,
  resource: { 'service.name': 'opa' },
} as const;

/** The smallest max_batch_bytes: one record of a small decision with its attributes fits. */
export const MIN_BATCH_BYTES = 4096;

/** Resource attribute keys: OpenTelemetry attribute names (dotted lowercase words in practice). */
const ATTRIBUTE_KEY_RE = /^[A-Za-z0-9_.\-/]{1,255}$/;

export const otlpSinkSchema = z
  .strictObject({
    name: sinkNameSchema,
    type: z.literal('otlp'),
    endpoint: httpUrlSchema('endpoint', { query: false })
      .optional()
      .describe(
        "The OTLP/HTTP base URL (`http://collector:4318`); logs go to `<endpoint>/v1/logs`, as OTLP exporters' " +
          '`OTEL_EXPORTER_OTLP_ENDPOINT`. Set this or `logs_url`.',
      ),
    logs_url: httpUrlSchema('logs_url', { query: true })
      .optional()
      .describe(
        'The full URL logs are POSTed to, used as it is (`OTEL_EXPORTER_OTLP_LOGS_ENDPOINT`); instead of `endpoint`.',
      ),
    encoding: z
      .enum(['protobuf', 'json'])
      .default(OTLP_SINK_DEFAULTS.encoding)
      .describe(
        '`protobuf` (binary, `Content-Type: application/x-protobuf`, what every receiver takes) or `json` ' +
          "(OTLP's JSON encoding, `application/json`).",
      ),
    gzip: z.boolean().default(OTLP_SINK_DEFAULTS.gzip).describe('Compress each request (`Content-Encoding: gzip`).'),
    max_batch_bytes: size(MIN_BATCH_BYTES)
      .default(OTLP_SINK_DEFAULTS.max_batch_bytes)
      .describe(
        'Largest encoded request body **before** gzip; an object with more decisions is sent as several requests. ' +
          "Keep it under the receiver's limit. At least 4 KiB.",
      ),
    resource: z
      .record(z.string().regex(ATTRIBUTE_KEY_RE, 'an attribute name such as service.name'), z.string().max(1024))
      .default({ ...OTLP_SINK_DEFAULTS.resource })
      .describe(
        'Static resource attributes (`service.name: opa`, `deployment.environment.name: prod`), added to ' +
          '`host.name` and the container metadata of each decision; a key set here wins. Default ' +
          '`{service.name: opa}`.',
      ),
    ...httpClientFields,
    ...deliveryFields,
  })
  .superRefine(checkHeaders([...TRANSPORT_HEADERS]))
  .superRefine((c, ctx) => {
    if ((c.endpoint === undefined) === (c.logs_url === undefined))
      ctx.addIssue({ code: 'custom', message: 'set either endpoint or logs_url (one of them)' });
  });

export type OtlpSinkConfig = z.infer<typeof otlpSinkSchema>;

/** Where logs are POSTed: `logs_url`, or `<endpoint>/v1/logs` (the spec's signal path). */
export function logsUrl(c: Pick<OtlpSinkConfig, 'endpoint' | 'logs_url'>): string {
  if (c.logs_url !== undefined) return c.logs_url;
  return `${c.endpoint!.replace(/\/+$/, '')}/v1/logs`;
}
