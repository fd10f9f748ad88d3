// Config of the `file` sink: a local write-once directory of trail objects.
import { z } from 'zod';
import { dirPath, nameSchema } from '../../config/units.js';
import { deliveryFields } from '../delivery-config.js';

export const FILE_SINK_DEFAULTS = { gzip: false } as const;

export const fileSinkSchema = z.strictObject({
  name: nameSchema(),
  type: z.literal('file'),
  /** Directory that receives the objects; created if missing. */
  dir: dirPath(),
  /** Gzip each object (name ends in .ndjson.gz). */
  gzip: z.boolean().default(FILE_SINK_DEFAULTS.gzip),
  ...deliveryFields,
});

export type FileSinkConfig = z.infer<typeof fileSinkSchema>;
