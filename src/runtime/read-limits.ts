// How large an object the daemon reads back from its own sinks (audit, lost-state recovery).
import type { Config } from '../config/schema.js';

/**
 * The read limit for this config's objects, stored and after gunzip. An object holds what was
 * pending (under checkpoint.max_bytes) plus the batch that crossed it, at most an input's
 * largest batch: an upload after gunzip, or a read chunk plus a long line. Entry lines escape
 * the payload and add ~200 bytes of fields each (small decisions nearly double), so 4x that.
 * Anything larger was not written by this config: ENTRY_MALFORMED instead of a gzip bomb's RSS.
 */
export function objectReadLimit(config: Pick<Config, 'checkpoint' | 'inputs'>): number {
  const batches = config.inputs.map((i) =>
    i.type === 'file' ? i.read_chunk_bytes + i.max_line_bytes : i.max_decoded_bytes,
  );
  const batch = Math.max(0, ...batches);
  return 4 * (config.checkpoint.max_bytes + batch);
}
