// Reading the objects of an `s3` sink (a bucket prefix) for verification.
import type { S3Client } from '../sinks/s3/client.js';
import type { ObjectReader } from './verify-trail.js';

const OBJECT_RE = /\.ndjson(\.gz)?$/;

/** An ObjectReader over every trail object under `prefix` in the client's bucket. */
export function s3StoreReader(client: S3Client, prefix: string): ObjectReader {
  return {
    async list() {
      return (await client.listKeys(prefix)).filter((k) => OBJECT_RE.test(k)).sort();
    },
    async read(key) {
      const res = await client.send('GET', key);
      if (res.status !== 200) throw client.error(`GetObject ${key}`, res);
      return res.body;
    },
  };
}

/** Parses `s3://bucket/prefix` into its parts; null for anything else. */
export function parseS3Url(store: string): { bucket: string; prefix: string } | null {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(store);
  return m ? { bucket: m[1]!, prefix: m[2]! } : null;
}
