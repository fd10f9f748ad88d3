// Reading the objects of an `s3` sink (a bucket prefix) for verification.
import { objectTooLarge } from '../seal/object.js';
import type { S3Client } from '../sinks/s3/client.js';
import type { ObjectReader } from './verify-trail.js';

const OBJECT_RE = /\.ndjson(\.gz)?$/;

/** An ObjectReader over every trail object under `prefix` in the client's bucket. */
export function s3StoreReader(client: S3Client, prefix: string): ObjectReader {
  return {
    async list() {
      return (await client.listKeys(prefix)).filter((k) => OBJECT_RE.test(k)).sort();
    },
    async read(key, maxBytes) {
      // Bounded: a huge object (or an endless answer) is refused, not buffered whole.
      const res = await client.send('GET', key, { maxBodyBytes: maxBytes });
      if (res.status !== 200) throw client.error(`GetObject ${key}`, res);
      if (res.oversize) throw objectTooLarge('object is', maxBytes);
      return res.body;
    },
    async retention(key) {
      const res = await client.send('HEAD', key);
      if (res.status !== 200) throw client.error(`HeadObject ${key}`, res);
      const h = (n: string) => (typeof res.headers[n] === 'string' ? (res.headers[n] as string) : undefined);
      const until = h('x-amz-object-lock-retain-until-date');
      const stored = h('last-modified');
      return {
        ...(h('x-amz-object-lock-mode') ? { mode: h('x-amz-object-lock-mode')! } : {}),
        ...(until ? { retainUntil: Date.parse(until) } : {}),
        ...(stored ? { storedAt: Date.parse(stored) } : {}),
      };
    },
  };
}

/** Parses `s3://bucket/prefix` into its parts; null for anything else. */
export function parseS3Url(store: string): { bucket: string; prefix: string } | null {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(store);
  return m ? { bucket: m[1]!, prefix: m[2]! } : null;
}
