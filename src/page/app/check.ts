// What the verifier page checks, apart from the page itself: a proof bundle, or a set of object
// files, against the verifier keys pasted in, with the trail core only (src/trail/), so the page
// gives the verdict `tailseal verify-proof` and `tailseal verify` give, with the same codes.
import { objectTooLarge } from '../../trail/gzip.js';
import {
  type ObjectReader,
  type VerifiedConsistency,
  type VerifiedInclusion,
  isTailsealError,
  parseProofBundle,
  parseVerifierKeys,
  verifyProofBundle,
  verifyTrail,
} from '../../trail/index.js';

/** A file chosen in the page (a DOM File has this shape), named by its path in a chosen folder if any. */
export interface ChosenFile {
  readonly name: string;
  readonly webkitRelativePath?: string;
  readonly size: number;
  arrayBuffer(): Promise<ArrayBuffer>;
}

/** What one stream of a verified trail holds; the page shows one row per stream. */
export interface StreamSummary {
  stream: string;
  origin: string;
  entries: number;
  objects: number;
  checkpoints: number;
  gaps: number;
  duplicates: number;
  rootHash: string;
  signedBy: string[];
  /** The newest checkpoint: to save for the next consistency check (`tailseal prove --consistency`). */
  newest: { size: number; time: number; note: string };
}

export interface TrailSummary {
  streams: StreamSummary[];
  entries: number;
  checkpoints: number;
}

/** Where the first break is, as `tailseal verify --json` reports it (details of the coded error). */
export interface Break {
  code: string;
  message: string;
  object?: string;
  stream?: string;
  seq?: number;
}

export type Outcome =
  | { ok: true; kind: 'trail'; summary: TrailSummary }
  | { ok: true; kind: 'inclusion'; proofs: VerifiedInclusion[] }
  | { ok: true; kind: 'consistency'; consistency: VerifiedConsistency }
  | { ok: false; failure: Break };

// The objects a file sink writes (src/sinks/file/reader.ts lists the same); a name with a part
// starting with "." is a temporary file of an interrupted write.
const OBJECT_RE = /\.ndjson(\.gz)?$/;

/**
 * An ObjectReader over chosen files: named by their path in the chosen folder, else by their file
 * name (a second file of the same name, from another stream's folder, gets a "<n>/" prefix: names
 * only label objects in messages, the signed checkpoints say what each holds).
 */
export function filesReader(files: readonly ChosenFile[]): ObjectReader {
  const byName = new Map<string, ChosenFile>();
  for (const f of files) {
    const path = f.webkitRelativePath || f.name;
    if (!OBJECT_RE.test(path) || path.split('/').some((p) => p.startsWith('.'))) continue;
    let name = path;
    for (let n = 2; byName.has(name); n++) name = `${n}/${path}`;
    byName.set(name, f);
  }
  return {
    list: async () => [...byName.keys()].sort(),
    read: async (name, maxBytes) => {
      const f = byName.get(name)!;
      if (f.size > maxBytes) throw objectTooLarge(`object file holds ${f.size} bytes,`, maxBytes);
      return new Uint8Array(await f.arrayBuffer());
    },
  };
}

/** The failure of `err`: a coded TailsealError with where it is, or (a bug, a browser limit) ERROR. */
export function failure(err: unknown): Outcome {
  if (!isTailsealError(err))
    return { ok: false, failure: { code: 'ERROR', message: err instanceof Error ? err.message : String(err) } };
  const d = err.details as { object?: unknown; stream?: unknown; seq?: unknown };
  const f: Break = { code: err.code, message: err.message };
  if (typeof d.object === 'string') f.object = d.object;
  if (typeof d.stream === 'string') f.stream = d.stream;
  if (typeof d.seq === 'number') f.seq = d.seq;
  return { ok: false, failure: f };
}

/**
 * Verifies a whole trail (every stream in the chosen files), as `tailseal verify` does; `onProgress`
 * is told of each object read, of `total` (each is read twice: its checkpoint, then its entries).
 */
export async function checkObjects(
  keyText: string,
  files: readonly ChosenFile[],
  onProgress?: (done: number, total: number, name: string) => void,
): Promise<Outcome> {
  try {
    const verifiers = parseVerifierKeys(keyText);
    const checkpoints = new Map<string, { count: number; size: number; note: string }>();
    const chosen = filesReader(files);
    const total = 2 * (await chosen.list()).length;
    let done = 0;
    const reader: ObjectReader = {
      list: () => chosen.list(),
      read: async (name, maxBytes) => {
        const bytes = await chosen.read(name, maxBytes);
        onProgress?.(++done, total, name);
        return bytes;
      },
    };
    const reports = await verifyTrail(reader, {
      verifiers,
      // Objects come in signed-size order: the last checkpoint of an origin is its newest.
      onCheckpoint: (origin, size, note) =>
        checkpoints.set(origin, { count: (checkpoints.get(origin)?.count ?? 0) + 1, size, note }),
    });
    const streams = reports.map((r): StreamSummary => {
      const c = checkpoints.get(r.origin) ?? { count: 0, size: 0, note: '' };
      return {
        stream: r.stream,
        origin: r.origin,
        entries: r.entries,
        objects: r.objects,
        checkpoints: c.count,
        gaps: r.gaps.length,
        duplicates: r.duplicates.length,
        rootHash: r.rootHash,
        signedBy: r.signedBy,
        newest: { size: c.size, time: r.newestCheckpointTime, note: c.note },
      };
    });
    const sum = (f: (s: StreamSummary) => number) => streams.reduce((n, s) => n + f(s), 0);
    const summary = { streams, entries: sum((s) => s.entries), checkpoints: sum((s) => s.checkpoints) };
    return { ok: true, kind: 'trail', summary };
  } catch (err) {
    return failure(err);
  }
}

/** Verifies a proof bundle's text offline, as `tailseal verify-proof` does. */
export function checkBundle(keyText: string, bundleText: string): Outcome {
  try {
    const verifiers = parseVerifierKeys(keyText);
    const bundle = parseProofBundle(bundleText);
    if (bundle.kind === 'consistency')
      return { ok: true, kind: 'consistency', consistency: verifyProofBundle(bundle, verifiers) };
    return { ok: true, kind: 'inclusion', proofs: verifyProofBundle(bundle, verifiers) };
  } catch (err) {
    return failure(err);
  }
}
