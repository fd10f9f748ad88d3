// A TCP proxy on 127.0.0.1 that a test can take down (connections refused, open ones cut) and
// bring back up on the same port: a remote store that goes away for a while. With dropAnswers
// on, requests pass but each connection is cut when the answer's first byte comes back: the
// server acted on the request, the client never learns it (and retries).
import { type Server, type Socket, connect, createServer } from 'node:net';

export interface TcpProxy {
  port: number;
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
  /** Cut connections instead of passing answers on (for connections opened from now on). */
  dropAnswers(on: boolean): void;
}

export async function tcpProxy(targetPort: number): Promise<TcpProxy> {
  let server: Server | null = null;
  const sockets = new Set<Socket>();
  let port = 0;
  let dropping = false;
  const listen = () =>
    new Promise<void>((res, rej) => {
      server = createServer((client) => {
        const upstream = connect(targetPort, '127.0.0.1');
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('close', () => sockets.delete(s));
          s.on('error', () => undefined);
        }
        client.pipe(upstream);
        if (!dropping) upstream.pipe(client);
        else
          upstream.once('data', () => {
            client.destroy();
            upstream.destroy();
          });
      });
      server.once('error', rej);
      server.listen(port, '127.0.0.1', () => {
        port = (server!.address() as { port: number }).port;
        res();
      });
    });
  const stop = () =>
    new Promise<void>((res) => {
      for (const s of sockets) s.destroy();
      if (!server) return res();
      server.close(() => res());
      server = null;
    });
  await listen();
  const dropAnswers = (on: boolean) => void (dropping = on);
  return {
    get port() {
      return port;
    },
    down: stop,
    up: listen,
    close: stop,
    dropAnswers,
  };
}
