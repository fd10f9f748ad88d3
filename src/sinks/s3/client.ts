// The few S3 operations tailseal needs, over undici with SigV4. Works with AWS and S3-compatible
// servers (MinIO, Ceph RGW, R2 ...), path-style or virtual-hosted addressing.
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { XMLParser } from 'fast-xml-parser';
import { type Dispatcher, request } from 'undici';
import { TailsealError } from '../../errors.js';
import { scrubSecrets, statusError } from '../net/errors.js';
import { withinDeadline } from '../net/transport.js';
import type { CredentialProvider } from './credentials.js';
import { EMPTY_PAYLOAD_HASH, canonicalQuery, signRequest, uriEncode } from './sigv4.js';

export interface S3Location {
  /** e.g. https://s3.eu-west-1.amazonaws.com or http://127.0.0.1:9000 */
  endpoint: URL;
  region: string;
  bucket: string;
  pathStyle: boolean;
}

export interface S3Response {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** The body was longer than the request's maxBodyBytes: not read (body is empty). */
  oversize?: true;
}

export interface LockConfiguration {
  enabled: boolean;
  defaultMode?: string;
  defaultDays?: number;
  defaultYears?: number;
}

const xml = new XMLParser({ parseTagValue: false });

/** S3 error codes that are worth retrying although their HTTP status says otherwise. */
const RETRYABLE_S3_CODES = new Set([
  'RequestTimeout',
  'RequestTimeTooSkewed',
  'ConditionalRequestConflict',
  'OperationAborted',
  'SlowDown',
  'InternalError',
  'ServiceUnavailable',
]);

/** The <Code> of an S3 XML error body, if any. */
export function s3ErrorCode(body: Buffer): string | undefined {
  const m = /<Code>([^<]{1,100})<\/Code>/.exec(body.toString('utf8', 0, 4096));
  return m?.[1];
}

export interface SendOptions {
  query?: Record<string, string>;
  headers?: Record<string, string>;
  /** The request body: bytes, or a stream with its length and SHA-256 (SigV4 signs the hash up front). */
  body?: Buffer | StreamBody;
  /** Read no more of the answer's body than this (S3Response.oversize instead). */
  maxBodyBytes?: number;
}

export interface StreamBody {
  stream: Readable;
  length: number;
  sha256: Buffer;
}

const EMPTY = Buffer.alloc(0);

/**
 * A response body, or null (and the body discarded) once it is longer than `max`: a declared
 * Content-Length over it is refused before reading, an undeclared one as soon as it passes it.
 */
async function readCapped(res: Dispatcher.ResponseData, max: number): Promise<Buffer | null> {
  if (max === Infinity) return Buffer.from(await res.body.arrayBuffer());
  const declared = Number(res.headers['content-length']);
  if (Number.isFinite(declared) && declared > max) {
    res.body.destroy();
    return null;
  }
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of res.body as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > max) {
      res.body.destroy();
      return null;
    }
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

/** One entry of ListObjectVersions: a stored version of a key, or a delete marker over it. */
export interface S3Version {
  key: string;
  versionId: string;
  deleteMarker: boolean;
  isLatest: boolean;
  /** As S3 gives it (ISO 8601, ms on AWS and Ceph). */
  lastModified: string;
  /** Owner ID (and display name when S3 gives one): who wrote it, where S3 says. */
  owner?: string;
}

type XmlVersion = {
  Key: string;
  VersionId?: string;
  IsLatest?: string;
  LastModified?: string;
  Owner?: { ID?: string; DisplayName?: string };
};

function toVersion(v: XmlVersion, deleteMarker: boolean): S3Version {
  const o = v.Owner;
  const named = o?.DisplayName && o.DisplayName !== o.ID ? ` (${o.DisplayName})` : '';
  const owner = o?.ID ? `${o.ID}${named}` : undefined;
  return {
    key: String(v.Key),
    versionId: String(v.VersionId ?? 'null'),
    deleteMarker,
    isLatest: v.IsLatest === 'true',
    lastModified: String(v.LastModified ?? ''),
    ...(owner ? { owner } : {}),
  };
}

/** For a 403 while reading the trail back: the version permissions it needs (an older IAM policy lacks them). */
export function versionsDenied(err: TailsealError, status: number): TailsealError {
  if (status !== 403) return err;
  const hint =
    '; reading the trail back lists and reads object versions: grant s3:ListBucketVersions and ' +
    's3:GetObjectVersion (docs/operations.md, s3 sink, IAM policy)';
  return new TailsealError(err.code, err.message + hint, { details: err.details });
}

const asArray = <T>(x: T | T[] | undefined): T[] => (x === undefined ? [] : Array.isArray(x) ? x : [x]);

export class S3Client {
  /** The credentials and signature of the latest request (see error()). */
  private lastSecrets: string[] = [];

  constructor(
    private readonly loc: S3Location,
    private readonly creds: CredentialProvider,
    private readonly dispatcher: Dispatcher,
    private readonly sinkName: string,
    /** Bound on a whole request (undici's own timeouts are per phase). */
    private readonly deadlineMs = 120_000,
  ) {}

  get bucket(): string {
    return this.loc.bucket;
  }

  /** Sends one signed request; never throws on an HTTP status (callers decide), only on network errors. */
  async send(method: 'GET' | 'PUT' | 'HEAD' | 'DELETE', key: string | null, o: SendOptions = {}): Promise<S3Response> {
    const { endpoint, bucket, pathStyle } = this.loc;
    const host = pathStyle ? endpoint.host : `${bucket}.${endpoint.host}`;
    const basePath = endpoint.pathname.replace(/\/$/, '');
    // Bucket-level requests (key null) address "/bucket" path-style, "/" virtual-hosted.
    const bucketPath = `${basePath}${pathStyle ? `/${bucket}` : ''}`;
    const path = key === null ? bucketPath || '/' : `${bucketPath}/${key}`;
    const body = o.body;
    const payloadHash =
      body === undefined
        ? EMPTY_PAYLOAD_HASH
        : Buffer.isBuffer(body)
          ? createHash('sha256').update(body).digest('hex')
          : body.sha256.toString('hex');
    const headers: Record<string, string> = { ...(o.headers ?? {}) };
    // A stream that comes up short or long fails the request in undici (it checks Content-Length).
    if (body) headers['content-length'] = String(body.length);
    try {
      return await this.sendSigned(method, key, o, host, path, headers, payloadHash);
    } finally {
      if (body !== undefined && !Buffer.isBuffer(body)) body.stream.destroy(); // no open file left
    }
  }

  private async sendSigned(
    method: 'GET' | 'PUT' | 'HEAD' | 'DELETE',
    key: string | null,
    o: SendOptions,
    host: string,
    path: string,
    headers: Record<string, string>,
    payloadHash: string,
  ): Promise<S3Response> {
    const { endpoint, region } = this.loc;
    const body = o.body === undefined ? null : Buffer.isBuffer(o.body) ? o.body : o.body.stream;
    const credentials = await this.creds.get();
    const query = o.query ?? {};
    const now = new Date();
    const signed = signRequest({ method, host, path, query, headers, payloadHash, region, credentials, now });
    // What an answer might echo back: scrubbed from any error text quoting it (error()).
    const { accessKeyId, secretAccessKey, sessionToken } = credentials;
    this.lastSecrets = [accessKeyId, secretAccessKey, sessionToken ?? '', signed.signature];
    const qs = canonicalQuery(o.query ?? {});
    const url = `${endpoint.protocol}//${host}${uriEncode(path, true)}${qs ? `?${qs}` : ''}`;
    return withinDeadline(this.sinkName, `S3 ${method} ${key ?? '(bucket)'}`, this.deadlineMs, async (signal) => {
      const res = await request(url, {
        method,
        headers: signed.headers,
        body,
        dispatcher: this.dispatcher,
        signal,
      });
      const got = await readCapped(res, o.maxBodyBytes ?? Infinity);
      const headers = res.headers as S3Response['headers'];
      if (got === null) return { status: res.statusCode, headers, body: EMPTY, oversize: true };
      return { status: res.statusCode, headers, body: got };
    });
  }

  /** A coded error for an S3 answer, with S3's own transient codes made retryable. */
  error(what: string, res: S3Response): TailsealError {
    // Scrubbed like every sink's error text (statusError): a 403 may echo the request's token,
    // signature and credential scope, and this message reaches the log, the parked reason in the
    // state database and `tailseal status`.
    const raw = s3ErrorCode(res.body);
    const code = raw === undefined ? undefined : scrubSecrets(raw, this.lastSecrets);
    const message = /<Message>([^<]*)</.exec(res.body.toString('utf8', 0, 4096))?.[1] ?? '';
    const detail = code ? `${code}: ${message}` : res.body.toString('utf8', 0, 1024);
    const err = statusError(this.sinkName, `S3 ${what}`, res.status, res.headers, detail, this.lastSecrets);
    if (code && RETRYABLE_S3_CODES.has(code))
      return new TailsealError('SINK_RETRYABLE', err.message, { details: { ...err.details, s3Code: code } });
    return code ? new TailsealError(err.code, err.message, { details: { ...err.details, s3Code: code } }) : err;
  }

  /** GET ?object-lock: the bucket's Object Lock configuration, or null when it has none. */
  async getObjectLockConfiguration(): Promise<LockConfiguration | null> {
    const res = await this.send('GET', null, { query: { 'object-lock': '' } });
    if (res.status === 404 && s3ErrorCode(res.body) === 'ObjectLockConfigurationNotFoundError') return null;
    if (res.status !== 200) throw this.error('GetObjectLockConfiguration', res);
    const doc = xml.parse(res.body.toString('utf8')) as {
      ObjectLockConfiguration?: {
        ObjectLockEnabled?: string;
        Rule?: { DefaultRetention?: { Mode?: string; Days?: string; Years?: string } };
      };
    };
    const c = doc.ObjectLockConfiguration;
    const d = c?.Rule?.DefaultRetention;
    return {
      enabled: c?.ObjectLockEnabled === 'Enabled',
      ...(d?.Mode ? { defaultMode: d.Mode } : {}),
      ...(d?.Days ? { defaultDays: Number(d.Days) } : {}),
      ...(d?.Years ? { defaultYears: Number(d.Years) } : {}),
    };
  }

  /** Lists every key under `prefix` (ListObjectsV2, following continuation tokens). */
  async listKeys(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    for (let page = 0; page < 1_000_000; page++) {
      const query: Record<string, string> = { 'list-type': '2', prefix };
      if (token) query['continuation-token'] = token;
      const res = await this.send('GET', null, { query });
      if (res.status !== 200) throw this.error('ListObjectsV2', res);
      const doc = xml.parse(res.body.toString('utf8'), false) as {
        ListBucketResult?: {
          Contents?: { Key: string } | { Key: string }[];
          IsTruncated?: string;
          NextContinuationToken?: string;
        };
      };
      const r = doc.ListBucketResult;
      const contents = r?.Contents === undefined ? [] : Array.isArray(r.Contents) ? r.Contents : [r.Contents];
      keys.push(...contents.map((c) => String(c.Key)));
      if (r?.IsTruncated !== 'true' || !r.NextContinuationToken) break;
      token = r.NextContinuationToken;
    }
    return keys;
  }

  /**
   * Every version and delete marker under `prefix` (ListObjectVersions, following the key and
   * version markers), in S3's order: by key, newest first. An unversioned bucket lists each key
   * once, as version "null".
   */
  async listVersions(prefix: string): Promise<S3Version[]> {
    const out: S3Version[] = [];
    let marker: { key: string; version: string } | undefined;
    for (let page = 0; page < 1_000_000; page++) {
      const query: Record<string, string> = { versions: '', prefix };
      if (marker) Object.assign(query, { 'key-marker': marker.key, 'version-id-marker': marker.version });
      const res = await this.send('GET', null, { query });
      if (res.status !== 200) throw versionsDenied(this.error('ListObjectVersions', res), res.status);
      type Doc = {
        ListVersionsResult?: {
          Version?: XmlVersion | XmlVersion[];
          DeleteMarker?: XmlVersion | XmlVersion[];
          IsTruncated?: string;
          NextKeyMarker?: string;
          NextVersionIdMarker?: string;
        };
      };
      const r = (xml.parse(res.body.toString('utf8'), false) as Doc).ListVersionsResult;
      // Two lists: the versions keep S3's order among themselves (per key newest first), markers follow.
      out.push(...asArray(r?.Version).map((v) => toVersion(v, false)));
      out.push(...asArray(r?.DeleteMarker).map((v) => toVersion(v, true)));
      if (r?.IsTruncated !== 'true' || !r.NextKeyMarker) break;
      marker = { key: r.NextKeyMarker, version: r.NextVersionIdMarker ?? '' };
    }
    return out;
  }
}
