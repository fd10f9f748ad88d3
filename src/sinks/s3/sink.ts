// The `s3` sink: one trail object per S3 object, write-once, optionally under Object Lock.
//
// put():
//  1. HEAD the key. Some S3 servers (Ceph RGW on lock/versioned buckets) ignore If-None-Match,
//     so a retried upload after a crash must find its earlier copy itself: same SHA-256 (our
//     x-amz-meta-tailseal-sha256) = acknowledged; anything else = conflict, never overwritten.
//  2. PUT with If-None-Match: * (AWS answers 412 if the key appeared meanwhile), Content-MD5 and
//     x-amz-checksum-sha256 (S3 requires an integrity header with Object Lock), the lock headers
//     (retain-until = now + retention) and server-side encryption headers.
// The body streams from the outbox segment (../object-body.ts hashedBody: one pass computes the
// digests S3 and SigV4 need up front, a gzip'd object goes through a scratch file beside the
// segment), so a put never holds the object in memory.
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import { TailsealError } from '../../errors.js';
import { objectFileName } from '../../trail/object.js';
import { createDispatcher } from '../net/client.js';
import { type HashedBody, hashedBody } from '../object-body.js';
import { classifyError } from '../retry.js';
import type { PutResult, ReadableSink, Sink, SinkContext, TrailObject } from '../sink.js';
import { s3StoreReader } from '../../sinks/s3/reader.js';
import type { ObjectReader } from '../../trail/verify-trail.js';
import { S3Client, type S3Response } from './client.js';
import type { S3SinkConfig } from './config.js';
import { credentialChain } from './credentials.js';

export const SHA256_META = 'x-amz-meta-tailseal-sha256';

/** `prefix/stream/YYYY/MM/DD/<first>-<last>.ndjson.gz`, dated by the checkpoint's signing time (UTC). */
export function s3Key(
  prefix: string,
  obj: Pick<TrailObject, 'stream' | 'firstSeq' | 'size' | 'createdAt'>,
  gzip: boolean,
): string {
  const p = prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
  const d = new Date(obj.createdAt).toISOString();
  const name = objectFileName(obj.firstSeq, obj.size, obj.createdAt, gzip);
  return `${p}${obj.stream}/${d.slice(0, 4)}/${d.slice(5, 7)}/${d.slice(8, 10)}/${name}`;
}

/** An S3 client for a sink config (also used by `verify` and `check-sink`). */
export function s3ClientFor(
  c: S3SinkConfig,
  log: Logger,
): { client: S3Client; dispatcher: Dispatcher; credentialSource: string } {
  const endpoint = new URL(c.endpoint ?? `https://s3.${c.region}.amazonaws.com`);
  const creds = credentialChain(c.credentials ?? {}, c.region, log.child({ sink: c.name }));
  const dispatcher = createDispatcher(c.name, { tls: c.tls, timeout: c.timeout, proxy: c.proxy }, log);
  return {
    client: new S3Client(
      { endpoint, region: c.region, bucket: c.bucket, pathStyle: c.path_style },
      creds,
      dispatcher,
      c.name,
      c.timeout.connect + c.timeout.request,
    ),
    dispatcher,
    credentialSource: creds.source,
  };
}

export class S3Sink implements Sink, ReadableSink {
  readonly type = 's3';
  readonly name: string;
  private readonly client: S3Client;
  private readonly dispatcher: Dispatcher;

  constructor(
    private readonly config: S3SinkConfig,
    private readonly ctx: SinkContext,
  ) {
    this.name = config.name;
    const { client, dispatcher, credentialSource } = s3ClientFor(config, ctx.log);
    this.client = client;
    this.dispatcher = dispatcher;
    ctx.log.info({ sink: this.name, bucket: config.bucket, credentials: credentialSource }, 'S3 sink configured.');
  }

  reader(): ObjectReader {
    return s3StoreReader(this.client, this.config.prefix);
  }

  /** Refuses to start when the config demands Object Lock and the bucket has none. */
  async start(): Promise<void> {
    const lock = await this.client.getObjectLockConfiguration().catch((err: unknown) => {
      // Unreachable (retryable) stays retryable: the daemon starts and keeps trying this sink.
      const code = classifyError(err) === 'retryable' ? 'SINK_RETRYABLE' : 'SINK_PERMANENT';
      throw new TailsealError(
        code,
        `sink ${this.name}: cannot read the Object Lock configuration of bucket ${this.config.bucket}: ` +
          `${(err as Error).message}`,
        { cause: err },
      );
    });
    if (this.config.object_lock && !lock?.enabled) {
      throw new TailsealError(
        'SINK_PERMANENT',
        `sink ${this.name}: bucket ${this.config.bucket} has no Object Lock, ` +
          'but object_lock is configured; create the bucket with Object Lock enabled (docs/operations.md, s3 sink) ' +
          'or remove object_lock from the sink',
      );
    }
    if (!this.config.object_lock) {
      this.ctx.log.warn(
        { sink: this.name, bucket: this.config.bucket, bucket_object_lock: lock?.enabled ?? false },
        lock?.enabled
          ? 'No object_lock in the sink config: objects get only the bucket default retention.'
          : 'Bucket has no Object Lock: stored objects can be deleted or replaced by anyone with write access.',
      );
    }
  }

  async put(obj: TrailObject): Promise<PutResult> {
    // Crash safety: the segment stays until every sink has acknowledged the object, and each
    // attempt hashes and streams it anew (the same bytes: the names are write-once). S3 checks the
    // streamed bytes against Content-MD5 and the signed SHA-256, so a segment that changed between
    // the hash pass and the upload is refused, never stored.
    const body = await hashedBody(obj, this.config.gzip, `s3-${this.name}`);
    try {
      return await this.putBody(obj, body);
    } finally {
      await body.dispose();
    }
  }

  private async putBody(obj: TrailObject, body: HashedBody): Promise<PutResult> {
    const key = s3Key(this.config.prefix, obj, this.config.gzip);
    const sha256 = body.sha256;
    const existing = await this.client.send('HEAD', key);
    if (existing.status === 200) return this.compare(key, existing, sha256);
    if (existing.status !== 404) throw this.client.error(`HeadObject ${key}`, existing);

    const headers: Record<string, string> = {
      'content-type': 'application/x-ndjson',
      'content-md5': body.md5.toString('base64'),
      'x-amz-checksum-sha256': sha256.toString('base64'),
      'x-amz-sdk-checksum-algorithm': 'SHA256',
      [SHA256_META]: sha256.toString('hex'),
      'if-none-match': '*',
    };
    Object.assign(headers, retentionHeaders(this.config));
    const res = await this.client.send('PUT', key, {
      headers,
      body: { stream: body.open(), length: body.length, sha256 },
    });
    if (res.status === 412) {
      // The key appeared between our HEAD and PUT (or a concurrent retry): compare, never overwrite.
      const again = await this.client.send('HEAD', key);
      if (again.status !== 200) throw this.client.error(`HeadObject ${key}`, again);
      return this.compare(key, again, sha256);
    }
    if (res.status < 200 || res.status >= 300) throw this.client.error(`PutObject ${key}`, res);
    this.ctx.log.debug({ sink: this.name, key, version_id: res.headers['x-amz-version-id'] }, 'Object stored.');
    return 'stored';
  }

  private compare(key: string, head: S3Response, sha256: Buffer): PutResult {
    const raw = head.headers[SHA256_META];
    // A repeated header arrives as an array: never a match, and the message shows every value.
    const theirs = Array.isArray(raw) ? raw.join(', ') : raw;
    if (theirs === sha256.toString('hex')) return 'existed';
    throw new TailsealError(
      'SINK_CONFLICT',
      `sink ${this.name}: s3://${this.config.bucket}/${key} already exists with different content (sha256 ` +
        `${theirs ?? 'unknown'}); it is not overwritten`,
      { details: { object: key } },
    );
  }

  private closed = false;

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // destroy, not close: a hung upload must not hold up shutdown (it was not acknowledged, so
    // it is simply sent again next time).
    await this.dispatcher.destroy().catch(() => undefined);
  }
}

/** The Object Lock (retain-until = now + retention) and server-side encryption headers of a PUT. */
export function retentionHeaders(
  config: Pick<S3SinkConfig, 'object_lock' | 'server_side_encryption'>,
): Record<string, string> {
  const headers: Record<string, string> = {};
  const lock = config.object_lock;
  if (lock) {
    headers['x-amz-object-lock-mode'] = lock.mode;
    headers['x-amz-object-lock-retain-until-date'] = new Date(Date.now() + lock.retention).toISOString();
    if (lock.legal_hold) headers['x-amz-object-lock-legal-hold'] = 'ON';
  }
  const sse = config.server_side_encryption;
  if (sse) {
    headers['x-amz-server-side-encryption'] = sse.algorithm;
    if (sse.kms_key_id) headers['x-amz-server-side-encryption-aws-kms-key-id'] = sse.kms_key_id;
  }
  return headers;
}

export function createS3Sink(config: S3SinkConfig, ctx: SinkContext): Sink {
  return new S3Sink(config, ctx);
}
