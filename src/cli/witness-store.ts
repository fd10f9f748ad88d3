// Opens a witness store given as `--witness-store` (or the monitor's `witness.store`): a directory,
// or an s3://bucket/prefix through the S3 client of the store options (src/cli opens S3 clients).
import { type WitnessWriter, fileWitnessWriter, s3WitnessWriter } from '../sinks/witness/writer.js';
import { parseS3Url } from '../sinks/s3/reader.js';
import { type StoreOptions, s3StoreClient } from './verify.js';

/** The writer for `store`: a directory, or s3://bucket/prefix with the store options of `o`. */
export function witnessWriter(o: Omit<StoreOptions, 'store'>, store: string): WitnessWriter {
  return parseS3Url(store) ? s3WitnessWriter(s3StoreClient({ ...o, store })) : fileWitnessWriter(store);
}
