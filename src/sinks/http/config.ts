// Config of the `http` sink (POST each trail object to a collector). The blocks every HTTP-based
// sink shares (target URL check, extra headers, credentials, TLS, timeouts) are in ../net/config.ts.
import { z } from 'zod';
import { deliveryFields, sinkNameSchema } from '../delivery-config.js';
import { TRANSPORT_HEADERS, checkHeaders, httpClientFields, httpUrlSchema } from '../net/config.js';

export const HTTP_SINK_DEFAULTS = { gzip: true } as const;

export const httpSinkSchema = z
  .strictObject({
    name: sinkNameSchema,
    type: z.literal('http'),
    url: httpUrlSchema('url', { query: true }).describe(
      '`http://` or `https://` URL that every object is POSTed to. No `user:password@` (use `auth`); a query string ' +
        'is sent but never logged.',
    ),
    gzip: z
      .boolean()
      .default(HTTP_SINK_DEFAULTS.gzip)
      .describe('Gzip the body (`Content-Encoding: gzip`); the object name then ends in `.ndjson.gz`.'),
    ...httpClientFields,
    ...deliveryFields,
  })
  .superRefine(checkHeaders([...TRANSPORT_HEADERS, 'idempotency-key', 'x-tailseal-object']));

export type HttpSinkConfig = z.infer<typeof httpSinkSchema>;
