// One pass of the fleet monitor over its stores: list each store, find the origin of every object
// not verified before, verify each origin from where its verified trail ended (verifyTrail's
// incremental mode, as the daemon's audit does) or from the start on a full pass, and set each
// origin's status: ok, broken (the verify code), silent, fork or untrusted_key.
import { isTailsealError } from '../errors.js';
import { NODE_VERIFY } from '../seal/gzip.js';
import type { Finding, MonitorState, OriginRecord, OriginStatus } from '../store/monitor-state.js';
import type { NoteVerifier } from '../trail/keys.js';
import { type StoreTampering, tamperedError } from '../trail/tampering.js';
import {
  type ObjectReader,
  type ResumeState,
  readsRetention,
  storeTampering,
  verifyTrail,
} from '../trail/verify-trail.js';
import { type Discovered, discover } from './discover.js';
import { findAlternateFork } from './alternate.js';
import { findFork, silence } from './findings.js';
import { forEachLimited } from './pool.js';
import { ORIGIN_CACHE_BYTES, PassCache, countingReader, subsetReader } from './readers.js';
import type { Shard } from './shard.js';
import { ValidSignatures } from './signatures.js';

export interface MonitoredStore {
  name: string;
  /** A reader of the store, opened for one pass. */
  reader(): ObjectReader;
}

export interface PassDeps {
  stores: readonly MonitoredStore[];
  state: MonitorState;
  /** The trusted keys of an origin (those of every `keys` entry matching it; none: untrusted). */
  keysFor(origin: string): NoteVerifier[];
  /** The origin's max silence in ms. */
  maxSilenceFor(origin: string): number;
  /**
   * The origin's min_retention in ms (undefined: not checked): on a store whose reader reports
   * retention, every object read must be retained at least this long after it was sealed.
   */
  minRetentionFor?(origin: string): number | undefined;
  /** full_pass_every in ms (0: every pass is full). */
  fullEveryMs: number;
  now(): number;
  maxObjectBytes: number;
  /** Stops the pass between objects: the origins not committed yet are redone by the next pass. */
  signal?: AbortSignal;
  /** Objects read and origins verified at once (default 1). */
  concurrency?: number;
  /** Hears the number of objects being read or origins being verified, as it changes (a gauge). */
  onActive?: (active: number) => void;
  /** Only this shard's origins are verified, reported and cosigned (default: every origin). */
  shard?: Shard;
}

/** An origin after a pass (also the /status entry). */
export interface OriginView {
  store: string;
  origin: string;
  status: OriginStatus;
  finding: Finding;
  lastPassAt: number;
  /** The newest verified checkpoint (when anything was verified). */
  newest?: { size: number; root: string; time: number };
}

/** The newest checkpoint of an origin that the monitor verified consistent with all it saw before. */
export interface VerifiedCheckpoint {
  store: string;
  origin: string;
  size: number;
  root: string;
  note: string;
}

/** A store-level problem: unreadable, objects of no origin, or writes over stored objects. */
export interface StoreProblem {
  code: string;
  message: string;
  objects?: string[];
  tampering?: readonly StoreTampering[];
}

export interface PassResult {
  full: boolean;
  startedAt: number;
  durationMs: number;
  /** Distinct objects read in this pass, over all stores. */
  objectsRead: number;
  origins: OriginView[];
  /** Origins whose status or code changed in this pass (to log once per change). */
  changed: { view: OriginView; before?: { status: OriginStatus; code?: string } }[];
  /**
   * Each ok or silent origin and its newest checkpoint verified consistent with everything seen
   * before it: what a witness step cosigns.
   */
  verified: VerifiedCheckpoint[];
  problems: Map<string, StoreProblem[]>;
}

/** What /status and the pass result show of an origin's record. */
export const viewOf = (r: OriginRecord): OriginView => ({
  store: r.store,
  origin: r.origin,
  status: r.status,
  finding: r.finding,
  lastPassAt: r.lastPassAt,
  ...(r.verified ? { newest: { size: r.verified.size, root: r.verified.root, time: r.verified.newestTime } } : {}),
});

/** Runs one pass over every store. Never throws except AbortError when `signal` aborts it. */
export async function runPass(deps: PassDeps): Promise<PassResult> {
  const startedAt = deps.now();
  const lastFull = Number(deps.state.meta('last_full_at') ?? NaN);
  const full = !Number.isFinite(lastFull) || startedAt - lastFull >= deps.fullEveryMs;
  const read = new Set<string>();
  const result: PassResult = {
    full,
    startedAt,
    durationMs: 0,
    objectsRead: 0,
    origins: [],
    changed: [],
    verified: [],
    problems: new Map(),
  };
  for (const store of deps.stores) {
    deps.signal?.throwIfAborted();
    const storeRead = new Set<string>();
    await passStore(deps, store, full, storeRead, result);
    for (const n of storeRead) read.add(`${store.name}\0${n}`);
  }
  if (full) deps.state.setMeta('last_full_at', String(startedAt));
  result.objectsRead = read.size;
  // A monitor that changed shards keeps the others' records in its state, but reports only its own.
  const mine = deps.state.origins().filter((r) => deps.shard?.owns(r.origin) ?? true);
  result.origins = mine.map(viewOf);
  for (const r of mine) {
    if ((r.status === 'ok' || r.status === 'silent') && r.verified)
      result.verified.push({
        store: r.store,
        origin: r.origin,
        size: r.verified.size,
        root: r.verified.root,
        note: r.verified.newestNote,
      });
  }
  result.durationMs = deps.now() - startedAt;
  return result;
}

async function passStore(
  deps: PassDeps,
  store: MonitoredStore,
  full: boolean,
  readNames: Set<string>,
  result: PassResult,
): Promise<void> {
  const problems: StoreProblem[] = [];
  result.problems.set(store.name, problems);
  const reader = countingReader(store.reader(), readNames);
  let names: string[];
  try {
    names = await reader.list();
  } catch (err) {
    const code = isTailsealError(err) ? err.code : 'STORE_UNREADABLE';
    problems.push({ code, message: `cannot list the store: ${(err as Error).message}` });
    return;
  }
  const tampering = storeTampering(reader);
  if (tampering.length > 0) {
    const e = tamperedError(tampering);
    problems.push({ code: e.code, message: e.message, tampering });
  }
  const owns = (origin: string) => deps.shard?.owns(origin) ?? true;
  const before = new Map(
    deps.state
      .origins(store.name)
      .filter((r) => owns(r.origin))
      .map((r) => [r.origin, r]),
  );
  const known = full ? new Set<string>() : deps.state.verifiedNames(store.name);
  // Another shard's objects are read once to learn so (again on a full pass: an object may change).
  const foreign = deps.shard?.foreignNames(store.name) ?? new Set<string>();
  if (full) foreign.clear();
  else deps.shard?.prune(store.name, new Set(names));
  // Signatures discovery found valid are not verified again by the origin's verification.
  const signatures = new ValidSignatures();
  const discovered = await discover(
    { ...deps, keysFor: (o) => signatures.recording(deps.keysFor(o)) },
    reader,
    names.filter((n) => !known.has(n) && !foreign.has(n)),
    [...before.keys()],
    owns,
  );
  for (const n of discovered.foreign) foreign.add(n);
  if (discovered.ioError) {
    problems.push({ code: 'STORE_UNREADABLE', message: discovered.ioError });
    return; // an I/O error: the next pass tries again, statuses stay as they are
  }
  const { groups, unattributed, cache } = discovered;
  if (unattributed.length > 0)
    problems.push({
      code: 'OBJECT_UNATTRIBUTED',
      message:
        `${unattributed.length} object(s) hold no readable checkpoint naming their origin and lie in no known ` +
        "origin's stream folder",
      objects: unattributed.slice(0, 20),
    });
  const removed = removedObjects(deps.state, store.name, names);
  const origins = [...new Set([...groups.keys(), ...before.keys()])].filter(owns).sort();
  const outcomes: ({ status: OriginStatus; finding: Finding } | undefined)[] = [];
  await forEachLimited(
    origins,
    deps.concurrency ?? 1,
    async (origin, i) => {
      deps.signal?.throwIfAborted();
      const prev = before.get(origin);
      const d = groups.get(origin) ?? { names: [], signed: [] };
      const now = deps.now();
      const gone = removed.get(origin);
      if (gone) {
        // Objects verified before are no longer in the store: the trail lost part of its history (its
        // newest objects: a truncation a later full pass alone would take for a shorter trail). What was
        // verified is kept, so every pass finds the removal again until the objects are back.
        const finding = removedFinding(origin, gone);
        deps.state.putStatus(store.name, origin, 'broken', finding, now);
        outcomes[i] = { status: 'broken', finding };
      } else if (d.names.length === 0) {
        // Nothing new: only the clock moved (silence); a broken or forked origin's objects are never "known".
        if (!prev) return;
        const { status, finding } = prev.verified
          ? silence(deps.maxSilenceFor(origin), origin, prev.verified.newestTime, now)
          : prev;
        deps.state.putStatus(store.name, origin, status, finding, now);
        outcomes[i] = { status, finding };
      } else {
        const own = new PassCache(ORIGIN_CACHE_BYTES);
        outcomes[i] = await verifyOrigin(
          { ...deps, keysFor: (o) => signatures.trusting(deps.keysFor(o)) },
          store.name,
          origin,
          subsetReader(reader, d.names, cache, own),
          d,
          full,
          prev,
          now,
        );
        cache.drop(d.names);
      }
    },
    deps.onActive,
  );
  // Changes in origin order, whatever order the origins finished in.
  for (const [i, origin] of origins.entries()) {
    const o = outcomes[i];
    if (!o) continue;
    const prev = before.get(origin);
    const view = viewOf(deps.state.origin(store.name, origin)!);
    if (!prev || prev.status !== o.status || prev.finding.code !== o.finding.code)
      result.changed.push({
        view,
        ...(prev ? { before: { status: prev.status, ...(prev.finding.code ? { code: prev.finding.code } : {}) } } : {}),
      });
  }
}

/** Per origin, the objects of `store` verified before that `listed` no longer has. */
function removedObjects(state: MonitorState, store: string, listed: readonly string[]): Map<string, string[]> {
  const present = new Set(listed);
  const out = new Map<string, string[]>();
  for (const [origin, names] of state.verifiedObjects(store)) {
    const gone = names.filter((n) => !present.has(n)).sort();
    if (gone.length > 0) out.set(origin, gone);
  }
  return out;
}

function removedFinding(origin: string, gone: readonly string[]): Finding {
  const some = gone.slice(0, 3).join(', ') + (gone.length > 3 ? ', ...' : '');
  return {
    code: 'OBJECT_REMOVED',
    message:
      `${gone.length} object(s) of ${origin} verified before are no longer in the store (${some}): ` +
      'its history was truncated or cut',
    object: gone[0]!,
    objects: gone.slice(0, 20),
  };
}

async function verifyOrigin(
  deps: PassDeps,
  store: string,
  origin: string,
  /** Lists the origin's objects of this pass (d.names). */
  reader: ObjectReader,
  d: Discovered,
  full: boolean,
  prev: OriginRecord | undefined,
  now: number,
): Promise<{ status: OriginStatus; finding: Finding }> {
  const fork = findFork(deps.state, origin, d.signed);
  const from: ResumeState | undefined =
    !full && prev?.verified ? { ...prev.verified.resume, digests: deps.state.digests(store, origin) } : undefined;
  let newestNote = prev?.verified?.newestNote ?? '';
  // As verify --min-retention: a short or missing retention fails the walk (RETENTION_MISSING, with
  // the object and its retain-until), so the origin is broken and its new objects stay unverified:
  // every pass checks them again until the retention is extended. Stores with no retention to read
  // (file directories) are not checked.
  const minRetention = readsRetention(reader) ? deps.minRetentionFor?.(origin) : undefined;
  try {
    const reports = await verifyTrail(reader, {
      verifiers: deps.keysFor(origin),
      maxObjectBytes: deps.maxObjectBytes,
      ...(minRetention !== undefined ? { minRetentionMs: minRetention } : {}),
      ...NODE_VERIFY,
      ...(deps.signal ? { signal: deps.signal } : {}),
      ...(from ? { incremental: { skip: new Set<string>(), from: new Map([[origin, from]]) } } : {}),
      onCheckpoint: (_o, _size, note) => {
        newestNote = note;
      },
    });
    const rep = reports.find((r) => r.origin === origin);
    if (!rep || reports.length !== 1) throw new Error(`objects of ${origin} verified as another origin`);
    if (fork) {
      // This store's history verifies on its own, but another store (or an earlier pass) verified
      // another root at a size it signs: a writer showing each store its own history. Not committed.
      deps.state.putStatus(store, origin, 'fork', fork, now, full);
      return { status: 'fork', finding: fork };
    }
    const verdict = silence(deps.maxSilenceFor(origin), origin, rep.resume.newestCheckpointTime, now);
    const byName = new Map([...rep.resume.digests].map(([digest, name]) => [name, digest]));
    const objects = [
      ...rep.objectNames.map((name) => ({ name, digest: byName.get(name) ?? null })),
      ...rep.duplicates.map((x) => ({ name: x.object, digest: null })),
    ];
    const checkpoints = d.signed.map((s) => ({ size: s.size, root: s.root, object: s.name }));
    deps.state.putVerified(
      store,
      origin,
      { resume: rep.resume, root: rep.rootHash, newestNote, objects, checkpoints, full, ...verdict },
      now,
    );
    return verdict;
  } catch (err) {
    if (deps.signal?.aborted) throw err;
    let status: OriginStatus;
    let finding: Finding;
    // No two checkpoints share a size with different roots: the objects that broke the walk may
    // still be a second signed history cut at other sizes (alternate.ts).
    const alternate =
      fork ??
      (isTailsealError(err) && d.signed.length > 0 ? await alternateFork(deps, store, origin, reader, d) : undefined);
    if (alternate) [status, finding] = ['fork', alternate];
    else if (isTailsealError(err)) {
      status = err.code === 'NO_TRUSTED_SIGNATURE' ? 'untrusted_key' : 'broken';
      finding = { code: err.code, message: err.message, ...err.details };
    } else {
      // The store could not be read (not a verdict on the trail): the next pass tries again.
      const message = `cannot read the objects of ${origin}: ${(err as Error).message}`;
      [status, finding] = prev ? [prev.status, prev.finding] : ['broken', { code: 'STORE_UNREADABLE', message }];
      deps.state.putStatus(store, origin, status, finding, now);
      return { status, finding };
    }
    // A full pass that finds a break forgets the origin's verified state: later incremental passes
    // read all of it again and find the same break, rather than skip the altered object.
    deps.state.putStatus(store, origin, status, finding, now, full);
    return { status, finding };
  }
}

/** findAlternateFork over the origin's new signed objects and those it verified before in `store`. */
function alternateFork(
  deps: PassDeps,
  store: string,
  origin: string,
  reader: ObjectReader,
  d: Discovered,
): Promise<Finding | undefined> {
  return findAlternateFork({
    state: deps.state,
    store,
    origin,
    verifiers: deps.keysFor(origin),
    maxObjectBytes: deps.maxObjectBytes,
    reader,
    signed: d.signed,
    verifiedNames: deps.state.verifiedObjects(store).get(origin) ?? [],
    ...(deps.signal ? { signal: deps.signal } : {}),
  });
}
