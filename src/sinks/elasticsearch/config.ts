// Config of the `elasticsearch` sink: the Bulk API of Elasticsearch and OpenSearch (POST <url>/_bulk,
// NDJSON `create` actions). The blocks every HTTP-based sink shares (headers, auth, TLS, timeouts,
// proxy) are in ../net/config.ts.
import { z } from 'zod';
import { size } from '../../common/units.js';
import { deliveryFields, sinkNameSchema } from '../delivery-config.js';
import { TRANSPORT_HEADERS, checkHeaders, httpClientFields, httpUrlSchema } from '../net/config.js';
import { indexPatternProblem } from './index-name.js';

export const ELASTICSEARCH_SINK_DEFAULTS = {
  index: 'opa-decisions-%Y.%m.%d',
  /** Elastic's advice for a bulk request is "a few MiB"; far below the default http.max_content_length (100mb). */
  max_bulk_bytes: 5 * 1024 * 1024,
  gzip: true,
} as const;

/** Bounds of max_bulk_bytes: one small decision must fit; Elasticsearch refuses bodies over 100 MiB by default. */
export const MIN_BULK_BYTES = 1024;
export const MAX_BULK_BYTES = 100 * 1024 * 1024;

const HEADER_VALUE_RE = /^[\t\x20-\x7e\x80-\xff]+$/;

export const elasticsearchSinkSchema = z
  .strictObject({
    name: sinkNameSchema,
    type: z.literal('elasticsearch'),
    url: httpUrlSchema('url', { query: false }).describe(
      'The cluster (Elasticsearch or OpenSearch), e.g. `https://es.example.com:9200`; requests go to `<url>/_bulk`. ' +
        'No `user:password@` (use `auth` or `api_key`), no query.',
    ),
    index: z
      .string()
      .default(ELASTICSEARCH_SINK_DEFAULTS.index)
      .superRefine((v, ctx) => {
        const problem = indexPatternProblem(v);
        if (problem) ctx.addIssue({ code: 'custom', message: `index ${problem}` });
      })
      .describe(
        'Index (or data stream) of each decision. `%Y` `%m` `%d` `%H` are the UTC year, month, day and hour of the ' +
          "decision's `timestamp` (of its sealing time when it has none); other characters: lowercase letters, " +
          'digits, `.` `_` `+` `-`.',
      ),
    api_key: z
      .string()
      .regex(HEADER_VALUE_RE, 'may not be empty or contain line breaks or control characters')
      .optional()
      .describe(
        'An API key, sent as `Authorization: ApiKey <api_key>`: the `encoded` value Elasticsearch returns when it ' +
          'creates the key. Write it as `${ENV}`; never logged. Instead of `auth`.',
      ),
    max_bulk_bytes: size(MIN_BULK_BYTES)
      .refine((n) => n <= MAX_BULK_BYTES, `at most ${MAX_BULK_BYTES} bytes (Elasticsearch's default limit)`)
      .default(ELASTICSEARCH_SINK_DEFAULTS.max_bulk_bytes)
      .describe(
        'Largest bulk request body before gzip; an object with more is sent as several requests. Keep it below the ' +
          "cluster's `http.max_content_length`.",
      ),
    gzip: z
      .boolean()
      .default(ELASTICSEARCH_SINK_DEFAULTS.gzip)
      .describe('Gzip each request body (`Content-Encoding: gzip`; Elasticsearch and OpenSearch accept it).'),
    ...httpClientFields,
    ...deliveryFields,
  })
  .superRefine(checkHeaders(TRANSPORT_HEADERS))
  .superRefine((c, ctx) => {
    if (c.api_key === undefined) return;
    if (c.auth !== undefined)
      ctx.addIssue({ code: 'custom', path: ['api_key'], message: 'set either api_key or auth, not both' });
    for (const name of Object.keys(c.headers))
      if (name.toLowerCase() === 'authorization')
        ctx.addIssue({
          code: 'custom',
          path: ['headers', name],
          message: 'set either api_key or an Authorization header, not both',
        });
  });

export type ElasticsearchSinkConfig = z.infer<typeof elasticsearchSinkSchema>;

// filter_path keeps the answer to what the sink reads (an item's status and error), so a large
// batch's answer stays small; Elasticsearch and OpenSearch both support it.
// https://www.elastic.co/docs/reference/elasticsearch/rest-apis/common-options#common-options-response-filtering
const FILTER_PATH = 'errors,items.*.status,items.*.error.type,items.*.error.reason';

/** `<url>/_bulk` with the response filter. */
export function bulkUrl(url: string): string {
  return `${url.replace(/\/+$/, '')}/_bulk?filter_path=${FILTER_PATH}`;
}
