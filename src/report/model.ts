// The completeness report's model: one pass over a store (verifyTrail's onEntry and onCheckpoint
// hooks) into counters, then a versioned JSON document (docs/report.md). Memory is bounded by what
// is counted, never by the entries: maps keyed by stream, policy path, result, revision, pointer and
// hour, each with at most MAX_KEYS names (attacker-controlled strings: the rest are counted together).
// Imports only the trail core, so the browser verifier page can build the same report.
import {
  type NoteVerifier,
  type ObjectRetention,
  type StoreTampering,
  type StoredEntry,
  type StreamReport,
  TailsealError,
  openNote,
  parseCheckpoint,
  parseExtension,
} from '../trail/index.js';
import { type DecisionResult, decisionFacts } from './scan.js';

export const REPORT_KIND = 'tailseal-completeness';
export const REPORT_VERSION = 1;
/** Distinct names kept per counter; what further names count is summed in `decisions.other`. */
export const MAX_KEYS = 1000;
/** Gap records and objects listed one by one; the rest are counted. */
export const MAX_LISTED = 1000;
/**
 * A silence is a time without checkpoints longer than this (ReportOptions.maxSilenceMs): twice the daemon's
 * default `checkpoint.heartbeat` (1m), since a running writer checkpoints at least that often, idle or not.
 * Heartbeats make it exact: a stream that checkpoints every minute shows no silence, whatever its load.
 */
export const DEFAULT_MAX_SILENCE_MS = 120_000;
const HOUR = 3_600_000;

export interface Counted {
  name: string;
  count: number;
}

/** Counts by name, keeping MAX_KEYS names. */
class Counter {
  private readonly counts = new Map<string, number>();
  /** Counted under names beyond the MAX_KEYS kept. */
  otherCount = 0;
  add(name: string, n = 1): void {
    const c = this.counts.get(name);
    if (c !== undefined) this.counts.set(name, c + n);
    else if (this.counts.size < MAX_KEYS) this.counts.set(name, n);
    else this.otherCount += n;
  }
  list(): Counted[] {
    return [...this.counts]
      .map(([name, count]) => ({ name, count }))
      .sort((a, b) => b.count - a.count || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
}

export interface GapRow {
  seq: number;
  reason: string;
  source: string;
  offset: number;
  /** Bytes the gap covers; null when only `at_least` is known (the file was gone). */
  length: number | null;
  at_least?: number;
  sealed_at: string;
}

export interface Silence {
  from: string;
  to: string;
  ms: number;
}

export interface StreamSummary {
  stream: string;
  origin: string;
  /** OK, the break's code, or NOT_CONFIRMED (verification stopped at another stream's break). */
  result: string;
  entries: number;
  objects: number;
  root_hash: string | null;
  duplicates: number;
  /** First and last sealed_at of the whole stream, and of the entries in the range. */
  stored: { first_sealed_at: string | null; last_sealed_at: string | null };
  covered: { first_sealed_at: string | null; last_sealed_at: string | null };
  decisions: number;
  gap_records: { count: number; by_reason: Counted[]; listed: GapRow[]; not_listed: number };
  checkpoints_checked: number;
  heartbeats: number;
  median_checkpoint_interval_ms: number | null;
  longest_silence: Silence | null;
  /** Times without a checkpoint over the report's max_silence_ms, longest first. */
  silences: Silence[];
  keys: { name: string; key_id: string }[];
  /** The newest checkpoint note: save it for `tailseal prove --consistency --old`. */
  newest_checkpoint: string | null;
  newest_checkpoint_time: string | null;
}

export interface RetentionSummary {
  objects: number;
  locked: number;
  modes: Counted[];
  earliest_retain_until: string | null;
  latest_retain_until: string | null;
  unlocked: string[];
  unlocked_count: number;
}

export interface CompletenessReport {
  report: typeof REPORT_KIND;
  version: typeof REPORT_VERSION;
  generated_at: string;
  store: string;
  range: { since: string | null; until: string | null };
  /** A time without checkpoints longer than this is listed as a silence. */
  max_silence_ms: number;
  verification: { ok: boolean; code?: string; message?: string; stream?: string; object?: string; seq?: number };
  streams: StreamSummary[];
  decisions: {
    total: number;
    by_path: Counted[];
    by_result: Record<DecisionResult, number>;
    revisions: { bundle: string; revision: string; count: number }[];
    masked: Counted[];
    erased: Counted[];
    masked_decisions: number;
    erased_decisions: number;
    not_json: number;
    /** Names beyond MAX_KEYS per counter, counted together. */
    other: { paths: number; revisions: number; pointers: number };
    per_hour: { hour: string; count: number }[];
  };
  retention: RetentionSummary | null;
  tampering: { count: number; listed: StoreTampering[] };
}

interface StreamAcc {
  origin: string;
  entries: number;
  storedFirst: number;
  storedLast: number;
  first: number;
  last: number;
  decisions: number;
  gapReasons: Counter;
  gaps: GapRow[];
  gapCount: number;
  checkpoints: number;
  heartbeats: number;
  lastSize: number;
  lastTime: number;
  /** [start, length] of each interval between consecutive checkpoints (one per object, not per entry). */
  intervals: [number, number][];
  keys: Map<string, { name: string; key_id: string }>;
  newest: string | null;
  newestTime: number;
}

export interface ReportOptions {
  verifiers: NoteVerifier[];
  /** Unix ms, inclusive; entries sealed outside are verified but not counted. */
  since?: number;
  until?: number;
  store: string;
  now: number;
  /** A time without checkpoints longer than this is a silence (default DEFAULT_MAX_SILENCE_MS). */
  maxSilenceMs?: number;
}

const iso = (ms: number): string => new Date(ms).toISOString();
const isoOrNull = (ms: number): string | null => (Number.isFinite(ms) ? iso(ms) : null);
const DECODER = new TextDecoder('utf-8', { ignoreBOM: true });
const streamOf = (origin: string): string => origin.slice(origin.lastIndexOf('/') + 1);

export class ReportBuilder {
  private readonly streams = new Map<string, StreamAcc>();
  private readonly paths = new Counter();
  private readonly results: Record<DecisionResult, number> = { allow: 0, deny: 0, other: 0, none: 0 };
  private readonly revisions = new Counter();
  private readonly masked = new Counter();
  private readonly erased = new Counter();
  private readonly hours = new Map<number, number>();
  private maskedDecisions = 0;
  private erasedDecisions = 0;
  private notJson = 0;
  private total = 0;
  private locked = 0;
  private readonly modes = new Counter();
  private retainMin = Infinity;
  private retainMax = -Infinity;
  private readonly unlocked: string[] = [];
  private unlockedCount = 0;
  private tampering: readonly StoreTampering[] = [];

  private readonly maxSilenceMs: number;

  constructor(private readonly o: ReportOptions) {
    this.maxSilenceMs = o.maxSilenceMs ?? DEFAULT_MAX_SILENCE_MS;
  }

  private acc(origin: string): StreamAcc {
    let a = this.streams.get(origin);
    if (a === undefined) {
      a = {
        origin,
        entries: 0,
        storedFirst: Infinity,
        storedLast: -Infinity,
        first: Infinity,
        last: -Infinity,
        decisions: 0,
        gapReasons: new Counter(),
        gaps: [],
        gapCount: 0,
        checkpoints: 0,
        heartbeats: 0,
        lastSize: -1,
        lastTime: NaN,
        intervals: [],
        keys: new Map(),
        newest: null,
        newestTime: NaN,
      };
      this.streams.set(origin, a);
    }
    return a;
  }

  private inRange(ms: number): boolean {
    return (this.o.since === undefined || ms >= this.o.since) && (this.o.until === undefined || ms <= this.o.until);
  }

  /** verifyTrail's onEntry. */
  readonly onEntry = (origin: string, entry: StoredEntry): void => {
    const a = this.acc(origin);
    const e = entry.envelope;
    a.entries++;
    if (e.sealedAt < a.storedFirst) a.storedFirst = e.sealedAt;
    if (e.sealedAt > a.storedLast) a.storedLast = e.sealedAt;
    if (!this.inRange(e.sealedAt)) return;
    if (e.sealedAt < a.first) a.first = e.sealedAt;
    if (e.sealedAt > a.last) a.last = e.sealedAt;
    if (e.kind === 'gap') this.gap(a, entry);
    else this.decision(a, DECODER.decode(e.payload), e.sealedAt);
  };

  private gap(a: StreamAcc, entry: StoredEntry): void {
    const e = entry.envelope;
    let body: Record<string, unknown> = {};
    try {
      const v = JSON.parse(DECODER.decode(e.payload)) as unknown;
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) body = v as Record<string, unknown>;
    } catch {
      // Counted as "unknown" below.
    }
    const reason = typeof body.reason === 'string' ? body.reason : 'unknown';
    a.gapCount++;
    a.gapReasons.add(reason);
    if (a.gaps.length >= MAX_LISTED) return;
    const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
    const row: GapRow = {
      seq: e.seq,
      reason,
      source: e.source,
      offset: num(body.from) ?? e.offset,
      length: num(body.length) ?? null,
      sealed_at: iso(e.sealedAt),
    };
    const atLeast = num(body.at_least);
    if (atLeast !== undefined) row.at_least = atLeast;
    a.gaps.push(row);
  }

  private decision(a: StreamAcc, text: string, sealedAt: number): void {
    a.decisions++;
    this.total++;
    const f = decisionFacts(text);
    if (!f.json) this.notJson++;
    this.paths.add(f.path ?? '(none)');
    this.results[f.result]++;
    for (const [bundle, revision] of f.revisions) this.revisions.add(JSON.stringify([bundle, revision]));
    for (const p of f.masked) this.masked.add(p);
    for (const p of f.erased) this.erased.add(p);
    if (f.masked.length > 0) this.maskedDecisions++;
    if (f.erased.length > 0) this.erasedDecisions++;
    const hour = Math.floor(sealedAt / HOUR) * HOUR;
    this.hours.set(hour, (this.hours.get(hour) ?? 0) + 1);
  }

  /** verifyTrail's onCheckpoint: the note was verified; re-opened here for its keys and time. */
  readonly onCheckpoint = (origin: string, size: number, note: string): void => {
    const a = this.acc(origin);
    const { text, verifiedBy } = openNote(note, this.o.verifiers);
    const time = parseExtension(parseCheckpoint(text).extensions)?.time ?? NaN;
    a.checkpoints++;
    for (const v of verifiedBy)
      a.keys.set(`${v.name} ${v.keyId}`, { name: v.name, key_id: v.keyId.toString(16).padStart(8, '0') });
    if (size === a.lastSize && this.inRange(time)) a.heartbeats++;
    if (Number.isFinite(a.lastTime) && time > a.lastTime) a.intervals.push([a.lastTime, time - a.lastTime]);
    a.lastSize = size;
    if (Number.isFinite(time)) a.lastTime = time;
    a.newest = note;
    a.newestTime = time;
  };

  /** An object's retention, for s3:// stores (RetentionReader). */
  addRetention(name: string, r: ObjectRetention): void {
    if (r.mode && r.retainUntil !== undefined) {
      this.locked++;
      this.modes.add(r.mode);
      this.retainMin = Math.min(this.retainMin, r.retainUntil);
      this.retainMax = Math.max(this.retainMax, r.retainUntil);
    } else {
      this.unlockedCount++;
      if (this.unlocked.length < MAX_LISTED) this.unlocked.push(name);
    }
  }

  setTampering(list: readonly StoreTampering[]): void {
    this.tampering = list;
  }

  /** The document, from verifyTrail's result or its break. */
  finish(result: StreamReport[] | TailsealError<string>): CompletenessReport {
    const reports = new Map(Array.isArray(result) ? result.map((r) => [r.origin, r]) : []);
    const broken = result instanceof TailsealError ? result : undefined;
    const details = (broken?.details ?? {}) as { stream?: unknown; object?: unknown; seq?: unknown };
    const verification: CompletenessReport['verification'] = broken
      ? { ok: false, code: broken.code, message: broken.message }
      : { ok: true };
    if (typeof details.stream === 'string') verification.stream = details.stream;
    if (typeof details.object === 'string') verification.object = details.object;
    if (typeof details.seq === 'number') verification.seq = details.seq;
    const origins = new Set([...this.streams.keys(), ...reports.keys()]);
    const streams = [...origins].sort().map((origin) => this.stream(origin, reports.get(origin), verification));
    const revisions = this.revisions.list().map(({ name, count }) => {
      const [bundle, revision] = JSON.parse(name) as [string, string];
      return { bundle, revision, count };
    });
    return {
      report: REPORT_KIND,
      version: REPORT_VERSION,
      generated_at: iso(this.o.now),
      store: this.o.store,
      range: {
        since: this.o.since === undefined ? null : iso(this.o.since),
        until: this.o.until === undefined ? null : iso(this.o.until),
      },
      max_silence_ms: this.maxSilenceMs,
      verification,
      streams,
      decisions: {
        total: this.total,
        by_path: this.paths.list(),
        by_result: { ...this.results },
        revisions,
        masked: this.masked.list(),
        erased: this.erased.list(),
        masked_decisions: this.maskedDecisions,
        erased_decisions: this.erasedDecisions,
        not_json: this.notJson,
        other: {
          paths: this.paths.otherCount,
          revisions: this.revisions.otherCount,
          pointers: this.masked.otherCount + this.erased.otherCount,
        },
        per_hour: [...this.hours].sort(([x], [y]) => x - y).map(([h, count]) => ({ hour: iso(h), count })),
      },
      retention: this.retentionSummary(),
      tampering: { count: this.tampering.length, listed: this.tampering.slice(0, MAX_LISTED) },
    };
  }

  private stream(origin: string, r: StreamReport | undefined, v: CompletenessReport['verification']): StreamSummary {
    const a = this.acc(origin);
    const stream = streamOf(origin);
    const result = v.ok ? 'OK' : v.stream === stream || v.stream === undefined ? v.code! : 'NOT_CONFIRMED';
    const inRange = a.intervals.filter(([from, ms]) => this.overlaps(from, from + ms));
    const sorted = inRange.map(([, ms]) => ms).sort((x, y) => x - y);
    const median = sorted.length === 0 ? null : sorted[Math.floor((sorted.length - 1) / 2)]!;
    const silence = ([from, ms]: [number, number]): Silence => ({ from: iso(from), to: iso(from + ms), ms });
    const longest = inRange.reduce<[number, number] | null>((m, x) => (m === null || x[1] > m[1] ? x : m), null);
    const silences = inRange
      .filter(([, ms]) => ms > this.maxSilenceMs)
      .sort((x, y) => y[1] - x[1])
      .slice(0, MAX_LISTED)
      .map(silence);
    return {
      stream,
      origin,
      result,
      entries: r?.entries ?? a.entries,
      objects: r?.objects ?? 0,
      root_hash: r?.rootHash ?? null,
      duplicates: r?.duplicates.length ?? 0,
      stored: { first_sealed_at: isoOrNull(a.storedFirst), last_sealed_at: isoOrNull(a.storedLast) },
      covered: { first_sealed_at: isoOrNull(a.first), last_sealed_at: isoOrNull(a.last) },
      decisions: a.decisions,
      gap_records: {
        count: a.gapCount,
        by_reason: a.gapReasons.list(),
        listed: a.gaps,
        not_listed: a.gapCount - a.gaps.length,
      },
      checkpoints_checked: a.checkpoints,
      heartbeats: a.heartbeats,
      median_checkpoint_interval_ms: median,
      longest_silence: longest === null ? null : silence(longest),
      silences,
      keys: [...a.keys.values()],
      newest_checkpoint: a.newest,
      newest_checkpoint_time: isoOrNull(a.newestTime),
    };
  }

  private overlaps(from: number, to: number): boolean {
    return (this.o.since === undefined || to >= this.o.since) && (this.o.until === undefined || from <= this.o.until);
  }

  private retentionSummary(): RetentionSummary | null {
    const objects = this.locked + this.unlockedCount;
    if (objects === 0) return null;
    return {
      objects,
      locked: this.locked,
      modes: this.modes.list(),
      earliest_retain_until: isoOrNull(this.retainMin),
      latest_retain_until: isoOrNull(this.retainMax),
      unlocked: this.unlocked,
      unlocked_count: this.unlockedCount,
    };
  }
}
