// The `splunk_hec` sink: each sealed decision as a Splunk HEC event (events.ts), batched into
// POST <url>/services/collector/event with `Authorization: Splunk <token>`. Gap entries are not
// OPA events and are skipped (they stay sealed in the trail). These are copies for search; the
// proof stays in the trail sinks (file, s3, http).
//
// An object is acknowledged only when every batch got a 2xx from HEC. Without indexer
// acknowledgement (not supported here) a 2xx means HEC accepted the batch into its pipeline, not
// that it is searchable yet. A failed batch fails the put and the shipper resends the whole object,
// so Splunk can hold an event twice: dedupe on the indexed fields tailseal.stream + tailseal.seq.
import { gzipSync } from 'node:zlib';
import type { PutResult, Sink, SinkContext, TrailObject } from '../sink.js';
import { HttpTransport, redactUrl } from '../net/transport.js';
import { objectEvents } from '../decisions/events.js';
import { refusal } from './answers.js';
import { type SplunkHecSinkConfig, eventUrl } from './config.js';
import { type EventMeta, batchEvents, hecEvent } from './events.js';

/** The most of an answer read: HEC's are tens of bytes; a longer one is SINK_PERMANENT. */
export const MAX_ANSWER_BYTES = 64 * 1024;
/** Every non-2xx status is read here (HEC's code says more than the status). */
const ALL_STATUSES = Array.from({ length: 500 }, (_, i) => i + 100).filter((s) => s < 200 || s >= 300);

export class SplunkHecSink implements Sink {
  readonly type = 'splunk_hec';
  readonly name: string;
  private readonly transport: HttpTransport;
  private readonly url: string;
  private readonly target: string;
  private readonly meta: EventMeta;
  private readonly secrets: string[];

  constructor(
    private readonly config: SplunkHecSinkConfig,
    private readonly ctx: SinkContext,
  ) {
    this.name = config.name;
    const authorization = `Splunk ${config.token}`;
    // The token travels as a configured header of the shared transport (no auth block: HEC's scheme).
    this.transport = new HttpTransport(
      config.name,
      { ...config, headers: { ...config.headers, authorization } },
      ctx.log,
    );
    this.secrets = [config.token, authorization, ...Object.values(config.headers)];
    this.url = eventUrl(config.url);
    this.target = redactUrl(this.url);
    this.meta = { sourcetype: config.sourcetype, index: config.index, source: config.source, host: config.host };
  }

  async start(): Promise<void> {
    if (new URL(this.url).protocol === 'http:')
      this.ctx.log.warn(
        { sink: this.name, url: this.target },
        'The HEC token is sent over plain http://; use https:// outside a trusted network.',
      );
    this.transport.start(
      this.url,
      { max_batch_bytes: this.config.max_batch_bytes, gzip: this.config.gzip, sourcetype: this.config.sourcetype },
      'Splunk HEC sink ready.',
    );
  }

  async put(obj: TrailObject): Promise<PutResult> {
    const { name, events, gaps } = objectEvents(obj, false, this.name);
    if (events.length === 0) {
      this.ctx.log.debug({ sink: this.name, object: name, gaps }, 'No decisions in this object; nothing to send.');
      return 'stored';
    }
    // Batch everything before sending anything: an event too large fails the object up front.
    const texts = events.map((e) => hecEvent(obj.stream, e, this.meta));
    const batches = batchEvents(texts, events, this.config.max_batch_bytes, this.name, name);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.config.gzip) headers['content-encoding'] = 'gzip';
    for (const [i, b] of batches.entries()) {
      const first = events[b.first]!.seq;
      const last = events[b.first + b.count - 1]!.seq;
      const what = `POST ${this.target} (batch ${i + 1}/${batches.length} of ${name}, seq ${first}-${last})`;
      const body = this.config.gzip ? gzipSync(b.body) : b.body;
      const res = await this.transport.postText(this.url, headers, body, what, ALL_STATUSES, MAX_ANSWER_BYTES);
      if (res.status < 200 || res.status >= 300)
        throw refusal(this.name, what, res.status, res.headers, res.text, this.secrets, (k) =>
          k >= 0 && k < b.count ? events[b.first + k]!.seq : undefined,
        );
    }
    this.ctx.log.debug(
      { sink: this.name, object: name, events: events.length, batches: batches.length, gaps },
      'Decisions sent to HEC.',
    );
    return 'stored';
  }

  async close(): Promise<void> {
    await this.transport.close();
  }
}

export function createSplunkHecSink(config: SplunkHecSinkConfig, ctx: SinkContext): Sink {
  return new SplunkHecSink(config, ctx);
}
