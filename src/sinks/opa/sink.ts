// The `opa` sink: speaks OPA's decision-log service protocol (POST <url><resource>, body = gzip'd
// JSON array of events, Content-Encoding: gzip), so any service that accepts OPA's own uploads
// accepts tailseal's. Each decision entry becomes the OPA event it came from (events.ts); gap
// entries are not OPA events and are skipped (they stay sealed in the trail). With include_seal
// each event carries a `tailseal` field naming its sealed entry, and every request carries the
// object's signed checkpoint (base64) in X-Tailseal-Checkpoint.
//
// An object is acknowledged only when every chunk got a 2xx. A failed chunk fails the put; the
// shipper retries the whole object later, so a receiver may see a chunk twice and must dedupe by
// decision_id, exactly as it must for OPA's own retried uploads.
import type { PutResult, Sink, SinkContext, TrailObject } from '../sink.js';
import { HttpTransport, redactUrl } from '../net/transport.js';
import { type OpaSinkConfig, uploadUrl } from './config.js';
import { objectEvents } from '../decisions/events.js';
import { chunkEvents } from './events.js';

export class OpaSink implements Sink {
  readonly type = 'opa';
  readonly name: string;
  private readonly transport: HttpTransport;
  private readonly url: string;
  private readonly target: string;

  constructor(
    private readonly config: OpaSinkConfig,
    private readonly ctx: SinkContext,
  ) {
    this.name = config.name;
    this.transport = new HttpTransport(config.name, config, ctx.log);
    this.url = uploadUrl(config);
    this.target = redactUrl(this.url);
  }

  async start(): Promise<void> {
    this.transport.start(
      this.url,
      { upload_size_limit_bytes: this.config.upload_size_limit_bytes, include_seal: this.config.include_seal },
      'OPA decision-log sink ready.',
    );
  }

  async put(obj: TrailObject): Promise<PutResult> {
    const { name, note, events, gaps } = objectEvents(obj, this.config.include_seal, this.name);
    if (events.length === 0) {
      // A heartbeat, or only gap records: nothing OPA-shaped to send.
      this.ctx.log.debug({ sink: this.name, object: name, gaps }, 'No decisions in this object; nothing to upload.');
      return 'stored';
    }
    // Chunk everything before sending anything: an event too large for the limit fails the
    // object up front (SINK_PERMANENT) instead of after a partial upload.
    const chunks = chunkEvents(events, this.config.upload_size_limit_bytes, this.name, name);
    const sealHeaders: Record<string, string> = this.config.include_seal
      ? { 'x-tailseal-object': name, 'x-tailseal-checkpoint': Buffer.from(note, 'utf8').toString('base64') }
      : {};
    for (const [i, c] of chunks.entries()) {
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'content-encoding': 'gzip',
        ...sealHeaders,
      };
      if (this.config.include_seal) headers['x-tailseal-chunk'] = `${i + 1}/${chunks.length}`;
      const first = events[c.first]!.seq;
      const last = events[c.first + c.count - 1]!.seq;
      await this.transport.post(
        this.url,
        headers,
        c.body,
        `POST ${this.target} (chunk ${i + 1}/${chunks.length} of ${name}, seq ${first}-${last})`,
      );
    }
    this.ctx.log.debug(
      { sink: this.name, object: name, events: events.length, chunks: chunks.length, gaps },
      'Decisions uploaded.',
    );
    return 'stored';
  }

  async close(): Promise<void> {
    await this.transport.close();
  }
}

export function createOpaSink(config: OpaSinkConfig, ctx: SinkContext): Sink {
  return new OpaSink(config, ctx);
}
