// AWS Signature Version 4 for S3, header-based, single-chunk payloads.
// https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
// Written here (about 80 lines, tested against AWS's published S3 signing examples) rather than
// taken from the `aws4` package, because aws4 never signs `Range`, adds a Content-Type of its
// own, and leaves `$` in keys unencoded, so it cannot reproduce those examples.
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
  /** When temporary credentials stop working (Unix ms); undefined for static keys. */
  expiresAt?: number | undefined;
}

export interface SignInput {
  method: string;
  /** Host header value (with the port when it is not the scheme's default). */
  host: string;
  /** The object path, not yet encoded: "/bucket/key" (path-style) or "/key". */
  path: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  /** Hex SHA-256 of the body, or "UNSIGNED-PAYLOAD". */
  payloadHash: string;
  region: string;
  service?: string;
  credentials: Credentials;
  now: Date;
}

export const EMPTY_PAYLOAD_HASH = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

const enc = new TextEncoder();
const hex = (b: Uint8Array) => bytesToHex(b);
const sha256Hex = (s: string) => hex(sha256(enc.encode(s)));
const hmacOf = (key: Uint8Array, s: string) => hmac(sha256, key, enc.encode(s));

/** RFC 3986 encoding as SigV4 wants it: everything but A-Z a-z 0-9 - _ . ~ (and "/" when kept). */
export function uriEncode(s: string, keepSlash: boolean): string {
  let out = '';
  for (const byte of enc.encode(s)) {
    const c = String.fromCharCode(byte);
    out +=
      /[A-Za-z0-9\-_.~]/.test(c) || (keepSlash && c === '/')
        ? c
        : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** The canonical query string, also usable as the URL's query: sorted, encoded, `k=` for empty values. */
export function canonicalQuery(query: Record<string, string>): string {
  return Object.entries(query)
    .map(([k, v]) => [uriEncode(k, false), uriEncode(v, false)] as const)
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

/** X-Amz-Date format: 20130524T000000Z. */
export function amzDate(d: Date): string {
  return d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

/** Signs a request; returns the headers to send (the input headers plus the auth headers). */
export function signRequest(i: SignInput): {
  headers: Record<string, string>;
  signature: string;
  canonicalRequest: string;
  stringToSign: string;
} {
  const service = i.service ?? 's3';
  const date = amzDate(i.now);
  const day = date.slice(0, 8);
  const headers: Record<string, string> = {
    ...(i.headers ?? {}),
    host: i.host,
    'x-amz-date': date,
    'x-amz-content-sha256': i.payloadHash,
  };
  if (i.credentials.sessionToken) headers['x-amz-security-token'] = i.credentials.sessionToken;
  const canon = new Map<string, string>();
  for (const [k, v] of Object.entries(headers)) canon.set(k.toLowerCase(), v.trim().replace(/\s+/g, ' '));
  const names = [...canon.keys()].sort();
  const signedHeaders = names.join(';');
  const query = canonicalQuery(i.query ?? {});
  const canonicalRequest = [
    i.method,
    uriEncode(i.path, true),
    query,
    names.map((n) => `${n}:${canon.get(n)}\n`).join(''),
    signedHeaders,
    i.payloadHash,
  ].join('\n');
  const scope = `${day}/${i.region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', date, scope, sha256Hex(canonicalRequest)].join('\n');
  let key = hmacOf(enc.encode(`AWS4${i.credentials.secretAccessKey}`), day);
  for (const part of [i.region, service, 'aws4_request']) key = hmacOf(key, part);
  const signature = hex(hmacOf(key, stringToSign));
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) out[k.toLowerCase()] = v;
  out.authorization =
    `AWS4-HMAC-SHA256 Credential=${i.credentials.accessKeyId}/${scope}, ` +
    `SignedHeaders=${signedHeaders}, Signature=${signature}`;
  return { headers: out, signature, canonicalRequest, stringToSign };
}
