// What an origin's objects say beyond verifying: a fork (two validly signed checkpoints of one
// size with different roots; alternate.ts finds one across sizes) and silence (no checkpoint newer
// than max_silence).
import type { Finding, MonitorState, OriginStatus } from '../store/monitor-state.js';

/** A validly signed checkpoint of an object: its size and hex root, and the seq of its first entry. */
export interface SignedCheckpoint {
  name: string;
  size: number;
  root: string;
  /** size minus the object's entries (size for a heartbeat). */
  first: number;
}

/**
 * A fork: a validly signed checkpoint of `origin` at a size whose verified root (any store, any
 * earlier pass) or, in this pass, another signed root differs.
 */
export function findFork(
  state: MonitorState,
  origin: string,
  signed: readonly SignedCheckpoint[],
): Finding | undefined {
  const inPass = new Map<number, { root: string; object: string }>();
  for (const s of signed) {
    const seen = state.checkpointRoot(origin, s.size) ?? inPass.get(s.size);
    if (seen && seen.root !== s.root) {
      const message =
        `two validly signed checkpoints of ${origin} at size ${s.size} have different roots: ${seen.object} ` +
        `(root ${seen.root}) and ${s.name} (root ${s.root}); the writer's key signed two histories`;
      return { code: 'FORK', message, object: s.name, size: s.size, roots: [seen.root, s.root], other: seen.object };
    }
    if (!inPass.has(s.size)) inPass.set(s.size, { root: s.root, object: s.name });
  }
  return undefined;
}

/** `ok`, or `silent` when the newest checkpoint (Unix ms) is older than `max` ms at `now`. */
export function silence(
  max: number,
  origin: string,
  newest: number,
  now: number,
): { status: OriginStatus; finding: Finding } {
  if (now - newest <= max) return { status: 'ok', finding: {} };
  const age = Math.round((now - newest) / 1000);
  const message =
    `the newest checkpoint of ${origin} was signed ${new Date(newest).toISOString()}, ${age} s ago, longer than ` +
    `max_silence (${Math.round(max / 1000)} s): its writer stopped, or its objects stopped arriving`;
  return { status: 'silent', finding: { code: 'SILENT', message, newest_time: newest } };
}
