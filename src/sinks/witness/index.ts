// The `witness` sink: config schema and factory.
export { witnessSinkSchema, type WitnessSinkConfig } from './config.js';
export { createWitnessSink, WitnessSink } from './sink.js';
