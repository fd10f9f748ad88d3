// Reading a Bulk API answer (a 200 whose `items` say, in request order, what became of each
// action) into what the sink does next.
// https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-bulk (response body)
import { TailsealError } from '../../errors.js';
import { classifyStatus } from '../retry.js';

/** What became of one action that was not indexed. */
export interface ItemFailure {
  /** Index of the action in its request. */
  at: number;
  status: number;
  type: string;
  reason: string;
}

export interface BulkOutcome {
  /** 2xx items (201 created). */
  created: number;
  /** 409 items: the document is there already (an earlier try indexed it). */
  existed: number;
  /** 429 / 5xx items: worth sending again. */
  retry: ItemFailure[];
  /** Other items (4xx: mapping or parse errors ...): the cluster refuses the document. */
  rejected: ItemFailure[];
}

/**
 * The longest error type / reason kept of an item. The sink scrubs secrets before it shortens them
 * further for a message (a cut first could leave part of a secret unrecognised).
 */
const MAX_TEXT = 4096;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const text = (v: unknown): string => (typeof v === 'string' ? v.slice(0, MAX_TEXT) : '');

/**
 * The outcome of a 200 answer to a request of `count` actions. An answer that is not a Bulk API
 * answer for exactly those actions (not JSON, no `items`, another count, an item without a
 * status) is SINK_PERMANENT: the URL is likely not a cluster (a proxy's page), and sending again
 * would not help until someone looks.
 */
export function readBulkAnswer(body: string, count: number, sink: string, what: string): BulkOutcome {
  const bad = (why: string) =>
    new TailsealError(
      'SINK_PERMANENT',
      `sink ${sink}: ${what} answered 200 but not as the Bulk API does (${why}); check that url is the cluster`,
      { details: { status: 200 } },
    );
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw bad('not JSON');
  }
  if (!isObject(parsed) || !Array.isArray(parsed.items)) throw bad('no items');
  const items = parsed.items as unknown[];
  if (items.length !== count) throw bad(`${items.length} items for ${count} actions`);
  const out: BulkOutcome = { created: 0, existed: 0, retry: [], rejected: [] };
  items.forEach((item, at) => {
    // Each item is {"<action>": {...}}; the sink sends only `create`.
    const inner = isObject(item) ? Object.values(item)[0] : undefined;
    const status = isObject(inner) ? inner.status : undefined;
    if (typeof status !== 'number' || !Number.isInteger(status)) throw bad(`item ${at} has no status`);
    if (status >= 200 && status < 300) out.created++;
    else if (status === 409) out.existed++;
    else {
      const error = isObject(inner) && isObject(inner.error) ? inner.error : {};
      const f: ItemFailure = { at, status, type: text(error.type), reason: text(error.reason) };
      (classifyStatus(status) === 'retryable' ? out.retry : out.rejected).push(f);
    }
  });
  return out;
}
