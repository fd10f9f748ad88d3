// Shards of the fleet: where one monitor is not enough, n monitors each verify, report and cosign
// the origins of one shard. An origin's shard is a stable hash of its name (the first 8 bytes of
// its SHA-256 as an unsigned big-endian integer, mod n), so every monitor of the same n agrees on
// it without talking to the others, and adding origins never moves another one.
import { createHash } from 'node:crypto';
import { TailsealError } from '../errors.js';

export interface ShardSpec {
  /** 0-based. */
  index: number;
  count: number;
}

/** `i/n` (0 <= i < n), as `--shard` and the config's `shard:` spell it. */
export function parseShard(text: string, where = '--shard'): ShardSpec {
  const m = /^(\d{1,6})\/(\d{1,6})$/.exec(text.trim());
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (!m || count < 1 || index >= count)
    throw new TailsealError(
      'CONFIG_INVALID',
      `${where}: "${text}" is not a shard i/n with 0 <= i < n (e.g. 0/3, the first of three monitors)`,
    );
  return { index, count };
}

/** The shard of `origin` among `count`. */
export function shardOf(origin: string, count: number): number {
  const h = createHash('sha256').update(origin, 'utf8').digest();
  return Number(h.readBigUInt64BE(0) % BigInt(count));
}

/**
 * One monitor's shard: which origins it owns, and (so an incremental pass does not read them again)
 * the names of new objects it read and found to belong to another shard, per store.
 */
export class Shard {
  private readonly foreign = new Map<string, Set<string>>();

  constructor(readonly spec: ShardSpec) {}

  owns(origin: string): boolean {
    return this.spec.count === 1 || shardOf(origin, this.spec.count) === this.spec.index;
  }

  /** Objects of `store` known to be another shard's (forgotten when no longer listed). */
  foreignNames(store: string): Set<string> {
    return this.foreign.get(store) ?? this.foreign.set(store, new Set()).get(store)!;
  }

  /** Keeps only the names still listed (a removed object is not remembered forever). */
  prune(store: string, listed: ReadonlySet<string>): void {
    const f = this.foreignNames(store);
    for (const n of f) if (!listed.has(n)) f.delete(n);
  }

  toString(): string {
    return `${this.spec.index}/${this.spec.count}`;
  }
}
