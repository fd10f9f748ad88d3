// The `splunk_hec` sink: config schema, defaults and factory, and the event builder.
export {
  EVENT_PATH,
  MIN_BATCH_BYTES,
  SPLUNK_HEC_DEFAULTS,
  eventUrl,
  splunkHecSinkSchema,
  type SplunkHecSinkConfig,
} from './config.js';
export { batchEvents, hecEvent, hecTime, type Batch, type EventMeta } from './events.js';
export { createSplunkHecSink, SplunkHecSink } from './sink.js';
