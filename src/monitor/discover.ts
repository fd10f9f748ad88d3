// Discovery, the first step of a monitor pass over a store: each new object is read once (at most
// `concurrency` at a time) to learn which origin's checkpoint it holds and whether that checkpoint
// is validly signed, and grouped by origin for verification (pass.ts).
import { isTailsealError } from '../errors.js';
import { NODE_VERIFY } from '../seal/gzip.js';
import { toHex } from '../trail/hash.js';
import type { NoteVerifier } from '../trail/keys.js';
import { type ObjectReader, inspect, readNamed } from '../trail/verify-trail.js';
import type { SignedCheckpoint } from './findings.js';
import { noteOrigin, originByPath } from './origin.js';
import { forEachLimited } from './pool.js';
import { PASS_CACHE_BYTES, PassCache } from './readers.js';

/** What discovery needs of the pass's dependencies. */
export interface DiscoverDeps {
  keysFor(origin: string): NoteVerifier[];
  maxObjectBytes: number;
  signal?: AbortSignal;
  concurrency?: number;
  onActive?: (active: number) => void;
}

export interface Discovered {
  names: string[];
  /** The validly signed checkpoints of the new objects: size and hex root. */
  signed: SignedCheckpoint[];
}

export interface Discovery {
  groups: Map<string, Discovered>;
  unattributed: string[];
  /** New objects of another shard. */
  foreign: string[];
  /** Bytes kept for the verification of their origin (up to a budget). */
  cache: PassCache;
  ioError?: string;
}

/**
 * Reads each new object once (at most `concurrency` at a time) to learn its origin and signed
 * checkpoint; keeps its bytes for the verification only while the pass cache has room. Groups keep
 * the store's listing order, whatever order the reads finished in (duplicates are named by it).
 */
export async function discover(
  deps: DiscoverDeps,
  reader: ObjectReader,
  names: readonly string[],
  knownOrigins: readonly string[],
  owns: (origin: string) => boolean,
): Promise<Discovery> {
  const cache = new PassCache(PASS_CACHE_BYTES);
  const found: ({ origin: string; signed?: SignedCheckpoint } | 'foreign' | undefined)[] = [];
  let ioError: string | undefined;
  await forEachLimited(
    names,
    deps.concurrency ?? 1,
    async (name, i) => {
      if (ioError !== undefined) return;
      deps.signal?.throwIfAborted();
      let bytes: Uint8Array | undefined;
      try {
        bytes = await readNamed(reader, name, deps.maxObjectBytes);
      } catch (err) {
        if (!isTailsealError(err)) {
          ioError ??= `cannot read ${name}: ${(err as Error).message}`;
          return;
        }
      }
      const origin = (bytes && noteOrigin(bytes, deps.maxObjectBytes)) ?? originByPath(name, knownOrigins);
      if (origin === undefined) return;
      if (!owns(origin)) {
        found[i] = 'foreign';
        return;
      }
      found[i] = { origin };
      if (!bytes) return;
      cache.keep(name, bytes);
      try {
        const info = await inspect(name, bytes, deps.keysFor(origin), deps.maxObjectBytes, NODE_VERIFY);
        found[i] = {
          origin,
          signed: { name, size: info.size, root: toHex(info.rootHash), first: info.size - info.entryCount },
        };
      } catch {
        // Not validly signed or malformed: verifyTrail reports it for the origin.
      }
    },
    deps.onActive,
  );
  const out: Discovery = { groups: new Map(), unattributed: [], foreign: [], cache };
  if (ioError !== undefined) return { ...out, ioError };
  for (const [i, name] of names.entries()) {
    const f = found[i];
    if (f === undefined) out.unattributed.push(name);
    else if (f === 'foreign') out.foreign.push(name);
    else {
      const g = out.groups.get(f.origin) ?? out.groups.set(f.origin, { names: [], signed: [] }).get(f.origin)!;
      g.names.push(name);
      if (f.signed) g.signed.push(f.signed);
    }
  }
  return out;
}
