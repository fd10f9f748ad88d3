// A fork across sizes: a second history of an origin whose signed checkpoints fall at other sizes
// than the verified ones, so no two checkpoints share a size (findFork) and the walk only says
// "broken" (ENTRY_INSERTED, ENTRY_MISSING ...). When an origin's walk fails, the validly signed
// new objects that are not checkpoints of the verified history are verified on their own, from
// seq 0 or continuing the verified history at the seq where they start; if they form a trail, its
// tree at the common size m = min(verified size, alternate size) is compared with the verified
// tree at m. Two signed trees whose roots differ at m are inconsistent: an RFC 9162 consistency
// proof from the smaller checkpoint to the larger (RFC 9162 §2.1.4) holds exactly when the larger
// tree's root at m equals the smaller one's, so comparing the roots is the same verdict, computed
// from leaves both sides had to hash anyway. Equal roots: the objects are consistent with the
// verified history (e.g. the same entries cut at other sizes), and the walk's verdict stands.
import { NODE_VERIFY } from '../seal/gzip.js';
import type { Finding, MonitorState } from '../store/monitor-state.js';
import { type Sha256, nodeHasher, toHex } from '../trail/hash.js';
import type { NoteVerifier } from '../trail/keys.js';
import { CompactRange } from '../trail/merkle.js';
import { type ObjectReader, type ResumeState, verifyTrail } from '../trail/verify-trail.js';
import type { SignedCheckpoint } from './findings.js';

export interface AlternateInput {
  state: MonitorState;
  store: string;
  origin: string;
  verifiers: NoteVerifier[];
  maxObjectBytes: number;
  /** Reads any object of the store (list() is not used). */
  reader: ObjectReader;
  /** The validly signed objects of the origin read in this pass. */
  signed: readonly SignedCheckpoint[];
  /** The objects of the origin verified in earlier passes (still in the state). */
  verifiedNames: readonly string[];
  signal?: AbortSignal;
}

interface TreeAt {
  /** Hex root of the first `size` leaves. */
  root: string;
  /** The trail's state after `start` entries (undefined when start is 0 or not reached). */
  resume?: ResumeState;
  /** Entries the walk verified. */
  size: number;
}

const sha256: Sha256 = NODE_VERIFY.sha256!;

/** Verifies the objects `names` from `from` (or seq 0), capturing the root at `at` and the state at `start`. */
async function walk(
  input: AlternateInput,
  names: readonly string[],
  at: number,
  start: number,
  from?: ResumeState,
): Promise<TreeAt | undefined> {
  const edge = from ? from.edge.clone() : CompactRange.empty();
  const children = nodeHasher(sha256);
  let root: string | undefined = at === edge.size ? toHex(edge.root()) : undefined;
  let resume: ResumeState | undefined;
  const reader: ObjectReader = { list: () => Promise.resolve([...names]), read: (n, m) => input.reader.read(n, m) };
  try {
    const reports = await verifyTrail(reader, {
      verifiers: input.verifiers,
      maxObjectBytes: input.maxObjectBytes,
      ...NODE_VERIFY,
      ...(input.signal ? { signal: input.signal } : {}),
      ...(from ? { incremental: { skip: new Set<string>(), from: new Map([[input.origin, from]]) } } : {}),
      onEntry: (origin, entry, leaf) => {
        if (origin !== input.origin || edge.size >= Math.max(at, start)) return;
        edge.append(leaf, children);
        if (edge.size === at) root = toHex(edge.root());
        if (edge.size === start && start > 0)
          resume = {
            size: start,
            chainHead: entry.chain,
            edge: edge.clone(),
            newestCheckpointTime: 0,
            signedBy: [],
            digests: new Map(),
          };
      },
    });
    const rep = reports.find((r) => r.origin === input.origin);
    if (!rep || reports.length !== 1 || root === undefined) return undefined;
    return { root, size: rep.entries, ...(resume ? { resume } : {}) };
  } catch (err) {
    if (input.signal?.aborted) throw err;
    return undefined; // not a trail on its own: no alternate history to compare
  }
}

/**
 * The fork shown by the new signed objects of `input` that are not checkpoints of the verified
 * history, when they verify as a trail of their own whose tree differs from the verified one at
 * their common size; undefined when they do not form a trail or agree with the verified history.
 */
export async function findAlternateFork(input: AlternateInput): Promise<Finding | undefined> {
  const { state, origin } = input;
  const verified = state.checkpoints(origin);
  if (verified.length === 0) return undefined;
  const rootAt = new Map(verified.map((c) => [c.size, c.root]));
  const ofVerified = new Set(input.verifiedNames);
  // The verified history's objects read again in this pass (a full pass re-reads everything).
  for (const s of input.signed) if (rootAt.get(s.size) === s.root) ofVerified.add(s.name);
  const alternate = input.signed.filter((s) => !ofVerified.has(s.name));
  if (alternate.length === 0) return undefined;
  const start = Math.min(...alternate.map((s) => s.first));
  const altSize = Math.max(...alternate.map((s) => s.size));
  const verifiedSize = verified.at(-1)!.size;
  const m = Math.min(altSize, verifiedSize);
  // Below `start` the alternate history is the verified one by construction: nothing to compare.
  if (m <= start) return undefined;

  // The verified tree at m (a verified checkpoint's root, else recomputed from the verified objects)
  // and its state at `start`, where the alternate objects continue it.
  let verifiedRoot = rootAt.get(m);
  let from: ResumeState | undefined;
  if (verifiedRoot === undefined || start > 0) {
    const mine = await walk(input, [...ofVerified], m, start);
    if (!mine || mine.size < Math.max(m, start) || (start > 0 && !mine.resume)) return undefined;
    verifiedRoot = mine.root;
    from = mine.resume;
  }
  const theirs = await walk(
    input,
    alternate.map((s) => s.name),
    m,
    start,
    from,
  );
  if (!theirs || theirs.root === verifiedRoot) return undefined;
  const ours = verified.find((c) => c.size >= m)!;
  const other = [...alternate].sort((a, b) => a.size - b.size).find((s) => s.size >= m)!;
  const message =
    `two validly signed histories of ${origin} disagree at size ${m}: the verified checkpoint ${ours.object} ` +
    `(size ${ours.size}) has root ${verifiedRoot} there, the checkpoint ${other.name} (size ${other.size}) root ` +
    `${theirs.root}; no consistency proof can join them: the writer's key signed two histories`;
  return {
    code: 'FORK',
    message,
    object: other.name,
    size: m,
    roots: [verifiedRoot, theirs.root],
    other: ours.object,
    checkpoints: [
      { size: ours.size, root: ours.root, object: ours.object, store: ours.store },
      { size: other.size, root: other.root, object: other.name, store: input.store },
    ],
  };
}
