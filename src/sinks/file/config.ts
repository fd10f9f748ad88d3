// Config of the `file` sink: a local write-once directory of trail objects.
import { z } from 'zod';
import { dirPath } from '../../common/units.js';
import { deliveryFields, sinkNameSchema } from '../delivery-config.js';

export const FILE_SINK_DEFAULTS = { gzip: false } as const;

export const fileSinkSchema = z.strictObject({
  name: sinkNameSchema,
  type: z.literal('file'),
  dir: dirPath().describe('Directory that receives the objects (`<dir>/<stream>/<name>`); created if missing.'),
  gzip: z.boolean().default(FILE_SINK_DEFAULTS.gzip).describe('Gzip each object (`.ndjson.gz`).'),
  ...deliveryFields,
});

export type FileSinkConfig = z.infer<typeof fileSinkSchema>;
