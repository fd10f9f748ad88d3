// Verifying a stored trail with nothing but the objects and the public key(s).
//
// Every byte of every object is attacker-controlled. Order of checks:
//  1. every object's checkpoint note is opened with the trusted keys (signature FIRST); only a
//     signed checkpoint's origin, size, root and chain head are believed;
//  2. objects are ordered by their signed tree size; entries are walked in seq order,
//     recomputing leaf, chain and tree;
//  3. each checkpoint must equal the recomputed tree size, root and chain head;
//  4. optionally the newest trusted checkpoint (from a witness, `tailseal checkpoint`) and a
//     maximum age prove the tail was not cut off.
// The first break is reported with its stream, seq, object and a code naming what it is.
import { openCheckpoint } from './checkpoint.js';
import { CHAIN_START, envelopeLeafHash, nextChain } from './envelope.js';
import { TailsealError, isTailsealError } from './errors.js';
import { type Gunzip, gunzipWeb } from './gzip.js';
import { type Sha256, equalBytes, hashChildren, nodeHasher, sha256, sha256Hex, toHex } from './hash.js';
import type { NoteVerifier } from './keys.js';
import { CompactRange } from './merkle.js';
import {
  DEFAULT_MAX_OBJECT_BYTES,
  type ObjectLine,
  type StoredEntry,
  objectFileName,
  objectLines,
  objectTail,
  objectText,
  parseExtension,
} from './object.js';
import type { StoreTampering } from './tampering.js';

// Durations in messages, as tailseal's config writes them (src/common/units.ts has the same two
// functions; the trail core imports nothing of tailseal, so it keeps its own copy).
const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `ms` in the largest unit that divides it ("24d", "90s", "2147483647ms"). */
function formatDuration(ms: number): string {
  for (const [u, f] of Object.entries(DURATION_UNITS).reverse()) if (ms % f === 0) return `${ms / f}${u}`;
  return `${ms}ms`;
}

/** `ms` in the unit of `like` ("1d" -> days), rounded down to three decimals. */
function formatDurationLike(ms: number, like: string): string {
  const unit = /([a-zA-Z]*)\s*$/.exec(like)![1]!.toLowerCase() || 'ms';
  const f = DURATION_UNITS[unit] ?? 1;
  return `${Math.floor((ms / f) * 1000) / 1000}${f === 1 ? 'ms' : unit}`;
}

/** Reads objects of a store; `read` may be called more than once per name. */
export interface ObjectReader {
  list(): Promise<string[]>;
  /**
   * An object's stored bytes; one over `maxBytes` is refused (ENTRY_MALFORMED) before it is
   * read, and one that is not a stored object (a FIFO, a device) with STORE_UNSAFE.
   */
  read(name: string, maxBytes: number): Promise<Uint8Array>;
}

// What a reader may offer beyond list and read, as small capability interfaces, each with a type guard
// checked at runtime (as sources/capabilities.ts does for sources): a store with WORM retention reports
// it, a versioned store reports what was written over its objects.

/** An object's WORM retention as the store reports it: lock mode, retain-until and stored time (Unix ms). */
export interface ObjectRetention {
  mode?: string;
  retainUntil?: number;
  storedAt?: number;
}

/** A reader of a store that keeps objects under WORM retention (e.g. S3 Object Lock). */
export interface RetentionReader {
  /** The object's WORM retention. */
  retention(name: string): Promise<ObjectRetention>;
}

export function readsRetention(r: ObjectReader): r is ObjectReader & RetentionReader {
  return typeof (r as Partial<RetentionReader>).retention === 'function';
}

/** A reader of a store that keeps what was written over its objects (S3 versions, delete markers). */
export interface TamperingReporter {
  /** After list(): what was added over stored objects (later versions, delete markers), for the caller to report. */
  tampering(): readonly StoreTampering[];
}

export function reportsTampering(r: ObjectReader): r is ObjectReader & TamperingReporter {
  return typeof (r as Partial<TamperingReporter>).tampering === 'function';
}

/** What the caller's report of `r`'s tampering lists: nothing for a store that keeps no versions. */
export function storeTampering(r: ObjectReader): readonly StoreTampering[] {
  return reportsTampering(r) ? r.tampering() : [];
}

/**
 * A reader that tells, without reading an object, a stamp of its stored bytes (size and mtime of a
 * file, the version id of an S3 object): a different stamp means the object was changed since.
 * An auditor's index (`tailseal index`) uses it to notice a store changed under it cheaply.
 */
export interface StampReader {
  stamp(name: string): Promise<string>;
}

export function readsStamps(r: ObjectReader): r is ObjectReader & StampReader {
  return typeof (r as Partial<StampReader>).stamp === 'function';
}

export interface VerifyOptions {
  verifiers: NoteVerifier[];
  /** A trusted newest checkpoint note per stream (out of band); proves the tail is complete. */
  latest?: string[];
  /** Fail when a stream's newest checkpoint is older than this (a cut-off tail). */
  maxAgeMs?: number;
  now?: number;
  /** Every object must be retained (Object Lock) at least this long after it was sealed. */
  minRetentionMs?: number;
  /** minRetentionMs as the user wrote it ("1d"), for messages in that unit. */
  minRetentionText?: string;
  /** Also return each stream's verified tail (StreamReport.tail), to continue the chain from it. */
  collectTail?: boolean;
  /**
   * Per origin, verify only up to this tree size: signed objects beyond it are left out (a
   * writer's audit of its own store, where later objects may still be in flight out of order).
   */
  upTo?: ReadonlyMap<string, number>;
  /**
   * The most bytes an object is read to, stored and after gunzip (default
   * DEFAULT_MAX_OBJECT_BYTES): a larger one is ENTRY_MALFORMED, never inflated into memory.
   */
  maxObjectBytes?: number;
  /** Stops the walk between objects (a daemon shutting down during its audit): throws AbortError. */
  signal?: AbortSignal;
  /**
   * Incremental: objects by these names were verified before and are not read again, and each
   * origin's walk starts from the state a previous pass ended in (`StreamReport.resume`). New
   * objects must continue that state exactly. Trust in the skipped objects is the earlier
   * pass's: only a full pass re-reads them (a store may have changed them since).
   */
  incremental?: { skip: ReadonlySet<string>; from: ReadonlyMap<string, ResumeState> };
  /** Bounded gunzip of gzip'd objects (default: the web-standard one; Node.js passes node:zlib's). */
  gunzip?: Gunzip;
  /** Hex SHA-256 of an object's text, to recognise the same object stored twice (default: noble's). */
  digest?: (text: Uint8Array) => string;
  /**
   * SHA-256 for the leaves, chain links and tree nodes (default: noble's). Node.js passes node:crypto's,
   * some three times faster over a 700-byte leaf; test/unit/seal/hash.test.ts holds the two equal.
   */
  sha256?: Sha256;
  /**
   * Called for every entry as it is verified against its chain value, in seq order per origin, with
   * its leaf hash (`tailseal prove` collects them). The walk may still fail later: use what was
   * collected only when verifyTrail returns.
   */
  onEntry?: (origin: string, entry: StoredEntry, leafHash: Uint8Array) => void;
  /** Called for each object's checkpoint once the entries before it match it (size, root, chain head). */
  onCheckpoint?: (origin: string, size: number, note: string) => void;
}

/** Where a verified walk of one origin ended: enough to verify what comes after it. */
export interface ResumeState {
  size: number;
  chainHead: Uint8Array;
  edge: CompactRange;
  newestCheckpointTime: number;
  signedBy: string[];
  /** SHA-256 of each verified object's uncompressed bytes, to its name: a later copy is a duplicate. */
  digests: Map<string, string>;
}

/**
 * --min-retention, exactly: retain-until must be at least `minMs` after the object was sealed (its
 * signed checkpoint time). The sink sets retain-until = upload time + retention on the same clock,
 * after sealing, so a sink retention of 1d passes 1d and fails 1d + 1 ms; no slack is needed.
 */
async function checkRetention(reader: ObjectReader, info: ObjectInfo, minMs: number, asGiven?: string): Promise<void> {
  const name = info.name;
  if (!readsRetention(reader))
    fail('RETENTION_MISSING', `this store has no retention to check (--min-retention applies to s3:// stores)`, {
      object: name,
    });
  const r = await reader.retention(name);
  if (!r.mode || r.retainUntil === undefined)
    fail('RETENTION_MISSING', `object ${name} has no Object Lock retention`, { object: name });
  if (r.retainUntil < info.time + minMs) {
    const given = asGiven ?? formatDuration(minMs);
    const kept = formatDurationLike(Math.max(0, r.retainUntil - info.time), given);
    const stored = r.storedAt === undefined ? '' : `, stored ${new Date(r.storedAt).toISOString()}`;
    const until = new Date(r.retainUntil).toISOString();
    const sealed = new Date(info.time).toISOString();
    fail(
      'RETENTION_MISSING',
      `object ${name} is retained (${r.mode}) only until ${until}, ${kept} after it was sealed ` +
        `(${sealed}${stored}): less than the required ${given}`,
      { object: name, retain_until: until, sealed_at: sealed },
    );
  }
}

export interface GapInfo {
  seq: number;
  source: string;
  offset: number;
  detail: unknown;
}

export interface DuplicateObject {
  object: string;
  /** The object with the same bytes that was verified. */
  sameAs: string;
}

export interface StreamReport {
  origin: string;
  stream: string;
  entries: number;
  objects: number;
  rootHash: string;
  newestCheckpointTime: number;
  signedBy: string[];
  gaps: GapInfo[];
  /**
   * Objects whose uncompressed bytes are identical to an earlier one of the same signed origin
   * (a copy under another name, even in another stream's folder): read once, reported, and no
   * break, since identical bytes add and hide nothing (docs/trail-format.md, "Duplicate objects").
   */
  duplicates: DuplicateObject[];
  /** With `collectTail`: what it takes to continue this stream where the verified trail ends. */
  tail?: TrailTail;
  /** Where this walk ended, and the objects it read (for an incremental pass after it). */
  resume: ResumeState;
  objectNames: string[];
}

/** The verified end of a stream: its head, tree edge and newest note, and where each source got to. */
export interface TrailTail {
  chainHead: Uint8Array;
  edge: CompactRange;
  /** The newest checkpoint note covering the last entry. */
  note: string;
  /** Per source (file path ...): the last decision entry sealed from it. */
  lastDecision: Map<string, { offset: number; payload: Uint8Array }>;
}

interface ObjectInfo {
  name: string;
  origin: string;
  size: number;
  rootHash: Uint8Array;
  chainHead: Uint8Array;
  time: number;
  entryCount: number;
  signedBy: string[];
  /** SHA-256 of the uncompressed object, to recognise the same object stored twice. */
  digest: string;
  note: string;
}

function fail(code: TailsealError['code'], message: string, details: Record<string, unknown>): never {
  throw new TailsealError(code, message, { details });
}

/** An object's uncompressed text (objectText), with a defect reported against its name. */
async function textNamed(name: string, bytes: Uint8Array, maxBytes: number, gunzip?: Gunzip): Promise<Uint8Array> {
  try {
    return await objectText(bytes, maxBytes, gunzip ?? gunzipWeb);
  } catch (err) {
    return fail('ENTRY_MALFORMED', `object ${name}: ${(err as Error).message}`, { object: name });
  }
}

/** An object's lines one at a time (objectLines of its text), with a defect reported against its name. */
function* linesNamed(name: string, text: Uint8Array): Generator<ObjectLine> {
  const lines = objectLines(text);
  for (;;) {
    let r: IteratorResult<ObjectLine>;
    try {
      r = lines.next();
    } catch (err) {
      return fail('ENTRY_MALFORMED', `object ${name}: ${(err as Error).message}`, { object: name });
    }
    if (r.done) return;
    yield r.value;
  }
}

/** reader.read, with a coded defect of the object (too large, not a file) reported against its name. */
export async function readNamed(reader: ObjectReader, name: string, maxBytes: number): Promise<Uint8Array> {
  try {
    return await reader.read(name, maxBytes);
  } catch (err) {
    if (isTailsealError(err, 'ENTRY_MALFORMED') || isTailsealError(err, 'STORE_UNSAFE')) {
      const details = { ...err.details, object: name };
      throw new TailsealError(err.code, `object ${name}: ${err.message}`, { cause: err, details });
    }
    throw err;
  }
}

/** Opens an object's checkpoint (signature first) and returns what it signs. Throws the defect. */
export async function inspect(
  name: string,
  bytes: Uint8Array,
  verifiers: NoteVerifier[],
  maxBytes = DEFAULT_MAX_OBJECT_BYTES,
  io: Pick<VerifyOptions, 'gunzip' | 'digest'> = {},
): Promise<ObjectInfo> {
  // Uncompressed once: parsed from, and hashed to recognise the same object stored twice.
  const text = await textNamed(name, bytes, maxBytes, io.gunzip);
  // Only the last line is parsed here (it holds the checkpoint); the walk parses every line.
  let tail: ReturnType<typeof objectTail>;
  try {
    tail = objectTail(text);
  } catch (err) {
    return fail('ENTRY_MALFORMED', `object ${name}: ${(err as Error).message}`, { object: name });
  }
  const last = tail.last;
  const note = last?.note ?? null;
  const lineStream = last?.note === undefined ? '' : last.stream;
  const entryCount = tail.lines - 1;
  const lastSeq = last?.entry?.envelope.seq;
  if (note === null) {
    fail(
      'TAIL_TRUNCATED',
      `object ${name} has no checkpoint line: it was truncated${lastSeq !== undefined ? ` after seq ${lastSeq}` : ''}`,
      { object: name, seq: lastSeq },
    );
  }
  let opened;
  try {
    opened = openCheckpoint(note, verifiers);
  } catch (err) {
    const code = isTailsealError(err) ? err.code : 'SIGNATURE_INVALID';
    fail(code, `object ${name}: checkpoint rejected: ${(err as Error).message}`, { object: name });
  }
  // Exactly one: with two, readers could take different chain heads and times from one note.
  const ours = opened.checkpoint.extensions.filter((l) => l.startsWith('tailseal/v1 ')).length;
  const ext = ours === 1 ? parseExtension(opened.checkpoint.extensions) : null;
  if (!ext) {
    const why =
      ours > 1 ? `${ours} tailseal/v1 extension lines (exactly one is allowed)` : 'no valid tailseal/v1 extension line';
    fail('CHECKPOINT_MALFORMED', `object ${name}: signed checkpoint has ${why}`, { object: name });
  }
  // The checkpoint line's "stream" is outside the signature: it must say what the signed origin says.
  if (lineStream !== streamOf(opened.checkpoint.origin)) {
    const says = JSON.stringify(lineStream);
    const origin = opened.checkpoint.origin;
    const msg = `object ${name}: checkpoint line says stream ${says} but its signed origin is ${origin}`;
    fail('ENTRY_MALFORMED', msg, { object: name });
  }
  return {
    name,
    origin: opened.checkpoint.origin,
    size: opened.checkpoint.size,
    rootHash: opened.checkpoint.rootHash,
    chainHead: ext.chainHead,
    time: ext.time,
    entryCount,
    signedBy: opened.verifiedBy.map((v) => v.name),
    digest: (io.digest ?? sha256Hex)(text),
    note,
  };
}

const streamOf = (origin: string): string => origin.slice(origin.lastIndexOf('/') + 1);

/** Whether an object's name is the one sinks give it: `.../<stream>/[YYYY/MM/DD/]<file name>`. */
function namedForContent(i: ObjectInfo): boolean {
  const file = objectFileName(i.size - i.entryCount, i.size, i.time, false);
  const parts = i.name.split('/');
  const last = parts.pop()!;
  return (last === file || last === `${file}.gz`) && parts.includes(streamOf(i.origin));
}

/** Verifies every stream found in the store. Throws the first break as a coded TailsealError. */
export async function verifyTrail(reader: ObjectReader, opts: VerifyOptions): Promise<StreamReport[]> {
  const infos: ObjectInfo[] = [];
  const max = opts.maxObjectBytes ?? DEFAULT_MAX_OBJECT_BYTES;
  for (const name of await reader.list()) {
    if (opts.incremental?.skip.has(name)) continue;
    opts.signal?.throwIfAborted();
    infos.push(await inspect(name, await readNamed(reader, name, max), opts.verifiers, max, opts));
    const minMs = opts.minRetentionMs;
    if (minMs !== undefined) await checkRetention(reader, infos.at(-1)!, minMs, opts.minRetentionText);
  }
  const byOrigin = new Map<string, ObjectInfo[]>();
  // Per origin, digest -> the first object with those bytes (incrementally: also those verified before).
  const seen = new Map<string, Map<string, string>>();
  const seenIn = (origin: string) => seen.get(origin) ?? seen.set(origin, new Map()).get(origin)!;
  for (const [origin, state] of opts.incremental?.from ?? []) seen.set(origin, new Map(state.digests));
  const duplicates = new Map<string, DuplicateObject[]>();
  for (const i of infos) {
    const limit = opts.upTo?.get(i.origin);
    if (limit !== undefined && i.size > limit) continue;
    // The same object stored twice (as .ndjson and .ndjson.gz after a gzip change, or copied
    // anywhere) is read once and reported: identical bytes add nothing and hide nothing.
    const sameAs = seenIn(i.origin).get(i.digest);
    const list = byOrigin.get(i.origin) ?? [];
    if (sameAs !== undefined) {
      // The copy is the one not where tailseal puts this object, whichever the store lists first.
      const earlier = list.findIndex((o) => o.name === sameAs);
      const swap = earlier >= 0 && !namedForContent(list[earlier]!) && namedForContent(i);
      const dup = swap ? { object: sameAs, sameAs: i.name } : { object: i.name, sameAs };
      duplicates.set(i.origin, [...(duplicates.get(i.origin) ?? []), dup]);
      if (swap) {
        list[earlier] = i;
        seenIn(i.origin).set(i.digest, i.name);
      }
      continue;
    }
    seenIn(i.origin).set(i.digest, i.name);
    list.push(i);
    byOrigin.set(i.origin, list);
  }

  const latest = new Map<string, { size: number; rootHash: Uint8Array }>();
  for (const note of opts.latest ?? []) {
    const c = openCheckpoint(note, opts.verifiers).checkpoint;
    latest.set(c.origin, { size: c.size, rootHash: c.rootHash });
    if (!byOrigin.has(c.origin))
      fail(
        'TAIL_TRUNCATED',
        `stream ${streamOf(c.origin)}: the trusted latest checkpoint has ${c.size} entries but the store holds no ` +
          `object of ${c.origin}`,
        { stream: streamOf(c.origin), seq: 0 },
      );
  }
  // Incrementally, an origin with nothing new still has its state to report.
  for (const origin of opts.incremental?.from.keys() ?? []) if (!byOrigin.has(origin)) byOrigin.set(origin, []);
  if (byOrigin.size === 0) fail('STORE_EMPTY', 'the store holds no trail objects', {});

  const reports: StreamReport[] = [];
  for (const [origin, objs] of [...byOrigin].sort(([a], [b]) => a.localeCompare(b))) {
    // Data objects end at their signed size; a heartbeat at the same size comes after them.
    objs.sort((a, b) => a.size - b.size || (a.entryCount > 0 ? 0 : 1) - (b.entryCount > 0 ? 0 : 1) || a.time - b.time);
    const report = await walkStream(reader, origin, objs, latest.get(origin), opts);
    report.duplicates = duplicates.get(origin) ?? [];
    report.resume.digests = seenIn(origin);
    reports.push(report);
  }
  return reports;
}

async function walkStream(
  reader: ObjectReader,
  origin: string,
  objs: ObjectInfo[],
  latest: { size: number; rootHash: Uint8Array } | undefined,
  opts: VerifyOptions,
): Promise<StreamReport> {
  const stream = streamOf(origin);
  const hash = opts.sha256 ?? sha256;
  const children = opts.sha256 ? nodeHasher(opts.sha256) : hashChildren;
  const start = opts.incremental?.from.get(origin);
  const edge = start ? start.edge.clone() : CompactRange.empty();
  const gaps: GapInfo[] = [];
  let chain = start ? start.chainHead : CHAIN_START;
  let expected = start?.size ?? 0;
  let newest = start?.newestCheckpointTime ?? 0;
  let rootAtLatest: Uint8Array | undefined = latest?.size === 0 ? edge.root() : undefined;
  const signedBy = new Set<string>(start?.signedBy ?? []);
  const lastDecision = new Map<string, { offset: number; payload: Uint8Array }>();
  let note = '';
  for (const info of objs) {
    opts.signal?.throwIfAborted();
    const object = info.name;
    // One entry at a time: the audit runs this inside the daemon, beside the sealing.
    const max = opts.maxObjectBytes ?? DEFAULT_MAX_OBJECT_BYTES;
    const lines = linesNamed(object, await textNamed(object, await readNamed(reader, object, max), max, opts.gunzip));
    for (const line of lines) {
      if (!line.entry) continue; // the checkpoint line, opened by inspect()
      const e = line.entry.envelope;
      const i = line.entry.line;
      const where = { stream, seq: e.seq, object };
      if (e.stream !== stream)
        fail(
          'ENTRY_INSERTED',
          `stream ${stream}: object ${object} line ${i + 1} holds an entry of stream ${JSON.stringify(e.stream)}`,
          where,
        );
      if (e.seq > expected) {
        const rest = [...lines];
        if (rest.some((x) => x.entry?.envelope.seq === expected))
          fail(
            'ENTRY_REORDERED',
            `stream ${stream}: seq ${expected} appears after seq ${e.seq} in object ${object}: entries were reordered`,
            { ...where, seq: expected },
          );
        fail(
          'ENTRY_MISSING',
          `stream ${stream}: seq ${expected}${e.seq - 1 > expected ? `..${e.seq - 1}` : ''} missing before seq ` +
            `${e.seq} in object ${object}`,
          { ...where, seq: expected },
        );
      }
      if (e.seq < expected)
        fail(
          'ENTRY_INSERTED',
          `stream ${stream}: seq ${e.seq} in object ${object} repeats an entry already seen (expected seq ` +
            `${expected}): an entry was inserted or duplicated`,
          where,
        );
      let leaf: Uint8Array;
      try {
        leaf = envelopeLeafHash(e, hash);
      } catch (err) {
        fail(
          'ENTRY_MALFORMED',
          `stream ${stream}: seq ${e.seq} in object ${object} cannot be encoded: ${(err as Error).message}`,
          where,
        );
      }
      const next = nextChain(chain, leaf, hash);
      if (!equalBytes(next, line.entry.chain))
        fail(
          'ENTRY_ALTERED',
          `stream ${stream}: seq ${e.seq} in object ${object} was altered: its content does not hash to the ` +
            `recorded chain value`,
          where,
        );
      if (e.kind === 'gap') gaps.push({ seq: e.seq, source: e.source, offset: e.offset, detail: safeJson(e.payload) });
      else if (opts.collectTail) lastDecision.set(e.source, { offset: e.offset, payload: e.payload });
      opts.onEntry?.(origin, line.entry, leaf);
      chain = next;
      edge.append(leaf, children);
      expected++;
      if (latest && expected === latest.size) rootAtLatest = edge.root();
    }
    const where = { stream, object, seq: expected };
    if (info.size > expected)
      fail(
        'ENTRY_MISSING',
        `stream ${stream}: object ${object} is signed for ${info.size} entries but only ${expected} precede its ` +
          `checkpoint: seq ${expected}${info.size - 1 > expected ? `..${info.size - 1}` : ''} missing`,
        where,
      );
    if (info.size < expected)
      fail(
        'ENTRY_INSERTED',
        `stream ${stream}: object ${object} holds entries beyond its signed size ${info.size} (seq ` +
          `${info.size}..${expected - 1}): entries were inserted`,
        { ...where, seq: info.size },
      );
    if (!equalBytes(edge.root(), info.rootHash) || !equalBytes(chain, info.chainHead)) {
      fail(
        'ENTRY_ALTERED',
        `stream ${stream}: entries before seq ${info.size} do not match the signed checkpoint of object ${object}: ` +
          `an entry and its chain value were altered`,
        where,
      );
    }
    opts.onCheckpoint?.(origin, info.size, info.note);
    newest = Math.max(newest, info.time);
    note = info.note;
    info.signedBy.forEach((k) => signedBy.add(k));
  }
  if (latest) {
    if (latest.size > expected)
      fail(
        'TAIL_TRUNCATED',
        `stream ${stream}: the trusted latest checkpoint has ${latest.size} entries but the store ends at ` +
          `${expected}: seq ${expected}..${latest.size - 1} missing (objects at the end were removed)`,
        { stream, seq: expected },
      );
    if (rootAtLatest && !equalBytes(rootAtLatest, latest.rootHash))
      fail(
        'ENTRY_ALTERED',
        `stream ${stream}: the trusted latest checkpoint at size ${latest.size} has a different root than the ` +
          `store: the trail was forked`,
        { stream, seq: latest.size },
      );
  }
  const now = opts.now ?? Date.now();
  if (opts.maxAgeMs !== undefined && now - newest > opts.maxAgeMs) {
    fail(
      'TAIL_TRUNCATED',
      `stream ${stream}: the newest checkpoint is ${Math.round((now - newest) / 1000)} s old, older than the ` +
        `allowed ${Math.round(opts.maxAgeMs / 1000)} s: the end of the trail may have been removed`,
      { stream, seq: expected },
    );
  }
  const resume: ResumeState = {
    size: expected,
    chainHead: chain,
    edge: edge.clone(),
    newestCheckpointTime: newest,
    signedBy: [...signedBy],
    digests: new Map(),
  };
  const report: StreamReport = {
    origin,
    stream,
    entries: expected,
    objects: objs.length,
    rootHash: toHex(edge.root()),
    newestCheckpointTime: newest,
    signedBy: [...signedBy],
    gaps,
    duplicates: [],
    resume,
    objectNames: objs.map((o) => o.name),
  };
  if (opts.collectTail) report.tail = { chainHead: chain, edge, note, lastDecision };
  return report;
}

function safeJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes));
  } catch {
    return null;
  }
}
