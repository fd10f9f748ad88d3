// The `opa_service` source: OPA's decision-log service API on a local port, durable.
//
// OPA (`decision_logs.service`) POSTs gzip'd JSON arrays of events to <resource> (default /logs,
// or /logs/<partition>). Any 2xx tells OPA the chunk is delivered and it forgets it; anything
// else makes it keep the chunk and retry with backoff. So the answer is 200 only after every
// event of the request is sealed and committed (one transaction, synced); a full outbox or a
// failing disk answers 503 with Retry-After, a malformed body 4xx with the reason.
// https://www.openpolicyagent.org/docs/management-decision-logs#decision-log-service-api
import { timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Logger } from 'pino';
import { TailsealError, errorMessage } from '../../errors.js';
import { sha256, toHex } from '../../seal/hash.js';
import type { BatchConsumer, Source, SourceRecord } from '../source.js';
import { type BodyLimits, RequestError, readBody } from './body.js';
import { splitEvents } from './events.js';

export interface ReceiverOptions extends BodyLimits {
  input: string;
  stream: string;
  host: string;
  port: number;
  resource: string;
  token: string | undefined;
  tls: { cert: string; key: string } | undefined;
  requestTimeoutMs: number;
  retryAfterMs: number;
  dedupe: { windowMs: number; maxIds: number };
}

/** How long close() lets requests in progress finish before cutting their connections. */
const CLOSE_GRACE_MS = 2000;

/**
 * Fault injection for the crash tests only: with TAILSEAL_FAULT=kill-after-commit the process
 * kills itself right after committing an upload and before answering it, the one moment where
 * OPA retries what is already sealed. Nothing else reads this variable.
 */
const KILL_AFTER_COMMIT = process.env.TAILSEAL_FAULT === 'kill-after-commit';

export class OpaServiceReceiver implements Source {
  readonly name: string;
  private server: Server | null = null;
  private closing: Promise<void> | null = null;
  private readonly tokenBytes: Buffer | undefined;

  constructor(
    private readonly opts: ReceiverOptions,
    private readonly deps: { consumer: BatchConsumer; log: Logger },
  ) {
    this.name = opts.input;
    this.tokenBytes = opts.token === undefined ? undefined : Buffer.from(`Bearer ${opts.token}`);
  }

  /** Where the server listens (the real port when configured as 0). */
  address(): { host: string; port: number } {
    const a = this.server?.address();
    return a && typeof a === 'object' ? { host: a.address, port: a.port } : { host: this.opts.host, port: this.opts.port };
  }

  async start(): Promise<void> {
    const handler = (req: IncomingMessage, res: ServerResponse) => void this.handle(req, res);
    // The whole request must arrive within request_timeout; a stalled client is cut off. Node
    // checks these deadlines every connectionsCheckingInterval (30 s by default), so check often
    // enough for the configured timeout to mean what it says.
    const limits = {
      requestTimeout: this.opts.requestTimeoutMs,
      headersTimeout: Math.min(this.opts.requestTimeoutMs, 60_000),
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(this.opts.requestTimeoutMs / 4))),
    };
    const server = this.opts.tls ? createHttpsServer({ ...limits, cert: this.opts.tls.cert, key: this.opts.tls.key }, handler) : createServer(limits, handler);
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        const hint = err.code === 'EADDRINUSE' ? 'another process uses that port; pick another `listen` and point OPA\'s service url at it' : 'check the input\'s `listen` address';
        reject(new TailsealError('CONFIG_INVALID', `input ${this.name}: cannot listen on ${this.opts.host}:${this.opts.port}: ${err.code ?? err.message}; ${hint}`, { cause: err }));
      });
      server.listen(this.opts.port, this.opts.host, () => resolve());
    });
    server.on('error', (err) => this.deps.log.error({ input: this.name, err: errorMessage(err) }, 'Decision-log receiver error.'));
    const { host, port } = this.address();
    this.deps.log.info({ input: this.name, listen: `${host}:${port}`, resource: this.opts.resource, tls: this.opts.tls !== undefined, auth: this.tokenBytes !== undefined }, 'Receiving OPA decision-log uploads.');
  }

  wake(): void {
    // Nothing to do: OPA retries what was refused while the outbox was full.
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      const server = this.server;
      if (!server) return;
      // Stop accepting; idle keep-alive connections go now, requests in progress get a grace
      // period. A request cut off was not answered, so OPA sends it again after the restart.
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeIdleConnections();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([closed, new Promise<void>((r) => (timer = setTimeout(r, CLOSE_GRACE_MS)))]);
      clearTimeout(timer);
      server.closeAllConnections();
      await closed;
    })();
    return this.closing;
  }

  private pathAccepted(url: string | undefined): string | undefined {
    const path = (url ?? '').split('?')[0]!;
    const base = this.opts.resource.replace(/\/+$/, '');
    return path === this.opts.resource || path === base || (path.startsWith(`${base}/`) && path.length > base.length + 1) ? path : undefined;
  }

  private authorized(req: IncomingMessage): boolean {
    if (!this.tokenBytes) return true;
    const got = Buffer.from(req.headers.authorization ?? '');
    return got.length === this.tokenBytes.length && timingSafeEqual(got, this.tokenBytes);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = this.pathAccepted(req.url);
    try {
      if (path === undefined) throw new RequestError(404, `no such resource; OPA's decision_logs.resource must be ${this.opts.resource} (or ${this.opts.resource}/<partition>)`);
      if (req.method !== 'POST') {
        res.setHeader('allow', 'POST');
        throw new RequestError(405, 'only POST is accepted');
      }
      if (!this.authorized(req)) {
        res.setHeader('www-authenticate', 'Bearer');
        throw new RequestError(401, 'missing or wrong bearer token (OPA: services[_].credentials.bearer.token)');
      }
      if (this.closing) throw new RequestError(503, 'tailseal is shutting down');
      const body = await readBody(req, this.opts);
      const events = splitEvents(body);
      const source = `opa_service/${this.name}${path}`;
      const records: SourceRecord[] = events.map((e) => {
        const payload = body.subarray(e.start, e.end);
        return { kind: 'decision', source, offset: e.start, payload, dedupeKey: e.decisionId && dedupeKey(e.decisionId, payload) };
      });
      let ok: boolean;
      try {
        ok = this.deps.consumer.commit({ input: this.name, stream: this.opts.stream, records, counters: { opa_service_requests: 1, decisions: records.length }, dedupe: this.opts.dedupe });
      } catch (err) {
        this.deps.log.error({ input: this.name, err: errorMessage(err) }, 'Could not commit an upload; answering 503 so OPA keeps it and retries.');
        throw new RequestError(503, 'tailseal cannot commit right now (state or outbox storage failing); retry later');
      }
      if (!ok) throw new RequestError(503, 'tailseal\'s outbox is full (its sinks are behind); retry later');
      if (KILL_AFTER_COMMIT && records.length > 0) process.kill(process.pid, 'SIGKILL');
      this.answer(res, 200, { accepted: records.length });
    } catch (err) {
      const e = err instanceof RequestError ? err : new RequestError(400, `request failed: ${errorMessage(err)}`);
      if (e.status === 503) res.setHeader('retry-after', String(Math.ceil(this.opts.retryAfterMs / 1000)));
      if (e.status !== 503) this.deps.log.warn({ input: this.name, status: e.status, path: req.url, err: e.message }, 'Refused a decision-log upload.');
      this.answer(res, e.status, { error: e.message });
      // A body we stopped reading (over a limit) would otherwise keep the connection busy.
      if (!req.complete) req.destroy();
    }
  }

  private answer(res: ServerResponse, status: number, body: object): void {
    if (res.headersSent || res.destroyed) return;
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }
}

/**
 * What identifies a retried event: its decision_id and a digest of its exact bytes. A retry
 * carries the same bytes (OPA re-sends the chunk); a different event that reuses a decision_id
 * (two OPAs with one stream, a client bug) is sealed, not mistaken for a retry and dropped.
 */
function dedupeKey(decisionId: string, payload: Uint8Array): string {
  return `${decisionId} ${toHex(sha256(payload)).slice(0, 32)}`;
}

/** Reads the PEM files and the token file of a config (at start: a missing file is a config error). */
export function readSecret(file: string, what: string, input: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new TailsealError('CONFIG_INVALID', `input ${input}: cannot read ${what} ${file}: ${errorMessage(err)}`, { cause: err });
  }
}
