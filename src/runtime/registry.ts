// The plugin registry: input type -> source factory, sink type -> sink factory. Adding a kind
// adds its folder and one line here; the daemon and `tailseal check-sink` build units through it.
import type { InputConfig, SinkConfig } from '../config/schema.js';
import type { Sink, SinkContext, SinkFactory } from '../sinks/sink.js';
import { createFileSource } from '../sources/file/index.js';
import { createOpaServiceSource } from '../sources/opa-service/index.js';
import type { Source, SourceDeps, SourceFactory } from '../sources/source.js';

/** Input type -> factory. A new source kind adds its folder and one line here. */
const SOURCE_FACTORIES: { [K in InputConfig['type']]: SourceFactory<Extract<InputConfig, { type: K }>> } = {
  file: createFileSource,
  opa_service: createOpaServiceSource,
};

/**
 * Sink type -> factory. A new sink kind adds its folder and one line here. Each kind's code is
 * loaded when a config first uses it, so a file-only daemon never loads the HTTP client
 * (undici and the S3 code are about 15 MB of a sidecar's memory).
 */
const SINK_FACTORIES: { [K in SinkConfig['type']]: () => Promise<SinkFactory<Extract<SinkConfig, { type: K }>>> } = {
  file: async () => (await import('../sinks/file/index.js')).createFileSink,
  s3: async () => (await import('../sinks/s3/index.js')).createS3Sink,
  http: async () => (await import('../sinks/http/index.js')).createHttpSink,
  opa: async () => (await import('../sinks/opa/index.js')).createOpaSink,
  witness: async () => (await import('../sinks/witness/index.js')).createWitnessSink,
  elasticsearch: async () => (await import('../sinks/elasticsearch/index.js')).createElasticsearchSink,
  splunk_hec: async () => (await import('../sinks/splunk-hec/index.js')).createSplunkHecSink,
  otlp: async () => (await import('../sinks/otlp/index.js')).createOtlpSink,
};

/** Builds units from their validated config (the daemon takes one, so tests can inject fakes). */
export interface Registry {
  /** A source for `input`, not started. */
  createSource(input: InputConfig, deps: SourceDeps): Source;
  /** A sink for `config`, not started (its kind's code is loaded on first use). */
  createSink(config: SinkConfig, ctx: SinkContext): Promise<Sink>;
}

export function createSource(input: InputConfig, deps: SourceDeps): Source {
  const factory = SOURCE_FACTORIES[input.type] as SourceFactory<InputConfig>;
  return factory(input, deps);
}

export async function createSink(config: SinkConfig, ctx: SinkContext): Promise<Sink> {
  const factory = (await SINK_FACTORIES[config.type]()) as SinkFactory<SinkConfig>;
  return factory(config, ctx);
}

/** Every built-in source and sink kind. */
export const builtinRegistry: Registry = { createSource, createSink };
