// The HTTP side of the monitor's add-checkpoint (config `witness.listen`): POST
// <listen>/add-checkpoint, nothing else. Bodies are bounded (MAX_ADD_CHECKPOINT_BYTES, 413 above),
// strict UTF-8 (400 otherwise) and must arrive within the request timeout.
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { TailsealError } from '../errors.js';
import type { Logger } from '../log.js';
import { MAX_ADD_CHECKPOINT_BYTES } from '../trail/witness-protocol.js';
import { type AddCheckpointDeps, type Answer, addCheckpoint } from './add-checkpoint.js';

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

export class WitnessServer {
  private server: Server | null = null;

  constructor(
    private readonly listen: { host: string; port: number },
    private readonly deps: AddCheckpointDeps,
    private readonly log: Logger,
  ) {}

  /** Listens; an address in use is CONFIG_INVALID naming `witness.listen`. */
  async start(): Promise<void> {
    const server = createServer((req, res) => void this.handle(req, res));
    server.requestTimeout = 10_000;
    server.headersTimeout = 5_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(
          new TailsealError(
            'CONFIG_INVALID',
            `witness.listen: cannot listen on ${this.listen.host}:${this.listen.port}: ${err.code ?? err.message}`,
            { cause: err },
          ),
        ),
      );
      server.listen(this.listen.port, this.listen.host, () => resolve());
    });
    this.server = server;
  }

  /** The port it listens on (the configured one, or the one picked for port 0). */
  get port(): number {
    const a = this.server?.address();
    return typeof a === 'object' && a ? a.port : this.listen.port;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let answer: Answer;
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/add-checkpoint') answer = plain(404, 'not found: POST /add-checkpoint\n');
    else if (req.method !== 'POST') answer = plain(405, 'method not allowed: POST /add-checkpoint\n');
    else {
      const body = await readBody(req);
      if (body === 'too-large') answer = plain(413, `body over ${MAX_ADD_CHECKPOINT_BYTES} bytes\n`);
      else if (body === 'failed') return void res.destroy();
      else {
        let text: string | undefined;
        try {
          text = STRICT_UTF8.decode(body);
        } catch {
          text = undefined;
        }
        answer = text === undefined ? plain(400, 'body is not UTF-8\n') : await addCheckpoint(this.deps, text);
      }
    }
    if (answer.status !== 200 && answer.status !== 409)
      this.log.info({ status: answer.status, why: answer.body.trim().slice(0, 200) }, 'Witness: submission refused.');
    res.writeHead(answer.status, { 'content-type': answer.type, 'content-length': Buffer.byteLength(answer.body) });
    res.end(answer.body);
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
}

const plain = (status: number, body: string): Answer => ({ status, type: 'text/plain; charset=utf-8', body });

/** The body, or 'too-large' (the rest is not read), or 'failed' (the client went away). */
function readBody(req: IncomingMessage): Promise<Buffer | 'too-large' | 'failed'> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    let n = 0;
    req.on('data', (c: Buffer) => {
      n += c.length;
      if (n > MAX_ADD_CHECKPOINT_BYTES) {
        req.removeAllListeners('data');
        req.resume();
        resolve('too-large');
      } else parts.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', () => resolve('failed'));
    req.on('aborted', () => resolve('failed'));
  });
}
