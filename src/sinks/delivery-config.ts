// Config keys every sink has, whatever its type: its name, how to retry and how much to upload at once.
import { z } from 'zod';
import { nameSchema } from '../common/units.js';
import { retrySchema } from './retry.js';

export const sinkNameSchema = nameSchema().describe('Unique name (as `inputs[].name`).');

export const deliveryFields = {
  streams: z
    .array(nameSchema())
    .min(1)
    .optional()
    .describe(
      'Only the objects of these streams go to this sink (the others are acknowledged for it without being sent): ' +
        'e.g. a bucket with a long COMPLIANCE retention for one stream, a 90-day GOVERNANCE one for the rest. ' +
        'Default: every stream.',
    ),
  /** Backoff between attempts (see retry.ts). */
  retry: retrySchema,
  in_flight: z
    .number()
    .int()
    .min(1)
    .max(64)
    .default(1)
    .describe(
      "Objects uploaded at once; the sink's cursor still advances only over a contiguous prefix of stored objects.",
    ),
};
