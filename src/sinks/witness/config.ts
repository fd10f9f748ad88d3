// Config of the `witness` sink: submits every signed checkpoint to a witness with the
// c2sp.org/tlog-witness add-checkpoint call and keeps the cosigned checkpoints it gets back.
import { z } from 'zod';
import { retrySchema } from '../retry.js';
import { sinkNameSchema } from '../delivery-config.js';
import { TRANSPORT_HEADERS, checkHeaders, httpClientFields, httpUrlSchema } from '../net/config.js';
import { MAX_SPAN_MS, duration } from '../../common/units.js';
import { S3_URL_ACCESS } from '../s3/config.js';

export const witnessSinkSchema = z
  .strictObject({
    name: sinkNameSchema,
    type: z.literal('witness'),
    url: httpUrlSchema('url', { query: false }).describe(
      "The witness's submission prefix: checkpoints are POSTed to `<url>/add-checkpoint` (c2sp.org/tlog-witness). " +
        'A `tailseal monitor` with `witness.listen` is one; any witness that speaks the protocol and trusts this ' +
        "daemon's verifier key for its origins is another.",
    ),
    key_file: z
      .string()
      .min(1)
      .describe(
        "The witness's verifier key (`.pub`, cosignature/v1, from `keygen --witness`): an answer counts only with a " +
          'valid cosignature by it.',
      ),
    store: z
      .string()
      .min(1)
      .optional()
      .describe(
        'Where the cosigned checkpoints go, in the witness store layout (`<origin>/<size>-<time>.cosigned`, ' +
          'docs/trail-format.md §8): a directory or `s3://bucket/prefix` (with `endpoint`, `region`, `path_style` ' +
          'and `object_lock` below), e.g. beside the trail objects, where the `--witness-store` of verify reads it. ' +
          'Without it the cosignatures are only logged and counted.',
      ),
    ...S3_URL_ACCESS,
    object_lock: z
      .strictObject({
        mode: z.enum(['GOVERNANCE', 'COMPLIANCE']).describe('Object Lock mode of each cosigned checkpoint.'),
        retention: duration(60_000, MAX_SPAN_MS).describe('Retain-until = upload time + this.'),
      })
      .optional()
      .describe('s3 `store`: Object Lock retention of each cosigned checkpoint.'),
    ...httpClientFields,
    retry: retrySchema,
    // One at a time: each submission proves consistency from the size the previous one reached.
    in_flight: z
      .literal(1)
      .default(1)
      .describe('Always 1: each checkpoint is proven consistent with the one submitted before it.'),
  })
  .superRefine(checkHeaders([...TRANSPORT_HEADERS]));

export type WitnessSinkConfig = z.infer<typeof witnessSinkSchema>;
