// Config of the `opa` sink: OPA's own decision-log upload protocol (POST <url><resource>, a
// gzip'd JSON array of events), so any service that accepts OPA's uploads accepts tailseal's.
import { z } from 'zod';
import { size } from '../../common/units.js';
import { deliveryFields, sinkNameSchema } from '../delivery-config.js';
import { TRANSPORT_HEADERS, checkHeaders, httpClientFields, httpUrlSchema } from '../net/config.js';

export const OPA_SINK_DEFAULTS = {
  resource: '/logs',
  /** OPA's default `reporting.upload_size_limit_bytes`. */
  upload_size_limit_bytes: 32768,
  include_seal: true,
} as const;

/** OPA clamps upload_size_limit_bytes to at least 90 bytes; so do we (as a config error). */
export const MIN_UPLOAD_SIZE_LIMIT = 90;

export const opaSinkSchema = z
  .strictObject({
    name: sinkNameSchema,
    type: z.literal('opa'),
    url: httpUrlSchema('url', { query: false }).describe(
      "The service's base URL (OPA's `services[_].url`; `http://` or `https://`, no query).",
    ),
    resource: z
      .string()
      .regex(/^\/?[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$/, 'a URL path such as "/logs"')
      .default(OPA_SINK_DEFAULTS.resource)
      .describe(
        "OPA's `decision_logs.resource`: path joined to `url` as OPA joins them: `<url>/<resource>` with the slashes " +
          'around `resource` trimmed.',
      ),
    upload_size_limit_bytes: size(MIN_UPLOAD_SIZE_LIMIT)
      .default(OPA_SINK_DEFAULTS.upload_size_limit_bytes)
      .describe(
        "Largest **gzip'd** body per POST, as OPA's `decision_logs.reporting.upload_size_limit_bytes`; at least 90.",
      ),
    include_seal: z
      .boolean()
      .default(OPA_SINK_DEFAULTS.include_seal)
      .describe(
        'Add a `tailseal` field (stream, seq, chain, object) to each event and the `X-Tailseal-*` headers ' +
          '([opa sink](operations.md#opa-sink)).',
      ),
    ...httpClientFields,
    ...deliveryFields,
  })
  .superRefine(checkHeaders([...TRANSPORT_HEADERS, 'x-tailseal-object', 'x-tailseal-checkpoint', 'x-tailseal-chunk']));

export type OpaSinkConfig = z.infer<typeof opaSinkSchema>;

/**
 * `<url>/<resource>` joined the way OPA's REST client joins a service URL and a path (slashes
 * around the resource trimmed, one "/" between).
 */
export function uploadUrl(c: Pick<OpaSinkConfig, 'url' | 'resource'>): string {
  return `${c.url.replace(/\/+$/, '')}/${c.resource.replace(/^\/+|\/+$/g, '')}`;
}
