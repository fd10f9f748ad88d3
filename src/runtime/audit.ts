// The periodic integrity audit: the daemon reads back what it stored in each readable sink and
// verifies it as an auditor would (signatures first, then chain and tree), so a store that lost,
// altered or reordered objects is noticed by the operator before an auditor finds it.
import type { Logger } from 'pino';
import { TailsealError, errorMessage, isTailsealError } from '../errors.js';
import type { NoteVerifier } from '../trail/keys.js';
import { NODE_VERIFY } from '../seal/gzip.js';
import { DEFAULT_MAX_OBJECT_BYTES } from '../trail/object.js';
import { type LongTimer, setLongTimeout } from '../common/timer.js';
import { tamperedError } from '../trail/tampering.js';
import {
  type DuplicateObject,
  type ObjectReader,
  type ResumeState,
  storeTampering,
  verifyTrail,
} from '../trail/verify-trail.js';

export interface AuditTarget {
  name: string;
  reader(): ObjectReader;
  /** Per origin, how far the sink is known to hold every object (later ones may be in flight). */
  upTo(): ReadonlyMap<string, number>;
}

export interface AuditResult {
  sink: string;
  ok: boolean;
  /** A full pass re-read every object; an incremental one only those new since the last pass. */
  full: boolean;
  streams: { stream: string; entries: number }[];
  /** Byte-identical copies of verified objects: a warning, as `tailseal verify` prints them. */
  duplicates: DuplicateObject[];
  /** The first break, when not ok. */
  error?: TailsealError;
}

/** What the last good pass of a sink verified: where to continue, and what not to read again. */
interface Verified {
  from: Map<string, ResumeState>;
  names: Set<string>;
  fullAt: number;
}

/**
 * Runs one audit of each target every `intervalMs` (never two at once). A pass is incremental
 * (only objects new since the last good pass are read, and must continue its verified state)
 * unless `fullIntervalMs` has passed since the last full pass, or there was none: a full pass
 * re-reads and verifies the whole trail, which also catches an object changed after it was
 * audited. The result is logged (a failure at error level with its first break) and handed to
 * `report` (metrics).
 */
export class Auditor {
  private timer: LongTimer | null = null;
  private running: Promise<unknown> | null = null;
  private stopped = false;
  /** Aborts a pass in progress between two objects, so a shutdown never waits for a whole pass. */
  private readonly abort = new AbortController();
  private readonly verified = new Map<string, Verified>();

  constructor(
    private readonly targets: () => AuditTarget[],
    private readonly verifiers: () => NoteVerifier[],
    private readonly intervalMs: number,
    private readonly fullIntervalMs: number,
    private readonly log: Logger,
    private readonly report: (r: AuditResult) => void,
    /** The read limit per object (runtime/read-limits.ts): a planted gzip bomb is ENTRY_MALFORMED. */
    private readonly maxObjectBytes: () => number = () => DEFAULT_MAX_OBJECT_BYTES,
  ) {}

  /** Schedules the first pass after `firstDelayMs`, then one every interval. */
  start(firstDelayMs: number): void {
    this.schedule(firstDelayMs);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    // setLongTimeout: audit.interval may be a long wait, which a plain setTimeout would cut to 1 ms.
    this.timer = setLongTimeout(() => {
      this.running = this.runOnce().finally(() => {
        this.running = null;
        this.schedule(this.intervalMs);
      });
    }, ms);
    this.timer.unref();
  }

  /** One pass over every target; never throws. */
  async runOnce(): Promise<AuditResult[]> {
    const out: AuditResult[] = [];
    for (const t of this.targets()) {
      if (this.stopped) break;
      const started = Date.now();
      const last = this.verified.get(t.name);
      const full = !last || started - last.fullAt >= this.fullIntervalMs;
      let r: AuditResult;
      const reader = t.reader();
      try {
        const reports = await verifyTrail(reader, {
          verifiers: this.verifiers(),
          upTo: t.upTo(),
          maxObjectBytes: this.maxObjectBytes(),
          signal: this.abort.signal,
          ...NODE_VERIFY,
          ...(full ? {} : { incremental: { skip: last.names, from: last.from } }),
        });
        const duplicates = reports.flatMap((s) => s.duplicates);
        const streams = reports.map((s) => ({ stream: s.stream, entries: s.entries }));
        r = { sink: t.name, ok: true, full, streams, duplicates };
        const names = full ? new Set<string>() : last.names;
        // A duplicate is reported once per full pass, not read again by every incremental one.
        for (const rep of reports) {
          for (const n of [...rep.objectNames, ...rep.duplicates.map((d) => d.object)]) names.add(n);
        }
        this.verified.set(t.name, {
          from: new Map(reports.map((rep) => [rep.origin, rep.resume])),
          names,
          fullAt: full ? started : last.fullAt,
        });
        // The originals verified (and the next pass continues from them), but the store was written over.
        const tampering = storeTampering(reader);
        if (tampering.length > 0) r = { ...r, ok: false, error: tamperedError(tampering) };
      } catch (err) {
        if (this.abort.signal.aborted) break; // stopping: no verdict
        if (isTailsealError(err, 'STORE_EMPTY')) r = { sink: t.name, ok: true, full, streams: [], duplicates: [] };
        else {
          const error = isTailsealError(err)
            ? err
            : new TailsealError('SINK_RETRYABLE', errorMessage(err), { cause: err });
          r = { sink: t.name, ok: false, full, streams: [], duplicates: [], error };
        }
      }
      const ms = Date.now() - started;
      if (r.duplicates.length > 0) {
        this.log.warn(
          { sink: t.name, duplicates: r.duplicates.slice(0, 20), count: r.duplicates.length },
          'Integrity audit found objects stored twice (byte-identical copies, verified once): no break; unless a ' +
            "sink's gzip setting changed, find out what copied them.",
        );
      }
      if (r.ok)
        this.log.info(
          { sink: t.name, full, streams: r.streams, duration_ms: ms },
          full
            ? 'Integrity audit passed (full pass): the trail in the sink verifies.'
            : 'Integrity audit passed (new objects): the trail in the sink verifies.',
        );
      else if (r.error!.code === 'SINK_RETRYABLE' || r.error!.code === 'SINK_PERMANENT')
        this.log.warn(
          { sink: t.name, err: r.error!.message, duration_ms: ms },
          'Integrity audit could not read the sink; trying again at the next audit.',
        );
      else if (r.error!.code === 'STORE_TAMPERED') {
        const e = r.error!;
        this.log.error(
          { sink: t.name, full, code: e.code, err: e.message, ...e.details, duration_ms: ms },
          'Integrity audit FAILED: someone wrote over stored objects (later versions or delete markers); ' +
            'the original trail verifies. `tailseal verify` lists every change.',
        );
      } else
        this.log.error(
          { sink: t.name, full, code: r.error!.code, err: r.error!.message, ...r.error!.details, duration_ms: ms },
          'Integrity audit FAILED: the trail in the sink does not verify. Investigate the store; `tailseal verify` ' +
            'shows the same break.',
        );
      this.report(r);
      out.push(r);
    }
    return out;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    this.timer?.clear();
    await this.running;
  }
}
