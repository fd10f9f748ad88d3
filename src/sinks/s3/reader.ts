// Reading the objects of an `s3` sink (a bucket prefix) for verification.
//
// tailseal writes each key once. On a versioned bucket (every Object Lock bucket is one) anyone
// with s3:PutObject or s3:DeleteObject can still add a newer version or a delete marker over a
// key; Object Lock keeps the original version. So the reader lists versions, reads the oldest
// version of each key, and reports every later version and delete marker as tampering.
import { objectTooLarge } from '../../trail/gzip.js';
import type { StoreTampering } from '../../trail/tampering.js';
import type { ObjectReader, RetentionReader, StampReader, TamperingReporter } from '../../trail/verify-trail.js';
import { type S3Client, type S3Version, versionsDenied } from './client.js';

const OBJECT_RE = /\.ndjson(\.gz)?$/;

/** Per key, the version to verify (the oldest stored one) and what was added over it. */
export function pickOriginals(
  versions: readonly S3Version[],
  match: RegExp = OBJECT_RE,
): {
  originals: Map<string, string>;
  tampering: StoreTampering[];
} {
  const byKey = new Map<string, S3Version[]>();
  for (const v of versions) if (match.test(v.key)) byKey.set(v.key, [...(byKey.get(v.key) ?? []), v]);
  const originals = new Map<string, string>();
  const tampering: StoreTampering[] = [];
  for (const [key, vs] of byKey) {
    // Oldest by S3's LastModified; on a tie the later in S3's listing (newest first) is older.
    let oldest: S3Version | undefined;
    const at = (v: S3Version): number => Date.parse(v.lastModified) || 0;
    for (const v of vs) if (!v.deleteMarker && (!oldest || at(v) <= at(oldest))) oldest = v;
    if (oldest) originals.set(key, oldest.versionId);
    for (const v of vs) {
      if (v === oldest) continue;
      const { versionId, lastModified, owner } = v;
      const kind = v.deleteMarker ? 'delete_marker' : 'version';
      tampering.push({ key, kind, versionId, lastModified, ...(owner ? { owner } : {}) });
    }
  }
  tampering.sort((a, b) => a.key.localeCompare(b.key) || a.lastModified.localeCompare(b.lastModified));
  return { originals, tampering };
}

/**
 * An ObjectReader over every trail object (or key that `match`es) under `prefix` in the client's
 * bucket, oldest versions.
 */
export function s3StoreReader(
  client: S3Client,
  prefix: string,
  match: RegExp = OBJECT_RE,
): ObjectReader & RetentionReader & TamperingReporter & StampReader {
  let originals = new Map<string, string>();
  let tampering: StoreTampering[] = [];
  // The chosen version of a key; "null" (unversioned bucket) and unlisted keys read the current one.
  const versionOf = (key: string): { query?: Record<string, string> } => {
    const v = originals.get(key);
    return v === undefined || v === 'null' ? {} : { query: { versionId: v } };
  };
  return {
    async list() {
      ({ originals, tampering } = pickOriginals(await client.listVersions(prefix), match));
      return [...originals.keys()].sort();
    },
    tampering: () => tampering,
    // The version read is the key's oldest: its id names those bytes for good (a write adds a version).
    stamp: (key) => Promise.resolve(`version:${originals.get(key) ?? 'null'}`),
    async read(key, maxBytes) {
      // Bounded: a huge object (or an endless answer) is refused, not buffered whole.
      const res = await client.send('GET', key, { ...versionOf(key), maxBodyBytes: maxBytes });
      if (res.status !== 200) throw versionsDenied(client.error(`GetObject ${key}`, res), res.status);
      if (res.oversize) throw objectTooLarge('object is', maxBytes);
      return res.body;
    },
    async retention(key) {
      const res = await client.send('HEAD', key, versionOf(key));
      if (res.status !== 200) throw versionsDenied(client.error(`HeadObject ${key}`, res), res.status);
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
