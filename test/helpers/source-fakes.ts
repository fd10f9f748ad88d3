// In-memory fakes of the two small interfaces a file source works against: the FileRegistry (the state
// database's file rows) and the BatchConsumer (the daemon's commit). The consumer applies a committed
// batch's position to the registry as the state store does in the same transaction, keeps a copy of every
// batch it was offered (payloads are views into the tail's read buffer, only valid during the call), and
// can be told to refuse (backpressure) or throw (a failing state database).
import type { FileProblem } from '../../src/sources/capabilities.js';
import type { FileRegistry, KnownFile, ListedFile } from '../../src/sources/file/registry.js';
import type { BatchConsumer, SourceBatch } from '../../src/sources/source.js';

export class FakeRegistry implements FileRegistry {
  readonly rows = new Map<number, KnownFile & { input: string }>();
  private nextId = 1;

  findFile(ident: string): KnownFile | undefined {
    const row = [...this.rows.values()].find((r) => r.ident === ident);
    return row && { ...row, fingerprint: new Uint8Array(row.fingerprint) };
  }

  listFiles(): ListedFile[] {
    return [...this.rows.values()].map(({ id, input, ident, path, offset, done }) => ({
      id,
      input,
      ident,
      path,
      offset,
      done,
    }));
  }

  upsertFile(
    f: { input: string; ident: string; path: string; fingerprint: Uint8Array; fpLen: number; offset: number },
    existingId?: number,
  ): number {
    const id = existingId ?? this.nextId++;
    const ident = existingId === undefined ? f.ident : this.rows.get(existingId)!.ident;
    this.rows.set(id, { ...f, ident, fingerprint: new Uint8Array(f.fingerprint), id, done: false });
    return id;
  }

  /** The files each input last reported it cannot read (what `tailseal status` shows). */
  readonly problems = new Map<string, readonly FileProblem[]>();

  setFileProblems(input: string, problems: readonly FileProblem[]): void {
    this.problems.set(input, [...problems]);
  }

  /** What the store does with a committed batch's position (in the commit's transaction). */
  applyPosition(p: NonNullable<SourceBatch['position']>): void {
    const row = this.rows.get(p.fileId);
    if (!row) throw new Error(`commit for unknown file row ${p.fileId}`);
    this.rows.set(p.fileId, { ...row, offset: p.offset, path: p.path, done: p.done ?? false });
  }
}

/** A batch as the fake keeps it: payloads copied out as text. */
export interface SeenBatch {
  input: string;
  stream: string;
  records: { kind: string; source: string; offset: number; payload: string }[];
  position?: { fileId: number; offset: number; path: string; done?: boolean };
  counters: Record<string, number>;
}

export class FakeConsumer implements BatchConsumer {
  /** 'accept' commits, 'refuse' returns false (outbox full), 'throw' fails like the state database. */
  mode: 'accept' | 'refuse' | 'throw' = 'accept';
  readonly committed: SeenBatch[] = [];
  readonly refused: SeenBatch[] = [];
  calls = 0;

  constructor(private readonly registry?: FakeRegistry) {}

  commit(batch: SourceBatch): boolean {
    this.calls++;
    const seen: SeenBatch = {
      input: batch.input,
      stream: batch.stream,
      records: batch.records.map((r) => ({
        kind: r.kind,
        source: r.source,
        offset: r.offset,
        payload: Buffer.from(r.payload).toString('utf8'),
      })),
      position: batch.position && { ...batch.position },
      counters: { ...batch.counters },
    };
    if (this.mode === 'throw') throw new Error('state database failing (fake)');
    if (this.mode === 'refuse') {
      this.refused.push(seen);
      return false;
    }
    if (batch.position) this.registry?.applyPosition(batch.position);
    this.committed.push(seen);
    return true;
  }

  /** Every record committed so far, in order. */
  records(): SeenBatch['records'] {
    return this.committed.flatMap((b) => b.records);
  }

  /** The gap records committed so far, their payloads parsed. */
  gaps(): (Record<string, unknown> & { offset: number; source: string })[] {
    return this.records()
      .filter((r) => r.kind === 'gap')
      .map((r) => ({ ...(JSON.parse(r.payload) as Record<string, unknown>), offset: r.offset, source: r.source }));
  }
}
