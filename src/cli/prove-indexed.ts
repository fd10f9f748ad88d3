// `prove --index`: what `prove` needs (the matching entries, leaf hashes, newest checkpoints) from
// the auditor's index instead of a pass over the whole store. The index is updated first (only new
// objects are read); then only the objects holding the matching entries are read, and each entry
// read must hash to the leaf the index recorded (else the store changed under it: INDEX_STALE).
import { loadVerifierKeys } from '../seal/keyfile.js';
import { objectText } from '../seal/gzip.js';
import { TailsealError } from '../errors.js';
import {
  DEFAULT_MAX_OBJECT_BYTES,
  type ObjectReader,
  type StoredEntry,
  envelopeLeafHash,
  equalBytes,
  objectLines,
} from '../trail/index.js';
import { readNamed } from '../trail/verify-trail.js';
import type { IndexedStream, ProveIndex } from './index-db.js';
import { withIndex } from './index-update.js';
import type { Trees, Wanted } from './prove.js';
import type { StoreOptions } from './verify.js';

const streamOf = (origin: string): string => origin.slice(origin.lastIndexOf('/') + 1);

/** Entry `seq` of stream `s`, read from the one object holding it and checked against the indexed leaf. */
async function readEntry(idx: ProveIndex, reader: ObjectReader, s: IndexedStream, seq: number): Promise<StoredEntry> {
  const obj = idx.objectAt(s.id, seq);
  const stale = (why: string) =>
    new TailsealError(
      'INDEX_STALE',
      `stream ${streamOf(s.origin)} seq ${seq}: ${why}: the store changed under the index; run a full ` +
        '`tailseal verify`, then delete the index to rebuild it',
      { details: { stream: streamOf(s.origin), seq, ...(obj ? { object: obj.name } : {}) } },
    );
  if (!obj) throw stale('no indexed object holds it');
  let text: Uint8Array;
  try {
    text = objectText(await readNamed(reader, obj.name, DEFAULT_MAX_OBJECT_BYTES));
  } catch (err) {
    throw stale(`object ${obj.name} cannot be read as it was (${(err as Error).message})`);
  }
  const want = obj.leaves.subarray((seq - obj.firstSeq) * 32, (seq - obj.firstSeq + 1) * 32);
  let lines;
  try {
    lines = [...objectLines(text)];
  } catch (err) {
    throw stale(`object ${obj.name} no longer parses (${(err as Error).message})`);
  }
  for (const line of lines) {
    const e = line.entry?.envelope;
    if (!line.entry || e!.seq !== seq || e!.stream !== streamOf(s.origin)) continue;
    let leaf: Uint8Array | undefined;
    try {
      leaf = envelopeLeafHash(e!);
    } catch {
      leaf = undefined;
    }
    if (leaf && equalBytes(leaf, want)) return line.entry;
    throw stale(`object ${obj.name} holds it altered since it was indexed`);
  }
  throw stale(`object ${obj.name} no longer holds it`);
}

/**
 * Updates the index at `o.index`, then gives the entries `wanted` names (none for `{ origin }`,
 * the consistency proof's case) and the trees their proofs are made in, as a full pass would.
 */
export async function indexedTrees(
  o: StoreOptions & { index: string },
  verifiers: ReturnType<typeof loadVerifierKeys>,
  wanted: Wanted | { origin: string },
): Promise<{ found: { origin: string; entry: StoredEntry }[]; trees: Trees }> {
  return withIndex(o, verifiers, async (idx, run, reader) => {
    const byOrigin = new Map(run.streams.map((s) => [s.origin, s]));
    let at: { origin: string; seq: number }[] = [];
    if ('decisionId' in wanted) at = idx.findDecision(wanted.decisionId);
    else if ('stream' in wanted)
      at = run.streams
        .filter((s) => streamOf(s.origin) === wanted.stream && wanted.seq < s.resume.size)
        .map((s) => ({ origin: s.origin, seq: wanted.seq }));
    // In the order a full pass finds them: origins as verifyTrail sorts them, then by seq.
    at.sort((a, b) => a.origin.localeCompare(b.origin) || a.seq - b.seq);
    const found: { origin: string; entry: StoredEntry }[] = [];
    for (const { origin, seq } of at)
      found.push({ origin, entry: await readEntry(idx, reader, byOrigin.get(origin)!, seq) });
    const trees: Trees = { leaves: new Map(), newest: new Map() };
    const need = 'origin' in wanted ? [wanted.origin] : [...new Set(at.map((a) => a.origin))];
    for (const origin of need) {
      const s = byOrigin.get(origin);
      if (!s) continue;
      trees.newest.set(origin, s.newest);
      const leaves = idx.leaves(s.id, s.newest.size);
      if (leaves.length !== s.newest.size)
        throw new TailsealError(
          'STATE_CORRUPT',
          `index ${o.index}: ${origin} has ${leaves.length} leaf hashes of ${s.newest.size}`,
        );
      trees.leaves.set(origin, leaves);
    }
    return { found, trees };
  });
}
