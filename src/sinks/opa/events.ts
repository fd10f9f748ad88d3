// OPA's upload chunks: each POST body is a gzip'd JSON array whose compressed size is at most
// upload_size_limit_bytes. The events come from the trail objects (../decisions/events.ts).
import { gzipSync } from 'node:zlib';
import { TailsealError } from '../../errors.js';
import type { DecisionEvent } from '../decisions/events.js';

/** What chunking reads of an event. */
type Chunkable = Pick<DecisionEvent, 'seq' | 'json' | 'decisionId'>;

export interface Chunk {
  /** gzip(JSON array of the events), at most the limit. */
  body: Buffer;
  /** Index of the first event in the input and how many it holds. */
  first: number;
  count: number;
}

/** Where chunk packing stops once a chunk is this full (OPA holds its chunks at 90–100 %). */
const GOOD_FILL = 0.9;
/** The fill aimed at when estimating how many events fit. */
const TARGET_FILL = 0.95;
/** Interpolation steps before falling back to bisection (bounds the gzip calls per chunk). */
const MAX_GUESSES = 4;

function gzipArray(events: readonly Chunkable[], first: number, count: number): Buffer {
  let s = '[';
  for (let k = 0; k < count; k++) s += (k === 0 ? '' : ',') + events[first + k]!.json;
  return gzipSync(Buffer.from(`${s}]`, 'utf8'));
}

/**
 * Splits the events into consecutive chunks, each a gzip'd JSON array of at most `limit` bytes,
 * in order, every event exactly once. A chunk takes as many events as fit, found by estimating
 * from the compression ratio and confirming with real gzip (a few gzip calls per chunk). An
 * event that alone compresses to more than `limit` is a SINK_PERMANENT error naming its seq:
 * it is never dropped, and nothing of the object is sent.
 */
export function chunkEvents(events: readonly Chunkable[], limit: number, sink: string, object: string): Chunk[] {
  const n = events.length;
  // prefix[k] = bytes of events[0..k) as array members (text length + 1 for the comma/bracket).
  const prefix = new Float64Array(n + 1);
  for (let k = 0; k < n; k++) prefix[k + 1] = prefix[k]! + Buffer.byteLength(events[k]!.json, 'utf8') + 1;
  const plainBytes = (first: number, count: number) => prefix[first + count]! - prefix[first]! + 1;
  // Largest count whose plain size times `ratio` stays within the target.
  const estimate = (first: number, ratio: number): number => {
    const budget = (limit * TARGET_FILL) / ratio;
    let lo = 1;
    let hi = n - first;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (plainBytes(first, mid) <= budget) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };

  const chunks: Chunk[] = [];
  let ratio = 0.25;
  let i = 0;
  while (i < n) {
    const rest = n - i;
    let lo = 0; // largest count known to fit
    let loBody: Buffer | null = null;
    let hi = rest + 1; // smallest count known not to fit
    let k = estimate(i, ratio);
    for (let guess = 1; ; guess++) {
      const body = gzipArray(events, i, k);
      ratio = Math.max(body.length / plainBytes(i, k), 1e-4);
      if (body.length <= limit) {
        lo = k;
        loBody = body;
        if (k === rest || body.length >= limit * GOOD_FILL) break;
      } else {
        hi = k;
      }
      if (hi - lo <= 1) break;
      let next = guess < MAX_GUESSES ? estimate(i, ratio) : Math.floor((lo + hi) / 2);
      if (next <= lo || next >= hi) next = Math.floor((lo + hi) / 2);
      k = next;
    }
    if (lo === 0 || !loBody) {
      const e = events[i]!;
      const size = gzipArray(events, i, 1).length;
      throw new TailsealError(
        'SINK_PERMANENT',
        `sink ${sink}: the event of entry seq ${e.seq}${e.decisionId ? ` (decision_id ${e.decisionId})` : ''} in ` +
          `${object} is ${size} bytes gzip'd, over upload_size_limit_bytes ${limit}; it is not dropped: raise ` +
          `upload_size_limit_bytes (and the receiver's limit) to deliver it`,
        { details: { seq: e.seq, object, size, limit } },
      );
    }
    chunks.push({ body: loBody, first: i, count: lo });
    i += lo;
  }
  return chunks;
}
