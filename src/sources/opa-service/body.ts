// Reading an upload's body with limits: the bytes as sent (max_body_bytes) and after gunzip
// (max_decoded_bytes), so neither a large body nor a small gzip bomb can exhaust memory.
import type { IncomingMessage } from 'node:http';
import { createGunzip } from 'node:zlib';

/** A request the receiver refuses; `status` is the HTTP answer. */
export class RequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'RequestError';
  }
}

export interface BodyLimits {
  maxBodyBytes: number;
  maxDecodedBytes: number;
}

/** Collects chunks until `limit`; throws RequestError 413 past it. */
class Collector {
  private readonly chunks: Buffer[] = [];
  bytes = 0;
  constructor(
    private readonly limit: number,
    private readonly what: string,
  ) {}
  add(chunk: Buffer): void {
    this.bytes += chunk.length;
    if (this.bytes > this.limit) throw new RequestError(413, `${this.what} is over ${this.limit} bytes; lower OPA's decision_logs.reporting.upload_size_limit_bytes or raise this input's limit`);
    this.chunks.push(chunk);
  }
  result(): Buffer {
    return this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.bytes);
  }
}

/**
 * The request body, gunzipped when `Content-Encoding: gzip`. Rejects with RequestError: 413
 * over a limit, 415 for another encoding, 400 for broken gzip or a body that breaks off.
 */
export async function readBody(req: IncomingMessage, limits: BodyLimits): Promise<Buffer> {
  const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (encoding !== 'gzip' && encoding !== 'identity') throw new RequestError(415, `Content-Encoding ${JSON.stringify(encoding)} is not supported; send gzip (as OPA does) or identity`);
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limits.maxBodyBytes) {
    throw new RequestError(413, `request body of ${declared} bytes is over ${limits.maxBodyBytes} bytes (max_body_bytes); lower OPA's decision_logs.reporting.upload_size_limit_bytes or raise the limit`);
  }
  const raw = new Collector(limits.maxBodyBytes, 'request body (max_body_bytes)');
  const decoded = new Collector(limits.maxDecodedBytes, 'decompressed body (max_decoded_bytes)');
  if (encoding === 'identity') {
    for await (const chunk of req) {
      raw.add(chunk as Buffer);
      decoded.add(chunk as Buffer);
    }
    return decoded.result();
  }
  const gunzip = createGunzip();
  const done = new Promise<void>((resolve, reject) => {
    gunzip.on('data', (c: Buffer) => {
      try {
        decoded.add(c);
      } catch (err) {
        gunzip.destroy();
        reject(err);
      }
    });
    gunzip.on('end', resolve);
    gunzip.on('error', (err) => reject(new RequestError(400, `body is not valid gzip: ${err.message}`)));
  });
  done.catch(() => undefined); // observed below; avoid an unhandled rejection while still reading
  try {
    for await (const chunk of req) {
      raw.add(chunk as Buffer);
      // A gzip error or the decoded limit ends `done` early: stop waiting for drain then.
      if (!gunzip.write(chunk)) await Promise.race([new Promise((r) => gunzip.once('drain', r)), done]);
    }
    gunzip.end();
  } catch (err) {
    gunzip.destroy();
    throw err;
  }
  await done;
  return decoded.result();
}
