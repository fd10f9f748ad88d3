// The Bulk API body: per decision one `create` action line and one document line (NDJSON), packed
// in seq order into requests of at most max_bulk_bytes.
// https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-bulk
import { TailsealError } from '../../errors.js';
import { type DecisionEvent, SEAL_FIELD, members } from '../decisions/events.js';
import { indexName } from './index-name.js';

/** One decision as bulk lines. */
export interface BulkDoc {
  seq: number;
  decisionId: string | undefined;
  index: string;
  id: string;
  /** `<action>\n<document>\n`. */
  lines: Buffer;
}

/** Hex digits of the chain value in a document's `_id`. */
export const ID_CHAIN_HEX = 16;

/**
 * The `_id` of entry `seq` of `stream`: `<stream>:<seq>:<first 16 hex digits of its chain value>`.
 * The same entry always gets the same `_id` (a retried or requeued request answers 409 instead
 * of indexing twice); the chain part keeps two trails that reuse a stream name (another
 * instance, or new chains after a lost state) from claiming each other's ids.
 */
export function documentId(stream: string, seq: number, chain: string): string {
  return `${stream}:${seq}:${chain.slice(0, ID_CHAIN_HEX)}`;
}

/**
 * The document of an event built with its seal (objectEvents(obj, true)): the event's members as
 * they are, then `@timestamp` (the decision's `timestamp`, else its sealing time, as ISO 8601 UTC
 * in ms) and the `tailseal` member last. A member `@timestamp` the event may already have is
 * replaced, since a duplicate key makes Elasticsearch reject the document.
 */
export function bulkDoc(e: DecisionEvent, stream: string, pattern: string): BulkDoc {
  const all = members(e.json);
  const seal = all.pop();
  if (seal?.[0] !== SEAL_FIELD) throw new Error('bulkDoc: the event has no seal member'); // a programming error
  const ms = e.fields.timestampMs ?? e.sealedAt;
  const timestamp = new Date(ms).toISOString();
  const kept = all.filter(([key]) => key !== '@timestamp').map(([, k, v]) => `${k}:${v}`);
  kept.push(`"@timestamp":"${timestamp}"`, `${seal[1]}:${seal[2]}`);
  const index = indexName(pattern, ms);
  const id = documentId(stream, e.seq, e.chain);
  const action = JSON.stringify({ create: { _index: index, _id: id } });
  return {
    seq: e.seq,
    decisionId: e.decisionId,
    index,
    id,
    lines: Buffer.from(`${action}\n{${kept.join(',')}}\n`, 'utf8'),
  };
}

/** One bulk request: docs[first, first + count). */
export interface Bulk {
  first: number;
  count: number;
  body: Buffer;
}

/**
 * Packs the documents, in order, into bodies of at most `maxBytes`. A document that alone is
 * larger is a SINK_PERMANENT naming its seq, thrown before anything of the object is sent: it is
 * never dropped.
 */
export function packBulks(docs: readonly BulkDoc[], maxBytes: number, sink: string, object: string): Bulk[] {
  const out: Bulk[] = [];
  let first = 0;
  let bytes = 0;
  const close = (end: number) => {
    if (end > first)
      out.push({
        first,
        count: end - first,
        body: Buffer.concat(
          docs.slice(first, end).map((d) => d.lines),
          bytes,
        ),
      });
    first = end;
    bytes = 0;
  };
  docs.forEach((d, i) => {
    const n = d.lines.length;
    if (n > maxBytes)
      throw new TailsealError(
        'SINK_PERMANENT',
        `sink ${sink}: the document of entry seq ${d.seq}${d.decisionId ? ` (decision_id ${d.decisionId})` : ''} in ` +
          `${object} is ${n} bytes with its action line, over max_bulk_bytes ${maxBytes}; it is not dropped: raise ` +
          "max_bulk_bytes (and the cluster's http.max_content_length if needed) and run `tailseal requeue`",
        { details: { seq: d.seq, object, size: n, limit: maxBytes } },
      );
    if (bytes + n > maxBytes) close(i);
    bytes += n;
  });
  close(docs.length);
  return out;
}
