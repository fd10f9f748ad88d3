// The request path every HTTP-based sink shares. HttpTransport (http, opa sinks): one undici
// dispatcher per sink, credentials, an overall deadline, response bodies always consumed, and
// secrets scrubbed from error excerpts. withinDeadline: the overall deadline on one exchange,
// which the s3 client's signed requests use as well.
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { type Dispatcher, request } from 'undici';
import { TailsealError } from '../../errors.js';
import { timerDelay } from '../../common/timer.js';
import { createDispatcher } from './client.js';
import type { HttpAuthConfig, TimeoutConfig, TlsConfig } from './config.js';
import { statusError } from './errors.js';

/** An answer's headers as undici gives them. */
type Headers = Record<string, string | string[] | undefined>;

/** How much of an error answer's body is kept for the log. */
const EXCERPT_BYTES = 1024;

export interface TransportOptions {
  headers: Record<string, string>;
  auth?: HttpAuthConfig | undefined;
  tls: TlsConfig;
  timeout: TimeoutConfig;
  proxy?: string | undefined;
  /** More credentials to scrub from messages (one sent inside a header value, e.g. an API key). */
  secrets?: readonly string[] | undefined;
}

/** A URL without query and fragment (safe to log: a query string may hold a token). */
export function redactUrl(url: string): string {
  const u = new URL(url);
  return `${u.origin}${u.pathname}`;
}

export class HttpTransport {
  private dispatcher: Dispatcher | null = null;
  private closed = false;
  /** The configured header values and credentials: scrubbed from anything we put in a message. */
  private readonly secrets: string[];
  readonly baseHeaders: Record<string, string>;

  constructor(
    private readonly sink: string,
    private readonly opts: TransportOptions,
    private readonly log: Logger,
  ) {
    const headers: Record<string, string> = { 'user-agent': 'tailseal' };
    for (const [k, v] of Object.entries(opts.headers)) headers[k.toLowerCase()] = v;
    const a = opts.auth;
    if (a?.bearer_token !== undefined) headers.authorization = `Bearer ${a.bearer_token}`;
    else if (a?.username !== undefined)
      headers.authorization = `Basic ${Buffer.from(`${a.username}:${a.password ?? ''}`, 'utf8').toString('base64')}`;
    this.baseHeaders = headers;
    const extra = opts.secrets ?? [];
    this.secrets = [
      ...Object.values(opts.headers),
      ...extra,
      a?.bearer_token,
      a?.password,
      headers.authorization,
    ].filter((s): s is string => s !== undefined);
  }

  /** Creates the dispatcher (reads TLS files: CONFIG_INVALID when they are unreadable). */
  open(): Dispatcher {
    if (this.closed) throw new TailsealError('SINK_RETRYABLE', `sink ${this.sink}: closed`);
    this.dispatcher ??= createDispatcher(
      this.sink,
      { tls: this.opts.tls, timeout: this.opts.timeout, proxy: this.opts.proxy },
      this.log,
    );
    return this.dispatcher;
  }

  /**
   * Opens the transport for a sink posting to `url` and logs it as ready (`message`, with
   * `fields`); warns when credentials would travel over plain http://.
   */
  start(url: string, fields: Record<string, unknown>, message: string): void {
    this.open();
    const a = this.opts.auth;
    const auth = a === undefined ? 'none' : a.bearer_token !== undefined ? 'bearer' : 'basic';
    if (auth !== 'none' && new URL(url).protocol === 'http:') {
      this.log.warn(
        { sink: this.sink, url: redactUrl(url) },
        'Credentials are sent over plain http://; use https:// outside a trusted network.',
      );
    }
    this.log.info(
      { sink: this.sink, url: redactUrl(url), auth, proxy: this.opts.proxy !== undefined, ...fields },
      message,
    );
  }

  /**
   * POSTs `body` to `url`; resolves on any 2xx (the response body is read and discarded). A
   * stream body is destroyed when the exchange ends without reading it all (no open file left).
   * Throws statusError(...) for any other status, a TailsealError SINK_RETRYABLE when the
   * whole exchange overruns connect + request timeouts, or undici's own error (UND_ERR_*,
   * ECONNREFUSED ...) for network failures. `what` names the request in messages.
   */
  async post(url: string, headers: Record<string, string>, body: Buffer | Readable, what: string): Promise<number> {
    try {
      return await this.exchange(url, headers, body, what);
    } finally {
      if (!Buffer.isBuffer(body)) body.destroy();
    }
  }

  /**
   * As post, for a protocol whose answers carry data (the witness sink): the status and up to
   * `maxBytes` of the body and the headers (Retry-After ...), for a 2xx and for each status in
   * `handled` (the caller's to interpret);
   * any other status throws statusError as post does. A longer body is SINK_PERMANENT.
   */
  async postText(
    url: string,
    headers: Record<string, string>,
    body: Buffer,
    what: string,
    handled: readonly number[],
    maxBytes: number,
  ): Promise<{ status: number; text: string; headers: Headers }> {
    const { status, body: answer, headers: h } = await this.postBytes(url, headers, body, what, handled, maxBytes);
    return { status, text: answer.toString('utf8'), headers: h };
  }

  /** As postText, with the answer's body as bytes (a binary protocol's answer: the otlp sink's protobuf). */
  async postBytes(
    url: string,
    headers: Record<string, string>,
    body: Buffer,
    what: string,
    handled: readonly number[],
    maxBytes: number,
  ): Promise<{ status: number; body: Buffer; headers: Headers }> {
    const res = await this.send(url, headers, body, what);
    const status = res.statusCode;
    if ((status < 200 || status >= 300) && !handled.includes(status))
      throw statusError(this.sink, what, status, res.headers, await excerpt(res.body), this.secrets);
    const parts: Buffer[] = [];
    let n = 0;
    for await (const chunk of res.body) {
      n += (chunk as Buffer).length;
      if (n > maxBytes)
        throw new TailsealError('SINK_PERMANENT', `sink ${this.sink}: ${what} answered more than ${maxBytes} bytes`);
      parts.push(chunk as Buffer);
    }
    return { status, body: Buffer.concat(parts), headers: res.headers };
  }

  private send(
    url: string,
    headers: Record<string, string>,
    body: Buffer | Readable,
    what: string,
  ): Promise<Dispatcher.ResponseData> {
    const dispatcher = this.open();
    // undici's headers/body timeouts are per phase; this bounds the whole exchange, so a
    // remote that reads the request body at a trickle cannot hold a put forever.
    const deadlineMs = this.opts.timeout.connect + this.opts.timeout.request;
    return withinDeadline(
      this.sink,
      what,
      deadlineMs,
      (signal) =>
        request(url, { method: 'POST', headers: { ...this.baseHeaders, ...headers }, body, dispatcher, signal }),
      ' (timeout.connect + timeout.request)',
    );
  }

  private async exchange(
    url: string,
    headers: Record<string, string>,
    body: Buffer | Readable,
    what: string,
  ): Promise<number> {
    const res = await this.send(url, headers, body, what);
    if (res.statusCode >= 200 && res.statusCode < 300) {
      // The answer is in; a body that breaks off afterwards does not undo it.
      await res.body.dump().catch(() => undefined);
      return res.statusCode;
    }
    // statusError scrubs the excerpt (these secrets, and any credential an answer echoes).
    throw statusError(this.sink, what, res.statusCode, res.headers, await excerpt(res.body), this.secrets);
  }

  /** Releases the connections at once; safe before open() and safe twice. */
  async close(): Promise<void> {
    this.closed = true;
    const d = this.dispatcher;
    this.dispatcher = null;
    if (d) await d.destroy().catch(() => undefined);
  }
}

function isUndiciError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('UND_ERR_');
}

/**
 * Runs one exchange (`send`, given the abort signal to pass to undici) under one overall deadline
 * of `deadlineMs`. When the deadline cuts it off: a TailsealError SINK_RETRYABLE `sink <sink>:
 * <what> did not complete within <deadlineMs> ms<hint>`; undici's own errors (its per-phase
 * timeouts UND_ERR_*) and network errors are thrown as they are.
 */
export async function withinDeadline<T>(
  sink: string,
  what: string,
  deadlineMs: number,
  send: (signal: AbortSignal) => Promise<T>,
  hint = '',
): Promise<T> {
  const signal = AbortSignal.timeout(timerDelay(deadlineMs)); // connect + request may pass the timer limit
  try {
    return await send(signal);
  } catch (err) {
    if (signal.aborted && !isUndiciError(err)) {
      throw new TailsealError(
        'SINK_RETRYABLE',
        `sink ${sink}: ${what} did not complete within ${deadlineMs} ms${hint}`,
        {
          cause: err,
        },
      );
    }
    throw err;
  }
}

/** The first EXCERPT_BYTES of a response body as text; the rest is discarded. */
async function excerpt(body: Dispatcher.ResponseData['body']): Promise<string> {
  const parts: Buffer[] = [];
  let n = 0;
  try {
    for await (const chunk of body) {
      parts.push(chunk as Buffer);
      n += (chunk as Buffer).length;
      if (n >= EXCERPT_BYTES) break; // leaving the loop destroys the stream
    }
  } catch {
    // An error answer whose body breaks off: the status is what counts.
  }
  return Buffer.concat(parts).subarray(0, EXCERPT_BYTES).toString('utf8');
}
