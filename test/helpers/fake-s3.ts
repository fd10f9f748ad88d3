// A scripted S3 endpoint on 127.0.0.1 (node:http) for tests that need answers a real server
// will not give on demand: a held response, a 403 echoing the request's credentials.
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Workspace } from './daemon.js';

export interface FakeS3 {
  endpoint: string;
  /** Every request seen so far: method, URL and headers. */
  requests: { method: string; url: string; headers: IncomingMessage['headers'] }[];
  close(): Promise<void>;
}

/** `handle` answers each request (after its body was read); its return value is awaited. */
export type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export async function startFakeS3(handle: Handler): Promise<FakeS3> {
  const requests: FakeS3['requests'] = [];
  const server: Server = createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    req.resume();
    req.on('end', () => void Promise.resolve(handle(req, res)).catch(() => res.destroy()));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

/** The answer of a bucket without Object Lock to GET ?object-lock. */
export function noObjectLock(res: ServerResponse): void {
  res.writeHead(404, { 'content-type': 'application/xml' });
  res.end('<?xml version="1.0"?><Error><Code>ObjectLockConfigurationNotFoundError</Code><Message>no</Message></Error>');
}

/** The `sinks:` YAML item of an s3 sink on `endpoint` with static keys (for makeWorkspace). */
export function s3SinkYaml(endpoint: string, keys: { id: string; secret: string; token?: string }): string {
  return `  - name: s3
    type: s3
    bucket: trail
    endpoint: ${endpoint}
    path_style: true
    credentials:
      access_key_id: ${keys.id}
      secret_access_key: ${keys.secret}${keys.token ? `\n      session_token: ${keys.token}` : ''}
    retry:
      initial_backoff: 20ms
      max_backoff: 200ms`;
}

/** Adds a sink (a `sinks:` YAML item) after the workspace's file sink. */
export function addSink(w: Workspace, itemYaml: string): void {
  writeFileSync(w.configFile, readFileSync(w.configFile, 'utf8').replace('\nshutdown:', `\n${itemYaml}\nshutdown:`));
}
