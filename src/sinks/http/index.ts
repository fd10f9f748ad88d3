// The `http` sink: config schema, defaults and factory.
export { HTTP_SINK_DEFAULTS, httpSinkSchema, type HttpSinkConfig } from './config.js';
export { createHttpSink, HttpSink } from './sink.js';
