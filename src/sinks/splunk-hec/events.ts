// A decision as a HEC event, and events packed into request bodies. HEC's JSON event endpoint
// takes a batch as event objects written one after another (no array, no separator needed):
// {"time":<epoch seconds>,"sourcetype":..,"index":..,"source":..,"host":..,"event":<the OPA event>,
//  "fields":{<indexed fields: string values only>}}
// https://docs.splunk.com/Documentation/Splunk/latest/Data/FormateventsforHTTPEventCollector
import { TailsealError } from '../../errors.js';
import type { DecisionEvent } from '../decisions/events.js';

/** What every event of a sink carries besides the decision (absent keys: HEC's defaults). */
export interface EventMeta {
  sourcetype: string;
  index?: string | undefined;
  source?: string | undefined;
  host?: string | undefined;
}

/**
 * Unix ms as HEC's `time` JSON number text: seconds with exactly three decimals, written from the
 * integer so no float formatting can round it (1764400000123 -> 1764400000.123).
 */
export function hecTime(ms: number): string {
  const t = Math.round(ms);
  const s = Math.floor(t / 1000);
  return `${s}.${String(t - s * 1000).padStart(3, '0')}`;
}

/**
 * One decision as HEC event JSON text. `event` is the OPA event's own text (no re-serialising);
 * `time` is the decision's `timestamp`, or when it has none (console lines carry only logrus'
 * second-precision `time`, which the event no longer has) the moment it was sealed. The indexed
 * fields are strings, as HEC requires (an object or number there is refused with code 15).
 */
export function hecEvent(stream: string, e: DecisionEvent, meta: EventMeta): string {
  const f = e.fields;
  const fields: Record<string, string> = {};
  if (f.decisionId !== undefined) fields.decision_id = f.decisionId;
  if (f.path !== undefined) fields.path = f.path;
  if (f.allow !== undefined) fields.allow = String(f.allow);
  fields['tailseal.stream'] = stream;
  fields['tailseal.seq'] = String(e.seq);
  fields['tailseal.chain'] = e.chain;
  let s = `{"time":${hecTime(f.timestampMs ?? e.sealedAt)},"sourcetype":${JSON.stringify(meta.sourcetype)}`;
  if (meta.index !== undefined) s += `,"index":${JSON.stringify(meta.index)}`;
  if (meta.source !== undefined) s += `,"source":${JSON.stringify(meta.source)}`;
  if (meta.host !== undefined) s += `,"host":${JSON.stringify(meta.host)}`;
  return `${s},"event":${e.json},"fields":${JSON.stringify(fields)}}`;
}

/** One request body: the events [first, first + count) of the input, concatenated. */
export interface Batch {
  body: Buffer;
  first: number;
  count: number;
}

/**
 * Packs the event texts in order into bodies of at most `maxBytes` (UTF-8, before compression),
 * every event exactly once. An event that alone is larger is a SINK_PERMANENT error naming its seq
 * (nothing of the object is sent): it is never dropped.
 */
export function batchEvents(
  texts: readonly string[],
  events: readonly Pick<DecisionEvent, 'seq' | 'decisionId'>[],
  maxBytes: number,
  sink: string,
  object: string,
): Batch[] {
  const batches: Batch[] = [];
  let parts: Buffer[] = [];
  let bytes = 0;
  let first = 0;
  const flush = (end: number) => {
    if (parts.length > 0) batches.push({ body: Buffer.concat(parts, bytes), first, count: end - first });
    parts = [];
    bytes = 0;
    first = end;
  };
  texts.forEach((text, i) => {
    const b = Buffer.from(text, 'utf8');
    if (b.length > maxBytes) {
      const e = events[i]!;
      throw new TailsealError(
        'SINK_PERMANENT',
        `sink ${sink}: the HEC event of entry seq ${e.seq}${e.decisionId ? ` (decision_id ${e.decisionId})` : ''} ` +
          `in ${object} is ${b.length} bytes, over max_batch_bytes ${maxBytes}; it is not dropped: raise ` +
          `max_batch_bytes (and HEC's max_content_length) to deliver it`,
        { details: { seq: e.seq, object, size: b.length, limit: maxBytes } },
      );
    }
    if (bytes + b.length > maxBytes) flush(i);
    parts.push(b);
    bytes += b.length;
  });
  flush(texts.length);
  return batches;
}
