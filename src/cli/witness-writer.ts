// Where `tailseal cosign` publishes: the witness store (docs/trail-format.md §8), a directory or an
// s3://bucket/prefix the writers cannot write. Objects are write-once in both.
import { createHash } from 'node:crypto';
import { linkSync, mkdirSync, readdirSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fsyncDir, writeSyncedFile } from '../common/synced-file.js';
import { TailsealError } from '../errors.js';
import { retentionHeaders } from '../sinks/s3/index.js';
import { parseS3Url } from '../sinks/s3/reader.js';
import { COSIGNED_SUFFIX } from '../trail/index.js';
import { type StoreOptions, s3StoreClient } from './verify.js';

export interface WitnessWriter {
  /** True when the store holds a cosigned object of `origin` at `size` (any time). */
  published(origin: string, size: number): Promise<boolean>;
  /** Writes `text` as `name`; never over an existing object. */
  publish(name: string, text: string): Promise<void>;
  close(): Promise<void>;
}

const sizePrefix = (size: number) => `${String(size).padStart(20, '0')}-`;

/** A directory: temp file, fsync, link (EEXIST if the name is taken: never replaced), fsync of the folder. */
function fileWriter(dir: string): WitnessWriter {
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

/**
 * An s3://bucket/prefix, through the S3 client of `--config`/`--sink` (its Object Lock and
 * encryption apply) or `--endpoint`: PUT with If-None-Match: * and Content-MD5 and SHA-256
 * checksums (S3 requires one with Object Lock). A name already taken is SINK_CONFLICT.
 */
function s3Writer(o: StoreOptions): WitnessWriter {
  const { client, dispatcher, sink, prefix } = s3StoreClient(o);
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

/** The writer for `--witness-store`: a directory, or s3://bucket/prefix with the store options of `o`. */
export function witnessWriter(o: StoreOptions, store: string): WitnessWriter {
  return parseS3Url(store) ? s3Writer({ ...o, store }) : fileWriter(store);
}
