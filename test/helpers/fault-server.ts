// A test HTTP(S) server on 127.0.0.1 that records every request and whose behaviour the test
// switches at runtime: ok, any status (with Retry-After), reset (socket destroyed mid-request),
// slow (answers after a delay, to trip client timeouts), and down (closed: connection refused)
// then up again on the same port. Everything is bounded: bodies are capped, timers are cleared
// on close, and waits have deadlines.
import {
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
  createServer as createHttpServer,
} from 'node:http';
import { type ServerOptions as HttpsOptions, createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { performance } from 'node:perf_hooks';
import { gunzipSync } from 'node:zlib';

export type Behaviour =
  /** Answer 200 (or `status`, a 2xx) with an optional body. */
  | { kind: 'ok'; status?: number; body?: string }
  /** Answer `status`, with Retry-After when given, and an optional body. */
  | { kind: 'status'; status: number; retryAfter?: string; body?: string }
  /** Destroy the socket once the first body bytes (or the end of the request) arrive; no answer. */
  | { kind: 'reset' }
  /** Answer (200 or `status`) only after `delayMs`. */
  | { kind: 'slow'; delayMs: number; status?: number };

export interface RecordedRequest {
  /** 0-based arrival order. */
  index: number;
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  /** The raw body bytes received (partial when the request was reset or aborted). */
  body: Buffer;
  /** The body gunzipped when Content-Encoding is gzip (else the body); null if that failed. */
  decoded: Buffer | null;
  /** Whether the whole body arrived. */
  complete: boolean;
  behaviour: Behaviour['kind'];
  /** The status answered; null when nothing was answered (reset, or the client went away). */
  status: number | null;
  /** performance.now() at arrival (headers received) and when the answer was sent. */
  arrivedAt: number;
  answeredAt: number | null;
  /** For HTTPS with client certificates: whether the client certificate verified, and its CN. */
  clientCertCN?: string | undefined;
  clientAuthorized?: boolean | undefined;
}

export interface FaultServerOptions {
  /** Serve HTTPS with these options (key, cert, and ca/requestCert for mutual TLS). */
  tls?: HttpsOptions;
  /** Largest body kept per request (default 32 MiB); a larger one is answered 413. */
  maxBodyBytes?: number;
  /** Most requests recorded (default 10,000); beyond that the server answers 503 and records nothing. */
  maxRequests?: number;
}

export class FaultServer {
  readonly requests: RecordedRequest[] = [];
  /** The port, fixed at the first start; `up()` listens on it again. */
  port = 0;
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private mode: Behaviour = { kind: 'ok' };
  private readonly queue: Behaviour[] = [];
  private readonly maxBody: number;
  private readonly maxRequests: number;

  private constructor(private readonly opts: FaultServerOptions) {
    this.maxBody = opts.maxBodyBytes ?? 32 * 1024 * 1024;
    this.maxRequests = opts.maxRequests ?? 10_000;
  }

  /** Starts a server on 127.0.0.1 and an ephemeral port. */
  static async start(opts: FaultServerOptions = {}): Promise<FaultServer> {
    const s = new FaultServer(opts);
    await s.up();
    return s;
  }

  /** `http://127.0.0.1:<port>` (or https://). */
  get url(): string {
    return `${this.opts.tls ? 'https' : 'http'}://127.0.0.1:${this.port}`;
  }

  get isUp(): boolean {
    return this.server !== null;
  }

  /** The behaviour for every request from now on (after any queued one-shot behaviours). */
  set(b: Behaviour): void {
    this.mode = b;
  }

  /** One-shot behaviours for the next requests, in order; then the `set` behaviour again. */
  enqueue(...bs: Behaviour[]): void {
    this.queue.push(...bs);
  }

  /** Runs `fn` and returns the requests it caused. */
  async during(fn: () => Promise<unknown>): Promise<RecordedRequest[]> {
    const from = this.requests.length;
    await fn();
    return this.requests.slice(from);
  }

  /** Requests whose answer was a 2xx. */
  accepted(): RecordedRequest[] {
    return this.requests.filter((r) => r.status !== null && r.status >= 200 && r.status < 300);
  }

  /** (Re)starts listening, on the same port as before once one was assigned. */
  async up(): Promise<void> {
    if (this.server) return;
    const handler = (req: IncomingMessage, res: ServerResponse) => this.handle(req, res);
    const server = this.opts.tls ? createHttpsServer(this.opts.tls, handler) : createHttpServer(handler);
    server.on('connection', (sock: Socket) => {
      this.sockets.add(sock);
      sock.on('close', () => this.sockets.delete(sock));
    });
    // A reset or a rejected client certificate shows up here; it is part of the test.
    server.on('clientError', (_err, sock: Socket) => sock.destroy());
    server.on('tlsClientError', () => undefined);
    // The port can be busy for a moment right after a close; retry a bounded number of times.
    for (let attempt = 0; ; attempt++) {
      try {
        await new Promise<void>((res, rej) => {
          server.once('error', rej);
          server.listen({ port: this.port, host: '127.0.0.1' }, () => {
            server.off('error', rej);
            res();
          });
        });
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 40) throw err;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Closes the listener and every connection: clients get ECONNREFUSED until up(). */
  async down(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const closed = new Promise<void>((res) => server.close(() => res()));
    server.closeAllConnections();
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  /** Stops for good (same as down()). */
  async close(): Promise<void> {
    await this.down();
  }

  /** Waits until `cond` holds (polling every 10 ms), failing after `timeoutMs`. */
  async waitFor(cond: (reqs: RecordedRequest[]) => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (!cond(this.requests)) {
      if (performance.now() > deadline)
        throw new Error(
          `fault server: timed out after ${timeoutMs} ms waiting for ${what} (${this.requests.length} requests so far)`,
        );
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    if (this.requests.length >= this.maxRequests) {
      res.writeHead(503, { connection: 'close' }).end('fault server: request limit reached');
      return;
    }
    const b = this.queue.shift() ?? this.mode;
    const tls = req.socket as TLSSocket;
    const cert = this.opts.tls && typeof tls.getPeerCertificate === 'function' ? tls.getPeerCertificate() : undefined;
    const rec: RecordedRequest = {
      index: this.requests.length,
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      body: Buffer.alloc(0),
      decoded: null,
      complete: false,
      behaviour: b.kind,
      status: null,
      arrivedAt: performance.now(),
      answeredAt: null,
      ...(this.opts.tls
        ? {
            clientAuthorized: tls.authorized,
            clientCertCN: cert && 'subject' in cert ? (cert.subject?.CN as string | undefined) : undefined,
          }
        : {}),
    };
    this.requests.push(rec);
    const parts: Buffer[] = [];
    let received = 0;
    let tooBig = false;
    const finish = () => {
      rec.body = Buffer.concat(parts);
      try {
        rec.decoded = req.headers['content-encoding'] === 'gzip' ? gunzipSync(rec.body) : rec.body;
      } catch {
        rec.decoded = null;
      }
    };
    const answer = (status: number, headers: Record<string, string>, body: string) => {
      if (res.destroyed || res.writableEnded || req.socket.destroyed) return; // the client went away
      rec.status = status;
      rec.answeredAt = performance.now();
      res.writeHead(status, { 'content-type': 'text/plain', ...headers }).end(body);
    };
    if (b.kind === 'reset') {
      const kill = () => {
        finish();
        req.socket.destroy();
      };
      req.once('data', (c: Buffer) => {
        parts.push(c);
        kill();
      });
      req.once('end', kill);
      return;
    }
    req.on('data', (c: Buffer) => {
      received += c.length;
      if (received > this.maxBody) tooBig = true;
      else parts.push(c);
    });
    req.on('end', () => {
      rec.complete = !tooBig;
      finish();
      if (tooBig) return answer(413, {}, 'fault server: body too large');
      switch (b.kind) {
        case 'ok':
          return answer(b.status ?? 200, {}, b.body ?? 'ok');
        case 'status':
          return answer(
            b.status,
            b.retryAfter === undefined ? {} : { 'retry-after': b.retryAfter },
            b.body ?? `status ${b.status}`,
          );
        case 'slow': {
          const t = setTimeout(() => {
            this.timers.delete(t);
            answer(b.status ?? 200, {}, 'slow ok');
          }, b.delayMs);
          this.timers.add(t);
          return;
        }
      }
    });
    req.on('error', () => finish());
  }
}
