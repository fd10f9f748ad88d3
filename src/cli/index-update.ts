// `tailseal index`: builds or updates the auditor's index of a store (index-db.ts). The first run
// verifies the whole store as `verify` does; later runs read only objects not indexed yet and
// continue each stream's verified state from the index (verifyTrail's incremental mode, as the
// daemon's audit does). An indexed object that changed or vanished since is INDEX_STALE: the index
// vouches only for what it read, so the store must be verified in full (and the index rebuilt).
import { loadVerifierKeys } from '../seal/keyfile.js';
import { NODE_VERIFY } from '../seal/gzip.js';
import { TailsealError } from '../errors.js';
import {
  type ObjectReader,
  type StreamReport,
  describeTampering,
  readsStamps,
  storeTampering,
  verifyTrail,
} from '../trail/index.js';
import { EXIT_FAILURE, EXIT_OK, USAGE_CODES } from './exit.js';
import { type IndexedStream, ProveIndex } from './index-db.js';
import { decisionIdOf } from './prove.js';
import { type StoreOptions, readerFor } from './verify.js';

/** What one run did: objects read (each counted once) and skipped, entries indexed. */
export interface IndexRun {
  objectsRead: number;
  objectsSkipped: number;
  entriesIndexed: number;
  /** Every origin the index now holds. */
  streams: IndexedStream[];
}

/** Per origin during a run: the new leaf hashes and each new object's end and checkpoint. */
interface Walked {
  id: number;
  leaves: Uint8Array[];
  checkpoints: { size: number; note: string }[];
}

/** Fails with INDEX_STALE when an indexed object is gone from the listing or its stamp changed. */
async function checkUnchanged(reader: ObjectReader, listed: ReadonlySet<string>, known: Map<string, string | null>) {
  for (const [name, stamp] of known) {
    const stale = (why: string) =>
      new TailsealError(
        'INDEX_STALE',
        `object ${name} ${why} since it was indexed: the store changed under the index; run a full ` +
          '`tailseal verify`, then delete the index to rebuild it',
        { details: { object: name } },
      );
    if (!listed.has(name)) throw stale('vanished');
    if (stamp !== null && readsStamps(reader) && (await reader.stamp(name)) !== stamp) throw stale('was changed');
  }
}

/**
 * Brings `idx` up to date with the store behind `reader`: verifies what is new (all of it on the
 * first run) and records it, in one transaction. Throws the first break; the index is then unchanged.
 */
export async function updateIndex(
  idx: ProveIndex,
  reader: ObjectReader,
  verifiers: ReturnType<typeof loadVerifierKeys>,
): Promise<IndexRun> {
  const listed = await reader.list();
  const known = idx.stamps();
  await checkUnchanged(reader, new Set(listed), known);
  const stamps = new Map<string, string | null>();
  // Stamped before they are read: a change after this shows as a changed stamp on the next run.
  for (const n of listed) if (!known.has(n)) stamps.set(n, readsStamps(reader) ? await reader.stamp(n) : null);
  const read = new Set<string>();
  // verifyTrail lists once more and reads each object twice (inspect, then walk): the listing is
  // kept and reads are counted per name.
  const counting: ObjectReader = {
    list: () => Promise.resolve(listed),
    read: (name, max) => {
      read.add(name);
      return reader.read(name, max);
    },
  };
  const before = idx.streams();
  let entriesIndexed = 0;
  await idx.transaction(async () => {
    const walked = new Map<string, Walked>();
    const walk = (origin: string): Walked =>
      walked.get(origin) ?? walked.set(origin, { id: idx.streamId(origin), leaves: [], checkpoints: [] }).get(origin)!;
    const reports = await verifyTrail(counting, {
      verifiers,
      ...NODE_VERIFY,
      ...(before.length === 0
        ? {}
        : { incremental: { skip: new Set(known.keys()), from: new Map(before.map((s) => [s.origin, s.resume])) } }),
      onEntry: (origin, entry, leaf) => {
        const w = walk(origin);
        w.leaves.push(leaf);
        const id = decisionIdOf(entry);
        if (id !== undefined) idx.addDecision(id, w.id, entry.envelope.seq);
        entriesIndexed++;
      },
      onCheckpoint: (origin, size, note) => walk(origin).checkpoints.push({ size, note }),
    });
    for (const rep of reports)
      record(
        idx,
        rep,
        walk(rep.origin),
        before.find((s) => s.origin === rep.origin),
        stamps,
      );
  });
  return { objectsRead: read.size, objectsSkipped: known.size, entriesIndexed, streams: idx.streams() };
}

/** Records one origin's new objects (with their leaf hashes) and where its walk ended. */
function record(
  idx: ProveIndex,
  rep: StreamReport,
  w: Walked,
  before: IndexedStream | undefined,
  stamps: ReadonlyMap<string, string | null>,
): void {
  const digestOf = new Map([...rep.resume.digests].map(([digest, name]) => [name, digest]));
  const base = before?.resume.size ?? 0;
  let first = base;
  // The walk called onCheckpoint once per object, in the order of objectNames.
  rep.objectNames.forEach((name, i) => {
    const cp = w.checkpoints[i]!;
    const leaves = new Uint8Array((cp.size - first) * 32);
    for (let s = first; s < cp.size; s++) leaves.set(w.leaves[s - base]!, (s - first) * 32);
    const digest = digestOf.get(name)!;
    idx.addObject(w.id, {
      name,
      firstSeq: first,
      endSeq: cp.size,
      stamp: stamps.get(name) ?? null,
      digest,
      duplicateOf: null,
      note: cp.note,
      leaves,
    });
    first = cp.size;
  });
  for (const d of rep.duplicates) {
    const digest = digestOf.get(d.sameAs)!;
    const none = new Uint8Array(0);
    idx.addObject(w.id, {
      name: d.object,
      firstSeq: 0,
      endSeq: 0,
      stamp: stamps.get(d.object) ?? null,
      digest,
      duplicateOf: d.sameAs,
      note: '',
      leaves: none,
    });
  }
  const newest = w.checkpoints.at(-1) ?? before?.newest;
  if (newest === undefined) throw new Error(`index: no checkpoint verified for ${rep.origin}`);
  idx.saveStream(rep.origin, rep.resume, newest);
}

/** Opens the store and the index, updates it (warnings for tampering on stderr), and hands both to `use`. */
export async function withIndex<T>(
  o: StoreOptions & { index: string },
  verifiers: ReturnType<typeof loadVerifierKeys>,
  use: (idx: ProveIndex, run: IndexRun, reader: ObjectReader) => Promise<T>,
): Promise<T> {
  const idx = ProveIndex.open(o.index);
  const { reader, close } = readerFor(o);
  try {
    const run = await updateIndex(idx, reader, verifiers);
    for (const t of storeTampering(reader)) process.stderr.write(`warning: STORE_TAMPERED: ${describeTampering(t)}\n`);
    return await use(idx, run, reader);
  } finally {
    await close();
    idx.close();
  }
}

export interface IndexCliOptions extends StoreOptions {
  publicKey: string[];
  index: string;
  json?: boolean;
}

export async function indexCommand(o: IndexCliOptions): Promise<number> {
  const verifiers = loadVerifierKeys(o.publicKey);
  try {
    return await withIndex(o, verifiers, (idx, run) => {
      const c = idx.counts();
      if (o.json)
        process.stdout.write(
          JSON.stringify({
            ok: true,
            objects_read: run.objectsRead,
            objects_skipped: run.objectsSkipped,
            entries_indexed: run.entriesIndexed,
            ...c,
          }) + '\n',
        );
      else
        process.stdout.write(
          `OK indexed ${run.entriesIndexed} new entries: read ${run.objectsRead} object(s), ${run.objectsSkipped} ` +
            `already indexed; ${o.index} holds ${c.entries} entries of ${run.streams.length} stream(s) in ` +
            `${c.objects} objects, ${c.decisions} decision id(s)\n`,
        );
      return Promise.resolve(EXIT_OK);
    });
  } catch (err) {
    if (!(err instanceof TailsealError) || USAGE_CODES.has(err.code)) throw err;
    if (o.json) process.stdout.write(JSON.stringify({ ok: false, code: err.code, message: err.message }) + '\n');
    else process.stdout.write(`FAIL ${err.code}: ${err.message}\n`);
    return EXIT_FAILURE;
  }
}
