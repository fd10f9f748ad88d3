// The `otlp` sink: every sealed decision as one OpenTelemetry log record, exported over OTLP/HTTP
// (POST <endpoint>/v1/logs, protobuf or JSON, optionally gzip'd) to an OpenTelemetry Collector or
// any backend that takes OTLP. A copy for search, not proof: the seal's attributes
// (tailseal.stream/seq/chain/object) point to the entry in the trail (file, s3, http sinks).
// https://opentelemetry.io/docs/specs/otlp/#otlphttp
//
// Answers (https://opentelemetry.io/docs/specs/otlp/#otlphttp-response): a 2xx is success; its
// partial_success names records the receiver rejected, which the spec says not to retry: they are
// logged and counted, and the object is acknowledged. 429, 502, 503 and 504 are retryable (with
// Retry-After honoured); every other status is permanent (the object is parked). An object is
// acknowledged only when all its requests succeeded; a failed request fails the put and the whole
// object is sent again later, so a receiver may see a record twice (dedupe by opa.decision_id).
import { gzipSync } from 'node:zlib';
import { TailsealError, isTailsealError } from '../../errors.js';
import { objectEvents } from '../decisions/events.js';
import { scrubSecrets } from '../net/errors.js';
import { HttpTransport, redactUrl } from '../net/transport.js';
import type { PutResult, Sink, SinkContext, TrailObject } from '../sink.js';
import { type OtlpSinkConfig, logsUrl } from './config.js';
import { CONTENT_TYPE, batchRecords, decodeResponse } from './encode.js';
import { decisionRecord, resourceOf } from './records.js';

/** The statuses the spec calls retryable; the others are not. */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);
/** Largest answer read: an ExportLogsServiceResponse is a count and a message. */
export const MAX_ANSWER_BYTES = 64 * 1024;
/** How much of a receiver's partial_success error_message is logged. */
const MESSAGE_CHARS = 300;

export class OtlpSink implements Sink {
  readonly type = 'otlp';
  readonly name: string;
  private readonly transport: HttpTransport;
  private readonly url: string;
  private readonly target: string;
  /** Log records receivers rejected in partial successes since start (not retried, per the spec). */
  rejectedRecords = 0;

  constructor(
    private readonly config: OtlpSinkConfig,
    private readonly ctx: SinkContext,
  ) {
    this.name = config.name;
    this.transport = new HttpTransport(config.name, config, ctx.log);
    this.url = logsUrl(config);
    this.target = redactUrl(this.url);
  }

  async start(): Promise<void> {
    this.transport.start(
      this.url,
      { encoding: this.config.encoding, gzip: this.config.gzip, max_batch_bytes: this.config.max_batch_bytes },
      'OTLP logs sink ready.',
    );
  }

  async put(obj: TrailObject): Promise<PutResult> {
    // The seal goes in attributes; the body stays exactly OPA's event.
    const { name, events, gaps } = objectEvents(obj, false, this.name);
    if (events.length === 0) {
      this.ctx.log.debug({ sink: this.name, object: name, gaps }, 'No decisions in this object; nothing to export.');
      return 'stored';
    }
    const resources = new Map<string, ReturnType<typeof resourceOf>>();
    const records = events.map((e) => {
      const key = e.meta ? JSON.stringify(e.meta) : '';
      let resource = resources.get(key);
      if (!resource) resources.set(key, (resource = resourceOf(e.meta, this.config.resource)));
      return decisionRecord(e, obj.stream, name, resource);
    });
    // Batch everything before sending anything: a record too large fails the object up front.
    const batches = batchRecords(records, this.config.max_batch_bytes, this.config.encoding, this.name, name);
    const headers: Record<string, string> = { 'content-type': CONTENT_TYPE[this.config.encoding] };
    if (this.config.gzip) headers['content-encoding'] = 'gzip';
    for (const [i, b] of batches.entries()) {
      const what =
        `POST ${this.target} (request ${i + 1}/${batches.length} of ${name}, ` +
        `seq ${records[b.first]!.seq}-${records[b.first + b.count - 1]!.seq})`;
      const answer = await this.send(headers, this.config.gzip ? gzipSync(b.body) : b.body, what);
      this.partialSuccess(answer, what, b.count);
    }
    this.ctx.log.debug(
      { sink: this.name, object: name, records: records.length, requests: batches.length, gaps },
      'Decisions exported.',
    );
    return 'stored';
  }

  /** One request; a refusal is classified as OTLP says (net/errors.ts's statusError, recoded). */
  private async send(headers: Record<string, string>, body: Buffer, what: string): Promise<Buffer> {
    try {
      return (await this.transport.postBytes(this.url, headers, body, what, [], MAX_ANSWER_BYTES)).body;
    } catch (err) {
      if (!isTailsealError(err)) throw err;
      const status = (err.details as { status?: unknown } | undefined)?.status;
      if (typeof status !== 'number') throw err;
      const code = RETRYABLE_STATUSES.has(status) ? 'SINK_RETRYABLE' : 'SINK_PERMANENT';
      if (code === err.code) throw err;
      throw new TailsealError(code, err.message, { cause: err, details: err.details });
    }
  }

  /** Logs and counts the records a 2xx answer says were rejected. */
  private partialSuccess(answer: Buffer, what: string, sent: number): void {
    let ps;
    try {
      ps = decodeResponse(answer, this.config.encoding);
    } catch (err) {
      // The records were accepted (2xx); an unreadable answer does not undo that.
      this.ctx.log.warn(
        { sink: this.name, err: (err as Error).message },
        `${what}: the 2xx answer is not an ExportLogsServiceResponse in ${this.config.encoding}; taken as success`,
      );
      return;
    }
    if (!ps || (ps.rejectedLogRecords === 0 && ps.errorMessage === '')) return;
    const message = scrubSecrets(ps.errorMessage).replace(/\s+/g, ' ').slice(0, MESSAGE_CHARS);
    if (ps.rejectedLogRecords === 0) {
      this.ctx.log.warn({ sink: this.name, message }, `${what}: accepted with a warning from the receiver`);
      return;
    }
    this.rejectedRecords += ps.rejectedLogRecords;
    this.ctx.log.error(
      { sink: this.name, rejected: ps.rejectedLogRecords, sent, rejectedTotal: this.rejectedRecords, message },
      `${what}: the receiver rejected ${ps.rejectedLogRecords} of ${sent} log records (partial success); ` +
        'they are not retried (OTLP says a rejected record would be rejected again), the trail keeps them',
    );
  }

  async close(): Promise<void> {
    await this.transport.close();
  }
}

export function createOtlpSink(config: OtlpSinkConfig, ctx: SinkContext): Sink {
  return new OtlpSink(config, ctx);
}
