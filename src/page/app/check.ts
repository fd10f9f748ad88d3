// What the verifier page checks, apart from the page itself: a proof bundle, or a set of object
// files, against the verifier keys pasted in, with the trail core only (src/trail/), so the page
// gives the verdict `tailseal verify-proof` and `tailseal verify` give, with the same codes.
import { type CompletenessReport, ReportBuilder } from '../../report/index.js';
import { objectTooLarge } from '../../trail/gzip.js';
import {
  type ObjectReader,
  type VerifiedConsistency,
  type VerifiedInclusion,
  isTailsealError,
  parseProofBundle,
  parseVerifierKeys,
  type StreamReport,
  type TailsealError,
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

/** Where the first break is, as `tailseal verify --json` reports it (details of the coded error). */
export interface Break {
  code: string;
  message: string;
  object?: string;
  stream?: string;
  seq?: number;
}

export type Outcome =
  | { ok: true; kind: 'trail'; report: CompletenessReport }
  | { ok: true; kind: 'inclusion'; proofs: VerifiedInclusion[] }
  | { ok: true; kind: 'consistency'; consistency: VerifiedConsistency }
  /** `report`: for a trail that failed its check, the report up to the break and where it is (as the CLI's). */
  | { ok: false; failure: Break; report?: CompletenessReport };

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
 * Verifies a whole trail (every stream in the chosen files), as `tailseal verify` does, and builds the
 * completeness report in the same pass, as `tailseal report` does (src/cli/report.ts: same builder,
 * same hooks; `store` names what was chosen, `now` is the page's clock). `onProgress` is told of each
 * object read, of `total` (each is read twice: its checkpoint, then its entries).
 */
export async function checkObjects(
  keyText: string,
  files: readonly ChosenFile[],
  onProgress?: (done: number, total: number, name: string) => void,
  now: number = Date.now(),
): Promise<Outcome> {
  let verifiers;
  let chosen: ObjectReader;
  let total: number;
  try {
    verifiers = parseVerifierKeys(keyText);
    chosen = filesReader(files);
    total = 2 * (await chosen.list()).length;
  } catch (err) {
    // A bad key is not a verification result: no report, as the CLI exits 2 with none.
    return failure(err);
  }
  let done = 0;
  const reader: ObjectReader = {
    list: () => chosen.list(),
    read: async (name, maxBytes) => {
      const bytes = await chosen.read(name, maxBytes);
      onProgress?.(++done, total, name);
      return bytes;
    },
  };
  const builder = new ReportBuilder({ verifiers, store: storeName(files, total / 2), now });
  let result: StreamReport[] | TailsealError<string>;
  try {
    result = await verifyTrail(reader, { verifiers, onEntry: builder.onEntry, onCheckpoint: builder.onCheckpoint });
  } catch (err) {
    // A coded break is a result the report states; anything else (a bug, a browser limit) is not.
    if (!isTailsealError(err)) return failure(err);
    result = err;
  }
  const report = builder.finish(result);
  if (Array.isArray(result)) return { ok: true, kind: 'trail', report };
  const f = failure(result);
  return f.ok ? f : { ...f, report };
}

/** What the report names as its store: the chosen folder, else the number of files chosen. */
function storeName(files: readonly ChosenFile[], objects: number): string {
  const folder = files[0]?.webkitRelativePath?.split('/')[0];
  const where =
    folder && files.every((f) => f.webkitRelativePath?.startsWith(`${folder}/`)) ? `folder ${folder}` : 'files';
  return `${where} chosen in the verifier page (${objects} objects)`;
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
