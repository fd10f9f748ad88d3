// The `s3` sink: config schema, defaults and factory.
export { S3_SINK_DEFAULTS, s3SinkSchema, type S3SinkConfig } from './config.js';
export { createS3Sink, S3Sink, retentionHeaders, s3ClientFor, s3Key } from './sink.js';
