// Where a witness publishes (`tailseal cosign`, the monitor's `witness:`): the witness store
// (docs/trail-format.md §8), a directory or an s3://bucket/prefix the writers cannot write. Objects
// are write-once in both. The S3 client is made by the caller (src/cli opens it from its options).
import { createHash } from 'node:crypto';
import { linkSync, mkdirSync, readdirSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fsyncDir, writeSyncedFile } from '../common/synced-file.js';
import { TailsealError } from '../errors.js';
import type { Dispatcher } from 'undici';
import { type S3SinkConfig, retentionHeaders } from '../sinks/s3/index.js';
import type { S3Client } from '../sinks/s3/client.js';
import { COSIGNED_SUFFIX } from '../trail/index.js';

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
