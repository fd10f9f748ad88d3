// The `otlp` sink: config schema and factory, the log records and their encodings.
export { MIN_BATCH_BYTES, OTLP_SINK_DEFAULTS, logsUrl, otlpSinkSchema, type OtlpSinkConfig } from './config.js';
export { CONTENT_TYPE, batchRecords, decodeResponse, encodeRequest, type Batch, type Encoding } from './encode.js';
export { decisionRecord, exportRequest, resourceOf, unixNanos } from './records.js';
export { MAX_ANSWER_BYTES, OtlpSink, RETRYABLE_STATUSES, createOtlpSink } from './sink.js';
