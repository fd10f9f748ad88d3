// The `http` sink: config schema, defaults and factory (plus the shared HTTP request path).
export {
  HTTP_SINK_DEFAULTS,
  authSchema,
  headersSchema,
  httpSinkSchema,
  type HttpAuthConfig,
  type HttpSinkConfig,
} from './config.js';
export { createHttpSink, HttpSink, HttpTransport, redactUrl } from './sink.js';
