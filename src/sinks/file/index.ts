// The `file` sink: config schema, defaults and factory.
export { FILE_SINK_DEFAULTS, fileSinkSchema, type FileSinkConfig } from './config.js';
export { createFileSink, FileSink } from './sink.js';
