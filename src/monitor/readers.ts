// The readers of one monitor pass: one that counts the distinct objects read (the metric), and
// one origin's view of a store (its objects of the pass, served from the bytes kept since they
// were read to find their origin).
import { type ObjectReader, readsRetention, reportsTampering } from '../trail/verify-trail.js';

/** `r` with the retention capability of `inner` (an S3 store's Object Lock), when it has it. */
function withRetention(r: ObjectReader, inner: ObjectReader): ObjectReader {
  return readsRetention(inner) ? Object.assign(r, { retention: (name: string) => inner.retention(name) }) : r;
}

/** An ObjectReader that counts the distinct objects read, and passes tampering reports and retention through. */
export function countingReader(inner: ObjectReader, read: Set<string>): ObjectReader {
  const r: ObjectReader = {
    list: () => inner.list(),
    read: (name, max) => {
      read.add(name);
      return inner.read(name, max);
    },
  };
  withRetention(r, inner);
  return reportsTampering(inner) ? Object.assign(r, { tampering: () => inner.tampering() }) : r;
}

/**
 * Bytes read while finding each new object's origin, kept for the verification of that origin so
 * an object is fetched once per pass (verifyTrail reads each object twice: checkpoint, then
 * entries), up to a budget; beyond it, objects are read again. Also: the bytes verified are the
 * bytes whose origin and checkpoint were looked at.
 */
export const PASS_CACHE_BYTES = 64 * 1024 * 1024;

export class PassCache {
  private readonly bytes = new Map<string, Uint8Array>();
  private used = 0;

  constructor(private readonly budget: number) {}

  keep(name: string, b: Uint8Array): void {
    if (this.used + b.length > this.budget || this.bytes.has(name)) return;
    this.bytes.set(name, b);
    this.used += b.length;
  }

  get(name: string): Uint8Array | undefined {
    return this.bytes.get(name);
  }

  /** Drops the objects of an origin once it is verified. */
  drop(names: readonly string[]): void {
    for (const n of names) {
      const b = this.bytes.get(n);
      if (b) this.used -= b.length;
      this.bytes.delete(n);
    }
  }
}

/**
 * What one origin in verification keeps of the objects it had to read again (those the pass cache
 * had no room for): verifyTrail's second read of an object is then served from memory. Memory of a
 * pass is so bounded by PASS_CACHE_BYTES + concurrency x ORIGIN_CACHE_BYTES, whatever the fleet.
 */
export const ORIGIN_CACHE_BYTES = 8 * 1024 * 1024;

/**
 * The same reader listing only `names` (one origin's objects for this pass), served from `cache`
 * (kept since discovery), then `own` (kept since this origin's first read of it), then the store.
 */
export function subsetReader(
  inner: ObjectReader,
  names: readonly string[],
  cache: PassCache,
  own: PassCache,
): ObjectReader {
  const r: ObjectReader = {
    list: () => Promise.resolve([...names]),
    read: async (name, max) => {
      const kept = cache.get(name) ?? own.get(name);
      if (kept) return kept;
      const b = await inner.read(name, max);
      own.keep(name, b);
      return b;
    },
  };
  return withRetention(r, inner);
}
