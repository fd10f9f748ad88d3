// Reading an upload's body with limits: the bytes as sent (max_body_bytes) and after gunzip
// (max_decoded_bytes), so neither a large body nor a small gzip bomb can exhaust memory; and one
// budget of decoded bytes held by all requests at once (max_inflight_decoded_bytes), so many
// bodies just under the per-request limit cannot exhaust it together.
import type { IncomingMessage } from 'node:http';
import { createGunzip } from 'node:zlib';
import { type Slicer, concatSliced } from '../slicer.js';

/**
 * Why a request was refused: the stable code of a RequestError, sent in the answer's `code` and
 * the `reason` label of tailseal_opa_service_refused_total.
 */
export type RefusalReason =
  | 'origin'
  | 'host'
  | 'unauthorized'
  | 'not_found'
  | 'method'
  | 'content_type'
  | 'encoding'
  | 'body_too_large'
  | 'decoded_too_large'
  | 'too_many_events'
  | 'outbox_too_small'
  | 'bad_body'
  | 'busy'
  | 'outbox_full'
  | 'commit_failed'
  | 'shutting_down';

/** A request the receiver refuses; `status` is the HTTP answer, `reason` its stable code. */
export class RequestError extends Error {
  constructor(
    readonly status: number,
    readonly reason: RefusalReason,
    message: string,
  ) {
    super(message);
    this.name = 'RequestError';
  }
}

/**
 * Decoded bytes held by the requests of one receiver. Each body takes its bytes as they are
 * decoded and gives them back when its request ends (answered or cut off).
 */
export class DecodedBudget {
  private used = 0;
  constructor(readonly limit: number) {}
  /** Takes `n` bytes; false (nothing taken) when that would pass the limit. */
  take(n: number): boolean {
    if (this.used + n > this.limit) return false;
    this.used += n;
    return true;
  }
  give(n: number): void {
    this.used -= n;
  }
  get inUse(): number {
    return this.used;
  }
}

/** The fix a 413 names (OPA never splits a chunk it was refused, it only sends it again). */
export const LOWER_OPA_LIMIT = "lower OPA's decision_logs.reporting.upload_size_limit_bytes";

export interface BodyLimits {
  maxBodyBytes: number;
  maxDecodedBytes: number;
}

/** Collects chunks until `limit`; throws RequestError 413 past it. */
class Collector {
  readonly chunks: Buffer[] = [];
  bytes = 0;
  constructor(
    private readonly limit: number,
    private readonly reason: RefusalReason,
    private readonly what: string,
  ) {}
  add(chunk: Buffer): void {
    this.bytes += chunk.length;
    if (this.bytes > this.limit) {
      const why = `${this.what} is over ${this.limit} bytes`;
      throw new RequestError(413, this.reason, `${why}; ${LOWER_OPA_LIMIT} or raise this input's limit`);
    }
    this.chunks.push(chunk);
  }
}

/** The decoded collector, charging every chunk to the shared budget (`held` says how much). */
class BudgetedCollector extends Collector {
  held = 0;
  constructor(
    private readonly budget: DecodedBudget,
    limit: number,
  ) {
    super(limit, 'decoded_too_large', 'decompressed body (max_decoded_bytes)');
  }
  override add(chunk: Buffer): void {
    super.add(chunk);
    if (!this.budget.take(chunk.length)) {
      const why = `uploads in progress hold max_inflight_decoded_bytes (${this.budget.limit} bytes) decoded`;
      throw new RequestError(503, 'busy', `${why}; retry later`);
    }
    this.held += chunk.length;
  }
}

/**
 * The request body, gunzipped when `Content-Encoding: gzip`. Rejects with RequestError: 413
 * over a limit, 415 for another encoding, 400 for broken gzip or a body that breaks off, 503
 * when the budget is spent. The decoded bytes stay charged to `budget` until the caller gives
 * back `held.bytes` (also after a rejection); `held.sent` counts the body's bytes as sent.
 */
export async function readBody(
  req: IncomingMessage,
  limits: BodyLimits,
  budget: DecodedBudget,
  held: { bytes: number; sent: number },
  slicer: Slicer,
): Promise<Buffer> {
  const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (encoding !== 'gzip' && encoding !== 'identity') {
    const named = JSON.stringify(encoding.slice(0, 32));
    const why = `Content-Encoding ${named} is not supported`;
    throw new RequestError(415, 'encoding', `${why}; send gzip (as OPA does) or identity`);
  }
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limits.maxBodyBytes) {
    const why = `request body of ${declared} bytes is over ${limits.maxBodyBytes} bytes (max_body_bytes)`;
    throw new RequestError(413, 'body_too_large', `${why}; ${LOWER_OPA_LIMIT} or raise the limit`);
  }
  const raw = new Collector(limits.maxBodyBytes, 'body_too_large', 'request body (max_body_bytes)');
  const decoded = new BudgetedCollector(budget, limits.maxDecodedBytes);
  const addRaw = (c: Buffer) => {
    raw.add(c);
    held.sent = raw.bytes;
  };
  const add = (c: Buffer) => {
    try {
      decoded.add(c);
    } finally {
      held.bytes = decoded.held;
    }
  };
  if (encoding === 'identity') {
    for await (const chunk of req) {
      addRaw(chunk as Buffer);
      add(chunk as Buffer);
    }
    return concatSliced(decoded.chunks, slicer);
  }
  const gunzip = createGunzip();
  const done = new Promise<void>((resolve, reject) => {
    gunzip.on('data', (c: Buffer) => {
      try {
        add(c);
      } catch (err) {
        gunzip.destroy();
        reject(err);
      }
    });
    gunzip.on('end', resolve);
    // zlib's message names the defect, never the body's bytes.
    gunzip.on('error', (err) => reject(new RequestError(400, 'bad_body', `body is not valid gzip: ${err.message}`)));
  });
  done.catch(() => undefined); // observed below; avoid an unhandled rejection while still reading
  try {
    for await (const chunk of req) {
      addRaw(chunk as Buffer);
      // A gzip error or the decoded limit ends `done` early: stop waiting for drain then.
      if (!gunzip.write(chunk)) await Promise.race([new Promise((r) => gunzip.once('drain', r)), done]);
    }
    gunzip.end();
  } catch (err) {
    gunzip.destroy();
    throw err;
  }
  await done;
  return concatSliced(decoded.chunks, slicer);
}
