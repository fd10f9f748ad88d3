// The `http` sink: POSTs every trail object, byte for byte as the file sink would store it, to
// a collector URL. The object name goes in `Idempotency-Key` and `X-Tailseal-Object`, so a
// collector can store each object once under its name and `tailseal verify` can check the
// result. Any 2xx acknowledges the object; every other answer becomes a coded error
// (../net/errors.ts) that the shared retry classifier understands, Retry-After included. The
// request path (HttpTransport) is the one every HTTP-based sink shares, in ../net/transport.ts.
// The body streams from the outbox segment (../object-body.ts): a put never holds the object.
import { objectName } from '../../trail/object.js';
import { HttpTransport, redactUrl } from '../net/transport.js';
import { objectBodyStream, plainObjectLength } from '../object-body.js';
import type { PutResult, Sink, SinkContext, TrailObject } from '../sink.js';
import type { HttpSinkConfig } from './config.js';

export class HttpSink implements Sink {
  readonly type = 'http';
  readonly name: string;
  private readonly transport: HttpTransport;
  private readonly target: string;

  constructor(
    private readonly config: HttpSinkConfig,
    ctx: SinkContext,
  ) {
    this.name = config.name;
    this.transport = new HttpTransport(config.name, config, ctx.log);
    this.target = redactUrl(config.url);
  }

  async start(): Promise<void> {
    this.transport.start(this.config.url, { gzip: this.config.gzip }, 'HTTP sink ready.');
  }

  async put(obj: TrailObject): Promise<PutResult> {
    const gzip = this.config.gzip;
    const name = objectName(obj.stream, obj.firstSeq, obj.size, obj.createdAt, gzip);
    const headers: Record<string, string> = {
      'content-type': 'application/x-ndjson',
      'idempotency-key': name,
      'x-tailseal-object': name,
    };
    // Crash safety: the body is read from the segment, which the outbox keeps until every sink
    // has acknowledged the object, and each attempt streams it anew (same bytes). The plain body's
    // length is known, so undici fails an attempt whose stream comes up short or long; a gzip'd
    // body goes chunked, and a short segment fails the stream itself (object-body.ts).
    if (gzip) headers['content-encoding'] = 'gzip';
    else headers['content-length'] = String(plainObjectLength(obj));
    const body = objectBodyStream(obj, gzip);
    await this.transport.post(this.config.url, headers, body, `POST ${this.target} (object ${name})`);
    return 'stored';
  }

  async close(): Promise<void> {
    await this.transport.close();
  }
}

export function createHttpSink(config: HttpSinkConfig, ctx: SinkContext): Sink {
  return new HttpSink(config, ctx);
}
