// The `opa` sink: config schema, defaults and factory, and the chunk builder.
export { MIN_UPLOAD_SIZE_LIMIT, OPA_SINK_DEFAULTS, opaSinkSchema, uploadUrl, type OpaSinkConfig } from './config.js';
export { chunkEvents, type Chunk } from './events.js';
export { createOpaSink, OpaSink } from './sink.js';
