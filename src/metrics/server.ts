// The status listener: GET /metrics (Prometheus text format), /healthz (the process and its event
// loop are alive) and /readyz (state database committing, inputs reading, no sink failing past
// its threshold). Loopback by default; it serves nothing else and reads no request body.
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { TailsealError } from '../errors.js';
import type { Registry } from 'prom-client';

/** One readiness check's verdict; `detail` says what is wrong (and is shown on /readyz). */
export interface Check {
  ok: boolean;
  detail?: string;
}

/** What /readyz asks the daemon. */
export type ReadinessProbe = () => Record<string, Check>;

/** A further GET path (the monitor's /status): its status code, content type and body. */
export type Route = () => { status: number; type: string; body: string };

/** A timer tick later than this means the event loop was blocked: /healthz fails. */
const LOOP_STALL_MS = 5000;
const TICK_MS = 1000;

export class StatusServer {
  private server: Server | null = null;
  private ticker: NodeJS.Timeout | null = null;
  private lastTick = Date.now();
  private worstLag = 0;

  constructor(
    private readonly opts: { host: string; port: number },
    private readonly metrics: { registry: Registry },
    private readonly ready: ReadinessProbe,
    private readonly log: Logger,
    private readonly routes: Readonly<Record<string, Route>> = {},
  ) {}

  /** Listens; a port in use is CONFIG_INVALID (the operator picks another `metrics.listen`). */
  async start(): Promise<void> {
    const server = createServer(
      (req, res) => void this.handle(req.method ?? 'GET', (req.url ?? '/').split('?')[0]!, res),
    );
    server.requestTimeout = 10_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        const hint =
          err.code === 'EADDRINUSE'
            ? 'another process uses that port; set another `metrics.listen`'
            : 'check `metrics.listen`';
        reject(
          new TailsealError(
            'CONFIG_INVALID',
            `metrics: cannot listen on ${this.opts.host}:${this.opts.port}: ${err.code ?? err.message}; ${hint}`,
            { cause: err },
          ),
        );
      });
      server.listen(this.opts.port, this.opts.host, () => resolve());
    });
    this.server = server;
    // The loop's health: each tick measures how late it ran (a blocked loop makes it late).
    this.ticker = setInterval(() => {
      const now = Date.now();
      this.worstLag = Math.max(0, now - this.lastTick - TICK_MS);
      this.lastTick = now;
    }, TICK_MS);
    this.ticker.unref();
    const a = server.address() as AddressInfo;
    this.log.info(
      { listen: `${a.address}:${a.port}`, paths: ['/metrics', '/healthz', '/readyz', ...Object.keys(this.routes)] },
      'Metrics and health endpoints listening.',
    );
  }

  private async handle(method: string, path: string, res: import('node:http').ServerResponse): Promise<void> {
    if (method !== 'GET' && method !== 'HEAD')
      return this.reply(res, 405, 'method not allowed\n', { Allow: 'GET, HEAD' });
    try {
      if (path === '/metrics')
        return this.reply(res, 200, await this.metrics.registry.metrics(), {
          'Content-Type': this.metrics.registry.contentType,
        });
      if (path === '/healthz') {
        const stalled = this.worstLag > LOOP_STALL_MS;
        return this.reply(
          res,
          stalled ? 503 : 200,
          stalled ? `event loop was blocked for ${this.worstLag} ms\n` : 'ok\n',
        );
      }
      if (path === '/readyz') {
        const checks = this.ready();
        const failing = Object.entries(checks).filter(([, c]) => !c.ok);
        const body =
          Object.entries(checks)
            .map(([name, c]) => `${c.ok ? 'ok' : 'FAIL'} ${name}${c.detail ? `: ${c.detail}` : ''}`)
            .join('\n') + '\n';
        return this.reply(res, failing.length === 0 ? 200 : 503, body);
      }
      const route = Object.hasOwn(this.routes, path) ? this.routes[path] : undefined;
      if (route) {
        const r = route();
        return this.reply(res, r.status, r.body, { 'Content-Type': r.type });
      }
      const paths = ['/metrics', '/healthz', '/readyz', ...Object.keys(this.routes)];
      return this.reply(res, 404, `not found: try ${paths.join(', ')}\n`);
    } catch (err) {
      return this.reply(res, 500, `error: ${(err as Error).message}\n`);
    }
  }

  private reply(
    res: import('node:http').ServerResponse,
    status: number,
    body: string,
    headers: Record<string, string> = {},
  ): void {
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', ...headers });
    res.end(body);
  }

  async close(): Promise<void> {
    if (this.ticker) clearInterval(this.ticker);
    const s = this.server;
    this.server = null;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
}
