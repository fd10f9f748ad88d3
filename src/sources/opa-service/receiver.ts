// The `opa_service` source: OPA's decision-log service API on a local port, durable.
//
// OPA (`decision_logs.service`) POSTs gzip'd JSON arrays of events to <resource> (default /logs,
// or /logs/<partition>). Any 2xx tells OPA the chunk is delivered and it forgets it; anything
// else makes it keep the chunk and retry with backoff. So the answer is 200 only after every
// event of the request is sealed and committed (one transaction, synced); a full outbox or a
// failing disk answers 503 with Retry-After, a malformed body 4xx with the reason.
// https://www.openpolicyagent.org/docs/management-decision-logs#decision-log-service-api
import { timingSafeEqual } from 'node:crypto';
import { readRegularFile } from '../../common/read-file.js';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Logger } from 'pino';
import { TailsealError, errorMessage } from '../../errors.js';
import { sha256, toHex } from '../../trail/hash.js';
import { entryLineOverhead, escapedLength } from '../../seal/encoder.js';
import { Slicer } from '../slicer.js';
import { admits, commitsSliced } from '../capabilities.js';
import type { BatchConsumer, Source, SourceRecord } from '../source.js';
import { type BodyLimits, DecodedBudget, LOWER_OPA_LIMIT, RequestError, readBody } from './body.js';
import { splitEventsSliced } from './events.js';
import { MAX_PARTITION_CHARS, MIN_SENT_BYTES_PER_EVENT } from './limits.js';
import { RefusalReporter } from './refusals.js';

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
  maxInflightDecodedBytes: number;
  maxEvents: number;
  /** OPA's upload_size_limit_bytes as configured here: the limits were checked against it. */
  opaUploadLimit: number;
  dedupe: { windowMs: number; maxIds: number };
}

/** How long close() lets requests in progress finish before cutting their connections. */
const CLOSE_GRACE_MS = 2000;

/** Work on one upload stops this often for the event loop (health checks, other uploads). */
const SLICE_MS = 10;

/**
 * `<resource>/<partition>`: the partition is a name, not a place for a client to put kilobytes
 * (it is sealed into every entry's `source`, so a long one would multiply the stored bytes).
 */
const PARTITION_RE = new RegExp(`^[A-Za-z0-9._~-]{1,${MAX_PARTITION_CHARS}}$`);

/** Host header names that reach a loopback listener without DNS (a DNS-rebound name does not). */
const LOOPBACK_HOST_RE = /^(localhost|127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\])(:\d{1,5})?$/i;

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

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
  private readonly budget: DecodedBudget;
  private readonly refusals: RefusalReporter;
  private warnedOverLimit = false;

  constructor(
    private readonly opts: ReceiverOptions,
    private readonly deps: { consumer: BatchConsumer; log: Logger; refused?: (input: string, reason: string) => void },
  ) {
    this.name = opts.input;
    this.tokenBytes = opts.token === undefined ? undefined : Buffer.from(`Bearer ${opts.token}`);
    this.budget = new DecodedBudget(opts.maxInflightDecodedBytes);
    this.refusals = new RefusalReporter(opts.input, deps.log, deps.refused);
  }

  /** Decoded bytes the requests in progress hold (for tests and diagnostics). */
  inflightDecodedBytes(): number {
    return this.budget.inUse;
  }

  /** Where the server listens (the real port when configured as 0). */
  address(): { host: string; port: number } {
    const a = this.server?.address();
    return a && typeof a === 'object'
      ? { host: a.address, port: a.port }
      : { host: this.opts.host, port: this.opts.port };
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
    const server = this.opts.tls
      ? createHttpsServer({ ...limits, cert: this.opts.tls.cert, key: this.opts.tls.key }, handler)
      : createServer(limits, handler);
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        const hint =
          err.code === 'EADDRINUSE'
            ? "another process uses that port; pick another `listen` and point OPA's service url at it"
            : "check the input's `listen` address";
        reject(
          new TailsealError(
            'CONFIG_INVALID',
            `input ${this.name}: cannot listen on ${this.opts.host}:${this.opts.port}: ${err.code ?? err.message}; ` +
              `${hint}`,
            { cause: err },
          ),
        );
      });
      server.listen(this.opts.port, this.opts.host, () => resolve());
    });
    server.on('error', (err) =>
      this.deps.log.error({ input: this.name, err: errorMessage(err) }, 'Decision-log receiver error.'),
    );
    const { host, port } = this.address();
    this.deps.log.info(
      {
        input: this.name,
        listen: `${host}:${port}`,
        resource: this.opts.resource,
        tls: this.opts.tls !== undefined,
        auth: this.tokenBytes !== undefined,
      },
      'Receiving OPA decision-log uploads.',
    );
    if (!this.tokenBytes) {
      const fix = "Set token or token_file (and OPA's services[_].credentials.bearer.token).";
      const risk = "any local process can upload decisions that are sealed like OPA's";
      const msg = `No token configured for this opa_service input: ${risk}. ${fix}`;
      this.deps.log.warn({ input: this.name }, msg);
    }
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
    if (path === this.opts.resource || path === base) return path;
    return path.startsWith(`${base}/`) && PARTITION_RE.test(path.slice(base.length + 1)) ? path : undefined;
  }

  private authorized(req: IncomingMessage): boolean {
    if (!this.tokenBytes) return true;
    const got = Buffer.from(req.headers.authorization ?? '');
    return got.length === this.tokenBytes.length && timingSafeEqual(got, this.tokenBytes);
  }

  /**
   * The checks that need no body, cheapest and least revealing first. A browser page can send a
   * "simple" cross-site POST (text/plain, no preflight) and a DNS-rebound one to a local port,
   * but always with an Origin header, and a rebound one with its own name as Host; OPA sends
   * neither Origin nor a foreign Host, and always `Content-Type: application/json`. With a token,
   * a request without it learns nothing else (401 whatever the path or method).
   */
  private screen(req: IncomingMessage, res: ServerResponse): string {
    if (req.headers.origin !== undefined) {
      const why = 'requests from web pages (with an Origin header) are refused; OPA sends none';
      throw new RequestError(403, 'origin', why);
    }
    const host = req.headers.host;
    if (isLoopback(this.opts.host) && host !== undefined && !LOOPBACK_HOST_RE.test(host)) {
      const urls = 'http://127.0.0.1:<port> or http://localhost:<port>';
      const why = `the Host header must name this input's loopback address (OPA's services[_].url: ${urls})`;
      throw new RequestError(403, 'host', why);
    }
    if (!this.authorized(req)) {
      res.setHeader('www-authenticate', 'Bearer');
      const why = 'missing or wrong bearer token (OPA: services[_].credentials.bearer.token)';
      throw new RequestError(401, 'unauthorized', why);
    }
    const path = this.pathAccepted(req.url);
    if (path === undefined) {
      const { resource } = this.opts;
      const why = `no such resource; OPA's decision_logs.resource must be ${resource} (or ${resource}/<partition>)`;
      throw new RequestError(404, 'not_found', why);
    }
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      throw new RequestError(405, 'method', 'only POST is accepted');
    }
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json') {
      throw new RequestError(415, 'content_type', 'Content-Type must be application/json (as OPA sends)');
    }
    if (this.closing) throw new RequestError(503, 'shutting_down', 'tailseal is shutting down');
    return path;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const held = { bytes: 0, sent: 0 };
    try {
      const path = this.screen(req, res);
      // A full outbox is known before the body is read: refuse before doing any work.
      const { consumer } = this.deps;
      if (admits(consumer) && consumer.admit(0) === 'full') throw outboxFull();
      const slicer = new Slicer(SLICE_MS);
      const body = await readBody(req, this.opts, this.budget, held, slicer);
      this.checkDeclaredLimit(held.sent);
      const gzip = (req.headers['content-encoding'] ?? '').trim().toLowerCase() === 'gzip';
      const perEvent = MIN_SENT_BYTES_PER_EVENT[gzip ? 'gzip' : 'identity'];
      // Bounded by what OPA can put in a chunk under its declared limit, not by this body's size:
      // the commit that records an upload's dedupe keys runs on the event loop in one piece
      // (~7 µs per event), so a body padded up to max_body_bytes must not buy more events.
      const maxEvents = Math.max(this.opts.maxEvents, Math.floor(this.opts.opaUploadLimit / perEvent));
      const events = await splitEventsSliced(body, maxEvents, slicer);
      const source = `opa_service/${this.name}${path}`;
      const records: SourceRecord[] = [];
      // What the entries will take in the outbox (before masking, which the daemon's own check
      // after sealing covers): stored bytes per body byte are bounded by max_events and the
      // events-per-body-byte limit above, but can still be many times the body.
      const overhead = entryLineOverhead('decision', this.opts.stream, source);
      let stored = 0;
      for (const e of events) {
        const payload = body.subarray(e.start, e.end);
        stored += overhead + escapedLength(payload);
        const key = e.decisionId && dedupeKey(e.decisionId, payload);
        records.push({ kind: 'decision', source, offset: e.start, payload, dedupeKey: key });
        if (slicer.due()) await slicer.pause();
      }
      this.admit(stored);
      // lines_read/bytes_read: events and decoded body bytes, as a file input counts lines and bytes.
      const n = records.length;
      const counters = { opa_service_requests: 1, lines_read: n, bytes_read: body.length, decisions: n };
      const batch = { input: this.name, stream: this.opts.stream, records, counters, dedupe: this.opts.dedupe };
      // One transaction for the whole upload, even when it is sealed in slices: committing part
      // of it and then failing would answer non-2xx, and OPA's retry would seal the committed
      // part again unless dedupe caught it, which it cannot for events without a decision_id
      // or once the window or max_ids has passed. All or nothing keeps "sealed once" unconditional.
      let ok: boolean;
      try {
        ok = commitsSliced(consumer) ? await consumer.commitSliced(batch, SLICE_MS) : consumer.commit(batch);
      } catch (err) {
        const msg = 'Could not commit an upload; answering 503 so OPA keeps it and retries.';
        this.deps.log.error({ input: this.name, err: errorMessage(err) }, msg);
        const why = 'tailseal cannot commit right now (state or outbox storage failing); retry later';
        throw new RequestError(503, 'commit_failed', why);
      }
      if (!ok) throw outboxFull();
      if (KILL_AFTER_COMMIT && records.length > 0) process.kill(process.pid, 'SIGKILL');
      this.answer(res, 200, { accepted: records.length });
    } catch (err) {
      // Anything else (the client went away mid-body ...) says nothing about the body's bytes.
      const e =
        err instanceof RequestError ? err : new RequestError(400, 'bad_body', `request failed: ${errorMessage(err)}`);
      if (e.status === 503) res.setHeader('retry-after', String(Math.ceil(this.opts.retryAfterMs / 1000)));
      this.refusals.report(e, req.url);
      if (!req.complete) this.discard(req, res);
      this.answer(res, e.status, { error: e.message, code: e.reason });
    } finally {
      this.budget.give(held.bytes);
    }
  }

  /**
   * Says once when a body is larger than opa_upload_size_limit_bytes: OPA's own limit is then
   * larger than the one the start-time check took, so a later chunk may be refused for good.
   */
  private checkDeclaredLimit(sent: number): void {
    if (sent <= this.opts.opaUploadLimit || this.warnedOverLimit) return;
    this.warnedOverLimit = true;
    const fix = "set this input's opa_upload_size_limit_bytes to OPA's upload_size_limit_bytes (and restart)";
    const why = 'the limits were checked for smaller chunks; a larger one may be refused and stall OPA';
    const fields = { input: this.name, body_bytes: sent, opa_upload_size_limit_bytes: this.opts.opaUploadLimit };
    this.deps.log.warn(fields, `An upload is larger than opa_upload_size_limit_bytes: ${why}; ${fix}.`);
  }

  /**
   * Refuses, before sealing, an upload whose entries the outbox cannot take: 503 while it has
   * no room for them (OPA retries later), 413 when they exceed the whole outbox (it never could).
   */
  private admit(stored: number): void {
    const { consumer } = this.deps;
    const verdict = stored === 0 ? 'ok' : admits(consumer) ? consumer.admit(stored) : undefined;
    if (verdict === 'never') {
      const why = `upload would take ${stored} bytes in the outbox, more than outbox.max_bytes`;
      throw new RequestError(413, 'outbox_too_small', `${why}; raise outbox.max_bytes or ${LOWER_OPA_LIMIT}`);
    }
    if (verdict === 'full') throw outboxFull();
  }

  /**
   * Ends a refused request whose body was not read (whole). Closing at once could reset the
   * connection before the client has read the answer (a 503 it should retry on): a body within
   * max_body_bytes is read and dropped instead, a larger one closed once the answer is sent.
   */
  private discard(req: IncomingMessage, res: ServerResponse): void {
    if (res.headersSent) return;
    res.setHeader('connection', 'close');
    const declared = Number(req.headers['content-length']);
    if (!req.destroyed && Number.isFinite(declared) && declared <= this.opts.maxBodyBytes) req.resume();
    else res.once('finish', () => req.destroy());
  }

  private answer(res: ServerResponse, status: number, body: object): void {
    if (res.headersSent || res.destroyed) return;
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }
}

function outboxFull(): RequestError {
  return new RequestError(503, 'outbox_full', "tailseal's outbox is full (its sinks are behind); retry later");
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
    return readRegularFile(file, { code: 'CONFIG_INVALID', label: `input ${input}: ${what} ${file}` }).toString('utf8');
  } catch (err) {
    if (err instanceof TailsealError) throw err;
    throw new TailsealError('CONFIG_INVALID', `input ${input}: cannot read ${what} ${file}: ${errorMessage(err)}`, {
      cause: err,
    });
  }
}
