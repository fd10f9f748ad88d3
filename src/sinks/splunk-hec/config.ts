// Config of the `splunk_hec` sink: Splunk's HTTP Event Collector, JSON event endpoint
// (POST <url>/services/collector/event, `Authorization: Splunk <token>`).
// https://docs.splunk.com/Documentation/Splunk/latest/Data/FormateventsforHTTPEventCollector
import { z } from 'zod';
import { size } from '../../common/units.js';
import { deliveryFields, sinkNameSchema } from '../delivery-config.js';
import { TRANSPORT_HEADERS, checkHeaders, httpClientFields, httpUrlSchema } from '../net/config.js';

export const SPLUNK_HEC_DEFAULTS = {
  sourcetype: 'opa:decision',
  /** Well within HEC's max_content_length of common deployments; batches of a few hundred decisions. */
  max_batch_bytes: 1024 * 1024,
  gzip: true,
} as const;

/** The smallest max_batch_bytes: room for one ordinary decision. */
export const MIN_BATCH_BYTES = 1024;
/** The path HEC's JSON event endpoint has below the base URL. */
export const EVENT_PATH = '/services/collector/event';

/** Visible characters and spaces only: the value goes into a header or an indexed field. */
const PRINTABLE = /^[\x20-\x7e\x80-\uffff]+$/;
const metaField = (what: string) =>
  z.string().min(1).max(1024).regex(PRINTABLE, 'no line breaks or control characters').optional().describe(what);

// Everything httpClientFields has but `auth`: the token is HEC's credential.
const { auth: _auth, ...clientFields } = httpClientFields;

export const splunkHecSinkSchema = z
  .strictObject({
    name: sinkNameSchema,
    type: z.literal('splunk_hec'),
    url: httpUrlSchema('url', { query: false }).describe(
      "HEC's base URL, e.g. `https://splunk.example.com:8088` (no path needed: events go to " +
        '`<url>/services/collector/event`; a URL that already ends in that path is used as it is).',
    ),
    token: z
      .string()
      .min(1)
      .regex(/^[\x21-\x7e]+$/, 'a HEC token has no spaces, line breaks or control characters')
      .describe('The HEC token, sent as `Authorization: Splunk <token>`. Write it as `${ENV}`; never logged.'),
    sourcetype: z
      .string()
      .min(1)
      .max(1024)
      .regex(PRINTABLE, 'no line breaks or control characters')
      .default(SPLUNK_HEC_DEFAULTS.sourcetype)
      .describe("Each event's `sourcetype`."),
    index: metaField("Each event's `index` (must be one the token may write to). Default: the token's default index."),
    source: metaField("Each event's `source`. Default: HEC's (the token's `source`, or `http:<token name>`)."),
    host: metaField("Each event's `host`. Default: HEC's (the client's address)."),
    max_batch_bytes: size(MIN_BATCH_BYTES)
      .default(SPLUNK_HEC_DEFAULTS.max_batch_bytes)
      .describe(
        'Largest request body before compression (events are batched up to it); keep it within the ' +
          "receiver's `max_content_length` (limits.conf `[http_input]`). A single event larger than this parks " +
          'its object.',
      ),
    gzip: z
      .boolean()
      .default(SPLUNK_HEC_DEFAULTS.gzip)
      .describe('Send request bodies gzip-compressed (`Content-Encoding: gzip`, which HEC accepts).'),
    ...clientFields,
    ...deliveryFields,
  })
  .superRefine(checkHeaders([...TRANSPORT_HEADERS, 'authorization', 'x-splunk-request-channel']));

export type SplunkHecSinkConfig = z.infer<typeof splunkHecSinkSchema>;

/** `<url>/services/collector/event`, unless `url` already ends in that path. */
export function eventUrl(url: string): string {
  const base = url.replace(/\/+$/, '');
  return base.endsWith(EVENT_PATH) ? base : `${base}${EVENT_PATH}`;
}
