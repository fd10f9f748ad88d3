// The monitor as a witness (config `witness:`, docs/operations.md "The fleet monitor"): after each
// pass, per origin it verified, it cosigns the newest checkpoint (C2SP cosignature/v1, with a
// timestamp) and publishes it to the witness store. What the pass hands over is, by construction of
// its incremental walk, consistent with everything the monitor verified of the origin before; this
// step adds the witness's own promise: never two checkpoints of one origin it cannot both stand
// behind (a smaller tree, or another root at the same size), across restarts (monitor.db).
import type { Logger } from '../log.js';
import type { CosignedRecord, MonitorState } from '../store/monitor-state.js';
import { type WitnessSigner, cosign } from '../trail/cosignature.js';
import { cosignedObjectName } from '../trail/witness-store.js';
import type { VerifiedCheckpoint } from './pass.js';
import type { WitnessWriter } from '../sinks/witness/writer.js';
import { SUBMITTED } from './add-checkpoint.js';

export interface WitnessDeps {
  state: MonitorState;
  signer: WitnessSigner;
  writer: WitnessWriter;
  /** How long before the same tree size of `origin` is cosigned again (freshness), ms. */
  minIntervalFor(origin: string): number;
  now(): number;
  log: Logger;
  /** Called once per cosigned note published. */
  onPublished?(store: string, origin: string): void;
}

export type WitnessOutcome =
  | { origin: string; result: 'cosigned'; size: number; object: string }
  | { origin: string; result: 'unchanged' | 'skipped'; size: number }
  | { origin: string; result: 'refused'; size: number; code: string; message: string }
  | { origin: string; result: 'failed'; size: number; code: string; message: string };

/** Statuses whose newest checkpoint may be cosigned: verified, possibly old (silent). */
const COSIGNABLE = new Set(['ok', 'silent']);

export class WitnessStep {
  /** Refusals already logged (origin, size, root): logged once, not on every pass. */
  private readonly refusedLogged = new Set<string>();

  constructor(private readonly d: WitnessDeps) {}

  /** The cosigned checkpoint per origin (for /status). */
  cosigned(): Map<string, CosignedRecord> {
    return new Map(this.d.state.allCosigned(this.d.signer.verifierKey).map((c) => [c.origin, c]));
  }

  /** Cosigns and publishes what a pass verified; never throws (a failure is retried by the next pass). */
  async run(verified: readonly VerifiedCheckpoint[]): Promise<WitnessOutcome[]> {
    // One checkpoint per origin: the largest over the stores holding it (a copy in two stores).
    const newest = new Map<string, VerifiedCheckpoint>();
    for (const v of verified) if ((newest.get(v.origin)?.size ?? -1) < v.size) newest.set(v.origin, v);
    const out: WitnessOutcome[] = [];
    for (const v of newest.values()) {
      try {
        out.push(await this.one(v));
      } catch (err) {
        const e = err as { code?: unknown; message: string };
        const code = typeof e.code === 'string' ? e.code : 'WITNESS_PUBLISH_FAILED';
        this.d.log.error(
          { origin: v.origin, size: v.size, code, err: e.message },
          'Witness: cosigning failed; the next pass tries again.',
        );
        out.push({ origin: v.origin, result: 'failed', size: v.size, code, message: e.message });
      }
    }
    return out;
  }

  private async one(v: VerifiedCheckpoint): Promise<WitnessOutcome> {
    const { state, signer } = this.d;
    const witness = signer.verifierKey;
    // The pass lists only ok and silent origins; the status is read again so that a broken, forked
    // or untrusted origin is never cosigned even if that changes.
    const status = state.origin(v.store, v.origin)?.status;
    if (status === undefined || !COSIGNABLE.has(status)) return { origin: v.origin, result: 'skipped', size: v.size };
    let prev = state.cosigned(witness, v.origin);
    // A cosignature recorded but not published (crash or store error after step 1 below): publish
    // it first, as recorded, before anything newer.
    if (prev && !prev.published) {
      await this.publish(prev);
      // Read again after the await: a submission (add-checkpoint.ts) may have cosigned meanwhile.
      prev = state.cosigned(witness, v.origin);
    }
    if (prev) {
      const refused = this.refusal(v, prev);
      if (refused) return refused;
      const fresh = this.d.now() - prev.time * 1000 < this.d.minIntervalFor(v.origin);
      if (v.size === prev.size && fresh) return { origin: v.origin, result: 'unchanged', size: v.size };
    }
    const time = Math.floor(this.d.now() / 1000);
    if (prev && prev.size === v.size && time <= prev.time)
      return { origin: v.origin, result: 'unchanged', size: v.size };
    const rec = {
      origin: v.origin,
      store: v.store,
      size: v.size,
      root: v.root,
      time,
      name: cosignedObjectName(v.origin, v.size, time),
      note: cosign(v.note, signer, time),
    };
    // 1. The record first: once the note is out, no inconsistent one may follow, even if the
    //    process dies right after publishing. A crash before step 2 leaves it unpublished; the
    //    next pass publishes it (above) before anything else of the origin.
    state.putCosigned(witness, rec);
    // 2. The cosigned note, never over an existing object; then marked published.
    await this.publish({ ...rec, published: false });
    return { origin: v.origin, result: 'cosigned', size: v.size, object: rec.name };
  }

  private async publish(c: CosignedRecord): Promise<void> {
    try {
      await this.d.writer.publish(c.name, c.note);
    } catch (err) {
      // A crash between publishing and marking: the object is there already (write-once).
      const code = (err as { code?: unknown }).code;
      if (code !== 'EEXIST' && code !== 'SINK_CONFLICT') throw err;
    }
    this.d.state.markPublished(this.d.signer.verifierKey, c.origin, c.name);
    this.d.onPublished?.(c.store, c.origin);
    this.d.log.info({ origin: c.origin, size: c.size, object: c.name }, 'Witness: checkpoint cosigned and published.');
  }

  /** Why `v` cannot be cosigned after `prev` (logged once per checkpoint), or undefined. */
  private refusal(v: VerifiedCheckpoint, prev: CosignedRecord): WitnessOutcome | undefined {
    // A writer submitted a larger checkpoint (add-checkpoint) than its store holds yet: the store lags.
    if (v.size < prev.size && prev.store === SUBMITTED) return { origin: v.origin, result: 'skipped', size: v.size };
    let message: string | undefined;
    if (v.size < prev.size)
      message =
        `${v.origin}: the newest verified checkpoint has size ${v.size}, below the size ${prev.size} this witness ` +
        'cosigned: the log rolled back (or its newest objects were removed); not cosigned';
    else if (v.size === prev.size && v.root !== prev.root)
      message =
        `${v.origin}: the checkpoint of size ${v.size} has root ${v.root}, but this witness cosigned root ` +
        `${prev.root} at that size: the log presented a fork; not cosigned`;
    else if (v.size > prev.size) {
      // The root the monitor verified at the cosigned size is never forgotten (table checkpoints);
      // another one there means the history now verified is not the one cosigned.
      const seen = this.d.state.checkpointRoot(v.origin, prev.size);
      if (seen && seen.root !== prev.root)
        message =
          `${v.origin}: this witness cosigned root ${prev.root} at size ${prev.size}, but the monitor verified ` +
          `root ${seen.root} there: the log presented a fork; not cosigned`;
    }
    if (message === undefined) return undefined;
    const key = `${v.origin}\n${v.size}\n${v.root}`;
    if (!this.refusedLogged.has(key)) {
      this.refusedLogged.add(key);
      this.d.log.error(
        { origin: v.origin, size: v.size, cosigned_size: prev.size, code: 'CHECKPOINT_FORK' },
        `Witness: REFUSED to cosign. ${message}`,
      );
    }
    return { origin: v.origin, result: 'refused', size: v.size, code: 'CHECKPOINT_FORK', message };
  }
}
