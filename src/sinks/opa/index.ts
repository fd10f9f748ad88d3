// The `opa` sink: config schema, defaults and factory, and the event/chunk builders.
export { MIN_UPLOAD_SIZE_LIMIT, OPA_SINK_DEFAULTS, opaSinkSchema, uploadUrl, type OpaSinkConfig } from './config.js';
export {
  CONSOLE_KEYS,
  SEAL_FIELD,
  chunkEvents,
  consoleLineToEvent,
  objectEvents,
  type Chunk,
  type ObjectEvents,
  type OpaEvent,
} from './events.js';
export { createOpaSink, OpaSink } from './sink.js';
