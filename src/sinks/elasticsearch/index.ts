// The `elasticsearch` sink (Elasticsearch and OpenSearch Bulk API): config schema, defaults and factory.
export {
  ELASTICSEARCH_SINK_DEFAULTS,
  bulkUrl,
  elasticsearchSinkSchema,
  type ElasticsearchSinkConfig,
} from './config.js';
export { createElasticsearchSink, ElasticsearchSink } from './sink.js';
