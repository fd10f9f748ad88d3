// Where a witness publishes (`tailseal cosign`, the monitor's `witness:`): the witness store
// (docs/trail-format.md §8), a directory or an s3://bucket/prefix the writers cannot write. Objects
// are write-once in both. The S3 client is made by the caller (src/cli opens it from its options).
import { createHash } from 'node:crypto';
import { linkSync, mkdirSync, readdirSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fsyncDir, writeSyncedFile } from '../../common/synced-file.js';
import { TailsealError } from '../../errors.js';
import type { Dispatcher } from 'undici';
import type { Logger } from '../../log.js';
import { type S3SinkConfig, retentionHeaders, s3ClientFor, s3SinkSchema } from '../s3/index.js';
import type { S3Client } from '../s3/client.js';
import { parseS3Url } from '../s3/reader.js';
import { COSIGNED_SUFFIX } from '../../trail/index.js';

export interface WitnessWriter {
  /** True when the store holds a cosigned object of `origin` at `size` (any time). */
  published(origin: string, size: number): Promise<boolean>;
  /** Writes `text` as `name`; never over an existing object. */
  publish(name: string, text: string): Promise<void>;
  close(): Promise<void>;
}

const sizePrefix = (size: number) => `${String(size).padStart(20, '0')}-`;

/** A directory: temp file, fsync, link (EEXIST if the name is taken: never replaced), fsync of the folder. */
export function fileWitnessWriter(dir: string): WitnessWriter {
  return {
    published(origin, size) {
      try {
        const names = readdirSync(join(dir, ...origin.split('/')));
        return Promise.resolve(names.some((n) => n.startsWith(sizePrefix(size)) && n.endsWith(COSIGNED_SUFFIX)));
      } catch {
        return Promise.resolve(false);
      }
    },
    publish(name, text) {
      const path = join(dir, ...name.split('/'));
      mkdirSync(dirname(path), { recursive: true });
      const tmp = join(dirname(path), `.${process.pid}.cosigned.tmp`);
      writeSyncedFile(tmp, text, 0o644);
      try {
        linkSync(tmp, path);
      } finally {
        unlinkSync(tmp);
      }
      fsyncDir(dirname(path));
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
  };
}

/** An S3 witness store: the client, its sink settings (Object Lock, encryption) and the prefix. */
export interface S3WitnessStore {
  client: S3Client;
  dispatcher: Dispatcher;
  sink: S3SinkConfig;
  prefix: string;
}

/**
 * An s3://bucket/prefix, through the S3 client the caller made (`tailseal cosign`: the one of
 * `--config`/`--sink` or `--endpoint`; the monitor: its `witness:` settings): PUT with
 * If-None-Match: * and Content-MD5 and SHA-256 checksums (S3 requires one with Object Lock). A
 * name already taken is SINK_CONFLICT.
 */
export function s3WitnessWriter({ client, dispatcher, sink, prefix }: S3WitnessStore): WitnessWriter {
  const base = prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
  return {
    async published(origin, size) {
      return (await client.listKeys(`${base}${origin}/${sizePrefix(size)}`)).some((k) => k.endsWith(COSIGNED_SUFFIX));
    },
    async publish(name, text) {
      const body = Buffer.from(text, 'utf8');
      const key = `${base}${name}`;
      const headers: Record<string, string> = {
        'content-type': 'text/plain; charset=utf-8',
        'content-md5': createHash('md5').update(body).digest('base64'),
        'x-amz-checksum-sha256': createHash('sha256').update(body).digest('base64'),
        'x-amz-sdk-checksum-algorithm': 'SHA256',
        'if-none-match': '*',
        ...retentionHeaders(sink),
      };
      // Some servers ignore If-None-Match (see the s3 sink): look first, then write.
      const head = await client.send('HEAD', key);
      if (head.status === 200)
        throw new TailsealError('SINK_CONFLICT', `s3://${sink.bucket}/${key} already exists; it is not overwritten`);
      const res = await client.send('PUT', key, { headers, body });
      if (res.status === 412)
        throw new TailsealError('SINK_CONFLICT', `s3://${sink.bucket}/${key} already exists; it is not overwritten`);
      if (res.status < 200 || res.status >= 300) throw client.error(`PutObject ${key}`, res);
    },
    close: () => dispatcher.close(),
  };
}

/** How an s3:// witness store is reached when no s3 sink's settings are at hand (config `endpoint` ...). */
export interface S3Access {
  endpoint?: string | undefined;
  region?: string | undefined;
  path_style?: boolean | undefined;
  object_lock?: { mode: 'GOVERNANCE' | 'COMPLIANCE'; retention: number; legal_hold?: boolean } | undefined;
}

/** An S3 witness store for `url` (s3://bucket/prefix) with `access`; credentials from the SDK's chain. */
export function s3WitnessStore(url: string, access: S3Access, log: Logger, name = 'witness-store'): S3WitnessStore {
  const parsed = parseS3Url(url);
  if (!parsed) throw new TailsealError('USAGE', `${url} is not an s3://bucket/prefix URL`);
  const sink = s3SinkSchema.parse({
    name,
    type: 's3',
    bucket: parsed.bucket,
    ...(access.endpoint ? { endpoint: access.endpoint } : {}),
    ...(access.region ? { region: access.region } : {}),
    ...(access.object_lock ? { object_lock: access.object_lock } : {}),
    path_style: access.path_style ?? false,
  });
  const { client, dispatcher } = s3ClientFor(sink, log);
  return { client, dispatcher, sink, prefix: parsed.prefix };
}

/** The writer of a witness store given as a directory or s3://bucket/prefix. */
export function witnessWriterFor(store: string, access: S3Access, log: Logger): WitnessWriter {
  return parseS3Url(store) ? s3WitnessWriter(s3WitnessStore(store, access, log)) : fileWitnessWriter(store);
}
