// The monitor's state database (`<state_dir>/monitor.db`): per store and origin the resume state
// of its verified trail and its status, the objects already verified, and the root of every
// verified checkpoint (fork evidence). Each origin's outcome of a pass is one transaction, so a
// monitor killed mid-pass keeps what it verified and redoes the rest.
import { join } from 'node:path';
import { CompactRange } from '../trail/merkle.js';
import type { ResumeState } from '../trail/verify-trail.js';
import { type Db, openDatabase, statementCache, type Prepared } from './db.js';
import * as Q from './monitor-sql.js';

/** The statuses of an origin (docs/operations.md, "The fleet monitor"). */
export type OriginStatus = 'ok' | 'broken' | 'silent' | 'fork' | 'untrusted_key';

/** What a status rests on: the verify code and where, or the fork's sizes and roots. */
export interface Finding {
  code?: string;
  message?: string;
  object?: string;
  seq?: number;
  [k: string]: unknown;
}

/** One origin of one store as stored. */
export interface OriginRecord {
  store: string;
  origin: string;
  status: OriginStatus;
  finding: Finding;
  lastPassAt: number;
  /** What was verified, when anything was (undefined after a full pass found the origin broken). */
  verified?: {
    size: number;
    root: string;
    newestTime: number;
    newestNote: string;
    resume: Omit<ResumeState, 'digests'>;
  };
}

interface OriginRow {
  store: string;
  origin: string;
  size: number | null;
  chain_head: Buffer | null;
  tree_edge: Buffer | null;
  root: string | null;
  newest_time: number | null;
  newest_note: string | null;
  signed_by: string | null;
  status: OriginStatus;
  finding: string;
  last_pass_at: number;
}

function toRecord(r: OriginRow): OriginRecord {
  const out: OriginRecord = {
    store: r.store,
    origin: r.origin,
    status: r.status,
    finding: JSON.parse(r.finding) as Finding,
    lastPassAt: r.last_pass_at,
  };
  if (r.size !== null) {
    out.verified = {
      size: r.size,
      root: r.root!,
      newestTime: r.newest_time!,
      newestNote: r.newest_note!,
      resume: {
        size: r.size,
        chainHead: new Uint8Array(r.chain_head!),
        edge: CompactRange.deserialize(r.tree_edge!),
        newestCheckpointTime: r.newest_time!,
        signedBy: JSON.parse(r.signed_by!) as string[],
      },
    };
  }
  return out;
}

/** What a pass verified of one origin, committed together. */
export interface VerifiedOutcome {
  resume: ResumeState;
  root: string;
  newestNote: string;
  /** The objects verified in this pass, with their digest (null: a byte-identical copy). */
  objects: { name: string; digest: string | null }[];
  /** The signed checkpoints verified in this pass. */
  checkpoints: { size: number; root: string; object: string }[];
  /** A full pass: the objects verified before are forgotten first (this pass re-read all). */
  full: boolean;
  status: OriginStatus;
  finding: Finding;
}

/** The checkpoint of an origin a witness key last cosigned (table `cosigned`). */
export interface CosignedRecord {
  origin: string;
  store: string;
  size: number;
  /** Hex tree root. */
  root: string;
  /** The cosignature's timestamp, POSIX seconds. */
  time: number;
  /** Its object name in the witness store, and the cosigned note. */
  name: string;
  note: string;
  published: boolean;
}

interface CosignedRow extends Omit<CosignedRecord, 'published'> {
  witness: string;
  published: number;
}

const toCosigned = ({ witness: _w, published, ...r }: CosignedRow): CosignedRecord => ({
  ...r,
  published: published === 1,
});

export class MonitorState {
  private readonly q: Prepared;

  private constructor(private readonly db: Db) {
    this.q = statementCache(db);
  }

  /** Opens (creating if needed) `<stateDir>/monitor.db`. */
  static open(stateDir: string): MonitorState {
    return new MonitorState(openDatabase(join(stateDir, 'monitor.db'), { migrations: Q.MONITOR_MIGRATIONS }));
  }

  meta(key: string): string | undefined {
    return (this.q(Q.SQL_MON_GET_META).pluck().get(key) as string | undefined) ?? undefined;
  }

  setMeta(key: string, value: string): void {
    this.q(Q.SQL_MON_SET_META).run(key, value);
  }

  origin(store: string, origin: string): OriginRecord | undefined {
    const r = this.q(Q.SQL_MON_GET_ORIGIN).get(store, origin) as OriginRow | undefined;
    return r && toRecord(r);
  }

  origins(store?: string): OriginRecord[] {
    const rows = (
      store === undefined ? this.q(Q.SQL_MON_ALL_ORIGINS).all() : this.q(Q.SQL_MON_STORE_ORIGINS).all(store)
    ) as OriginRow[];
    return rows.map(toRecord);
  }

  /** Names of the objects of `store` verified before: an incremental pass does not read them. */
  verifiedNames(store: string): Set<string> {
    return new Set(this.q(Q.SQL_MON_STORE_OBJECT_NAMES).pluck().all(store) as string[]);
  }

  /** The objects of `store` verified before, by origin: one no longer listed was removed. */
  verifiedObjects(store: string): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const r of this.q(Q.SQL_MON_STORE_OBJECT_ORIGINS).all(store) as { name: string; origin: string }[])
      (out.get(r.origin) ?? out.set(r.origin, []).get(r.origin)!).push(r.name);
    return out;
  }

  /** The resume state's digests of an origin (digest -> object name), to recognise a later copy. */
  digests(store: string, origin: string): Map<string, string> {
    const rows = this.q(Q.SQL_MON_ORIGIN_DIGESTS).all(store, origin) as { digest: string; name: string }[];
    return new Map(rows.map((r) => [r.digest, r.name]));
  }

  /** The root of the verified checkpoint of `origin` at `size`, in any store, if one was verified. */
  checkpointRoot(origin: string, size: number): { root: string; store: string; object: string } | undefined {
    return this.q(Q.SQL_MON_CHECKPOINT_ROOT).get(origin, size) as
      { root: string; store: string; object: string } | undefined;
  }

  /** Every verified checkpoint of `origin` (any store), by size: the history a fork is measured against. */
  checkpoints(origin: string): { size: number; root: string; store: string; object: string }[] {
    return this.q(Q.SQL_MON_ORIGIN_CHECKPOINTS).all(origin) as {
      size: number;
      root: string;
      store: string;
      object: string;
    }[];
  }

  /** Commits what a pass verified of an origin: resume state, status, objects and checkpoints at once. */
  putVerified(store: string, origin: string, o: VerifiedOutcome, now: number): void {
    this.db.transaction(() => {
      if (o.full) this.q(Q.SQL_MON_DELETE_ORIGIN_OBJECTS).run(store, origin);
      this.q(Q.SQL_MON_PUT_VERIFIED).run({
        store,
        origin,
        size: o.resume.size,
        chain_head: Buffer.from(o.resume.chainHead),
        tree_edge: Buffer.from(o.resume.edge.serialize()),
        root: o.root,
        newest_time: o.resume.newestCheckpointTime,
        newest_note: o.newestNote,
        signed_by: JSON.stringify(o.resume.signedBy),
        status: o.status,
        finding: JSON.stringify(o.finding),
        last_pass_at: now,
      });
      for (const obj of o.objects) this.q(Q.SQL_MON_PUT_OBJECT).run(store, obj.name, origin, obj.digest);
      for (const c of o.checkpoints) this.q(Q.SQL_MON_PUT_CHECKPOINT).run(origin, c.size, c.root, store, c.object);
    })();
  }

  /**
   * Sets an origin's status. `reset`: a full pass found it broken, so what was verified of it is
   * forgotten (its objects are read again by the next pass, which finds the break again).
   */
  putStatus(store: string, origin: string, status: OriginStatus, finding: Finding, now: number, reset = false): void {
    this.db.transaction(() => {
      this.q(Q.SQL_MON_PUT_STATUS).run({ store, origin, status, finding: JSON.stringify(finding), last_pass_at: now });
      if (reset) {
        this.q(Q.SQL_MON_RESET_ORIGIN).run(store, origin);
        this.q(Q.SQL_MON_DELETE_ORIGIN_OBJECTS).run(store, origin);
      }
    })();
  }

  /** What `witness` last cosigned of `origin`, if anything. */
  cosigned(witness: string, origin: string): CosignedRecord | undefined {
    const r = this.q(Q.SQL_MON_GET_COSIGNED).get(witness, origin) as CosignedRow | undefined;
    return r && toCosigned(r);
  }

  /** Everything `witness` cosigned, one record per origin. */
  allCosigned(witness: string): CosignedRecord[] {
    return (this.q(Q.SQL_MON_ALL_COSIGNED).all(witness) as CosignedRow[]).map(toCosigned);
  }

  /** Records a cosignature before it is published (not yet published). */
  putCosigned(witness: string, c: Omit<CosignedRecord, 'published'>): void {
    this.q(Q.SQL_MON_PUT_COSIGNED).run({ witness, ...c });
  }

  /** The cosigned note `name` is in the witness store. */
  markPublished(witness: string, origin: string, name: string): void {
    this.q(Q.SQL_MON_COSIGNED_PUBLISHED).run(witness, origin, name);
  }

  close(): void {
    this.db.close();
  }
}
