// Config keys every sink has, whatever its type: how to retry and how much to upload at once.
import { z } from 'zod';
import { retrySchema } from './retry.js';

export const deliveryFields = {
  /** Backoff between attempts (see retry.ts). */
  retry: retrySchema,
  /** Objects uploaded concurrently; the cursor still only advances over a contiguous prefix. */
  in_flight: z.number().int().min(1).max(64).default(1),
};
