// Config keys every sink has, whatever its type: its name, how to retry and how much to upload at once.
import { z } from 'zod';
import { nameSchema } from '../common/units.js';
import { retrySchema } from './retry.js';

export const sinkNameSchema = nameSchema().describe('Unique name (as `inputs[].name`).');

export const deliveryFields = {
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
