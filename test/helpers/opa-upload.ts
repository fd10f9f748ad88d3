// A client that uploads decision logs the way OPA's decision_logs plugin does: POST
// <service url><resource> with a gzip'd JSON array, Content-Type application/json,
// Content-Encoding gzip, and the bearer token of services[_].credentials.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { gzipSync } from 'node:zlib';

export interface UploadResult {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

export interface UploadOptions {
  token?: string;
  /** `gzip` (the default, as OPA sends), `identity`, or any other value to test a refusal. */
  encoding?: string;
  method?: string;
  /** Send these bytes as they are (already encoded, or deliberately broken). */
  raw?: boolean;
  /** CA (PEM) to trust for an https:// url. */
  ca?: string;
}

/** POSTs `body` (a JSON text, or events to serialise) to `url`; resolves with OPA's view of the answer. */
export function upload(url: string, body: string | Buffer | object[], o: UploadOptions = {}): Promise<UploadResult> {
  const text = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  const encoding = o.encoding ?? 'gzip';
  const payload = o.raw || encoding !== 'gzip' ? text : gzipSync(text);
  const headers: Record<string, string | number> = {
    'content-type': 'application/json',
    'content-length': payload.length,
  };
  if (encoding !== 'identity') headers['content-encoding'] = encoding;
  if (o.token !== undefined) headers.authorization = `Bearer ${o.token}`;
  return new Promise((resolve, reject) => {
    const request = url.startsWith('https:') ? httpsRequest : httpRequest;
    const req = request(url, { method: o.method ?? 'POST', headers, ...(o.ca ? { ca: o.ca } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** A minimal OPA decision event with a given decision_id. */
export function event(id: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    labels: { id: 'c0ffee00-0000-4000-8000-000000000000', version: '1.4.2' },
    decision_id: id,
    path: 'http/authz/allow',
    input: { method: 'GET', path: ['salary', id] },
    result: true,
    timestamp: '2026-11-29T12:00:00.123456789Z',
    ...extra,
  };
}
