// The `file` input: its config schema and factory. The factory owns the file registry: it takes the host's
// state handle as one (registry.ts) and the host's PathGuard, if it offers one.
import { guardsPaths } from '../capabilities.js';
import type { SourceDeps } from '../source.js';
import type { FileInputConfig } from './config.js';
import { FileSource } from './file-source.js';
import { asFileRegistry } from './registry.js';

export { type FileInputConfig, fileInputSchema } from './config.js';

export function createFileSource(input: FileInputConfig, deps: SourceDeps): FileSource {
  return new FileSource(
    {
      input: input.name,
      stream: input.stream ?? input.name,
      paths: input.paths,
      maxLineBytes: input.max_line_bytes,
      longLines: input.long_lines,
      readChunkBytes: input.read_chunk_bytes,
      format: input.format,
      pollIntervalMs: input.poll_interval,
      rotateWaitMs: input.rotate_wait,
      watch: input.watch,
      maxOpenFiles: input.max_open_files,
      scanIntervalMs: input.scan_interval,
      unmatched: input.unmatched,
    },
    {
      registry: asFileRegistry(deps.state),
      consumer: deps.consumer,
      log: deps.log,
      protect: guardsPaths(deps) ? () => deps.protect() : undefined,
    },
  );
}
