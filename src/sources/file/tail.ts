// One open file generation: reads complete lines from the committed offset, classifies them and
// hands them to the consumer with the offset they bring the file to. The in-memory offset only
// moves after the consumer has committed, so what is in memory never runs ahead of the database.
import { type FileHandle, realpath } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { BatchConsumer, SourceRecord } from '../source.js';
import { classifyLine } from './classify.js';
import { type LogFormat, LineDecoder, kubernetesMeta } from './container.js';
import { type GapFile, gapRecord, sealLostGeneration, utf8Prefix } from './gap.js';
import { equalBytes } from '../../trail/hash.js';
import {
  FINGERPRINT_BYTES,
  fingerprintOf,
  headMatches,
  identify,
  identifyPath,
  readHead,
  readRange,
} from './identity.js';
import type { FileRegistry, KnownFile } from './registry.js';
import type { ProtectedPaths } from '../capabilities.js';
import { openGuarded } from './safe-open.js';
import { copyEndingAtOffset } from './rotated-copy.js';

export interface TailOptions {
  input: string;
  stream: string;
  maxLineBytes: number;
  readChunkBytes: number;
  /** How lines are wrapped: plain JSON lines, or a container runtime's log format. */
  format: LogFormat;
  /**
   * A line over maxLineBytes: a gap record (`gap`), or one that also keeps its first maxLineBytes bytes
   * (`truncate`).
   */
  longLines: 'gap' | 'truncate';
}

export interface TailDeps {
  registry: FileRegistry;
  consumer: BatchConsumer;
  log: Logger;
  /** tailseal's own files and directories, never opened for reading (read at every open). */
  protect?: () => ProtectedPaths;
}

/** The outcome of a read step. */
export type ReadResult = 'eof' | 'more' | 'blocked';

const NEWLINE = 0x0a;
/**
 * Bytes before the offset compared on growth and on every read, to see a copytruncate that kept the
 * first bytes. Each read buffer keeps this much room in front of its data, so a read at the offset
 * takes them in the same pread as the chunk: a check of its own before the read would leave a window
 * in which the file is truncated and regrown past the offset, and the read would start mid-line in
 * the new content.
 */
const TAIL_CHECK_BYTES = 64;
/** Where a read buffer's data starts (the room for the bytes before the offset). */
const LEAD = TAIL_CHECK_BYTES;
const MALFORMED_WARNINGS = 10;
/** Reads per step while finishing a rotated file (it is read to its end either way). */
const CHUNKS_PER_FINISH = 64;

export class FileTail {
  path: string;
  readonly ident: string;
  /** Set when the path no longer leads to this file (renamed away or deleted). */
  retiredAt: number | null = null;
  /** Last time a read returned bytes not read before (or the file was opened). */
  lastDataAt = Date.now();
  /**
   * The end of the bytes read so far. A partial last line is read again on every poll until its
   * newline comes; only bytes past this end are activity, else a rotated file ending in a
   * fragment would never go quiet for rotate_wait and never be finished.
   */
  private readEnd: number;

  private fileId: number;
  private offset: number;
  private fingerprint: Uint8Array;
  private fpLen: number;
  /** File size at the last check: what we knew was there. */
  private lastSize: number;
  private buf: Buffer;
  /** Inside a line longer than max_line_bytes: how far we have scanned for its end. */
  private longLineScan: number | null = null;
  /**
   * When the scan resumes inside a physical line: whether that line ends the logical one (judged
   * from its head, container formats). Null when the scan resumes at a physical line's start.
   */
  private scanInsideFinal: boolean | null = null;
  /** Physical lines -> OPA's lines (container formats reassemble pieces). */
  private readonly decoder: LineDecoder;
  /** The last bytes before `offset`, as read (in memory only; null when not known). */
  private tailCheck: Buffer | null = null;
  /**
   * The read of the next chunk, started just before the commit of the current one so the two
   * overlap (the commit hashes and fsyncs on this thread while the pool reads). Only taken by the
   * very next read and only at the position it was started for; anything else discards it.
   */
  private ahead: { pos: number; lead: number; buf: Buffer; bytes: Promise<number> } | null = null;
  /** The second read buffer, for `ahead`. */
  private spare: Buffer | null = null;
  /** Malformed-line warnings: at most MALFORMED_WARNINGS per minute per file, then a summary. */
  private warnWindow = { start: 0, logged: 0, suppressed: 0 };

  private constructor(
    private readonly fh: FileHandle,
    private readonly opts: TailOptions,
    private readonly deps: TailDeps,
    init: {
      path: string;
      realPath: string;
      ident: string;
      fileId: number;
      offset: number;
      fingerprint: Uint8Array;
      fpLen: number;
      size: number;
    },
  ) {
    this.path = init.path;
    this.ident = init.ident;
    this.fileId = init.fileId;
    this.offset = init.offset;
    this.fingerprint = init.fingerprint;
    this.fpLen = init.fpLen;
    this.lastSize = init.size;
    this.readEnd = init.offset;
    this.buf = Buffer.allocUnsafe(LEAD + Math.min(opts.readChunkBytes, opts.maxLineBytes + 1));
    this.decoder = new LineDecoder(opts.format, kubernetesMeta(init.path, init.realPath));
  }

  /** Identity of the file at `path` (following symlinks), or null when there is none. */
  static async identOf(path: string): Promise<string | null> {
    return (await FileTail.statOf(path))?.ident ?? null;
  }

  /** Identity and size of the file at `path` (following symlinks), or null when there is none. */
  static statOf(path: string): Promise<{ ident: string; size: number } | null> {
    return identifyPath(path);
  }

  /**
   * Opens `path` and finds where to resume: the stored offset when (device, inode) and the
   * fingerprint match a known generation, else offset 0 (a new file, or a reused inode).
   * Returns null when the file vanished before it could be opened, 'blocked' when a gap record
   * it had to seal first was refused (outbox full: try again later). Throws the FILE_* errors of
   * openGuarded for a file that may or cannot be read.
   */
  /**
   * A tail of the known generation `known` (same inode and first bytes) from its committed offset,
   * after the checks a file that shrank while tailseal was stopped needs ('blocked' under backpressure).
   */
  private static async continueKnown(
    fh: FileHandle,
    opts: TailOptions,
    deps: TailDeps,
    at: { path: string; realPath: string; ident: string; size: number },
    known: KnownFile,
  ): Promise<FileTail | 'blocked'> {
    const { fingerprint, fpLen } = known;
    const tail = new FileTail(fh, opts, deps, { ...at, fileId: known.id, offset: known.offset, fingerprint, fpLen });
    return (await tail.shrankWhileStopped(at.size)) ? tail : closed(fh, 'blocked');
  }

  static async open(path: string, opts: TailOptions, deps: TailDeps): Promise<FileTail | null | 'blocked'> {
    const fh = await openGuarded(path, deps.protect);
    if (!fh) return null;
    try {
      const { ident, size } = await identify(fh);
      // The kubelet's symlinks name the real file; its path carries the pod (container formats).
      const realPath = await realpath(path).catch(() => path);
      const known = deps.registry.findFile(ident);
      if (known && (await headMatches(fh, known.fingerprint, known.fpLen))) {
        return FileTail.continueKnown(fh, opts, deps, { path, realPath, ident, size }, known);
      }
      const head = await readHead(fh, FINGERPRINT_BYTES);
      const fingerprint = fingerprintOf(head);
      if (known && !known.done) {
        // The content we knew on this inode is gone: truncated in place (copytruncate) while we
        // were not watching, or deleted and its inode reused by this new file. What it held past
        // our offset is unknowable. The gap and "finished" commit together, so a crash before
        // the re-keying below does not report it twice.
        deps.log.warn(
          { path, ident, offset: known.offset },
          'File no longer holds what tailseal was reading (truncated or replaced while it was stopped); sealing a ' +
            'gap record and reading the new content from the start.',
        );
        if (!sealLostGeneration(known, 'truncated_unread', opts, deps.consumer)) return closed(fh, 'blocked');
      } else if (known) deps.log.info({ path, ident }, 'Inode reused by a new file; reading it from the start.');
      const fileId = deps.registry.upsertFile(
        { input: opts.input, ident, path, fingerprint, fpLen: head.length, offset: 0 },
        known?.id,
      );
      return new FileTail(fh, opts, deps, {
        path,
        realPath,
        ident,
        fileId,
        offset: 0,
        fingerprint,
        fpLen: head.length,
        size,
      });
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  /**
   * Opens `found` to go on reading generation `known` from its saved offset, if `found` still is
   * that generation (same inode, same first bytes); null otherwise. For a generation rotated
   * away while tailseal was stopped: its records keep `path`, the name it was tailed under,
   * as for a file rotated while tailseal runs.
   */
  static async resume(
    found: string,
    path: string,
    known: KnownFile,
    opts: TailOptions,
    deps: TailDeps,
  ): Promise<FileTail | null | 'blocked'> {
    const fh = await openGuarded(found, deps.protect);
    if (!fh) return null;
    try {
      const { ident, size } = await identify(fh);
      if (ident !== known.ident || !(await headMatches(fh, known.fingerprint, known.fpLen))) return closed(fh, null);
      const realPath = await realpath(found).catch(() => found);
      return FileTail.continueKnown(fh, opts, deps, { path, realPath, ident, size }, known);
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  /**
   * A known generation shorter than its saved offset (truncated while tailseal was stopped, and
   * its first bytes are the same again): what was past the offset is unknowable. Seals that as
   * a gap record and goes on from 0. False when the outbox refused the record.
   */
  private async shrankWhileStopped(size: number): Promise<boolean> {
    if (this.offset <= size) return true;
    this.deps.log.warn(
      { path: this.path, offset: this.offset, size },
      'File is shorter than its saved offset; it was truncated while tailseal was stopped. Sealing a gap record ' +
        'and reading it from the start.',
    );
    const gap = gapRecord(this.path, this.offset, 'truncated_unread', { length: null, atLeast: 0 }, this.gapFile());
    return this.commit([gap], 0, { files_truncated: 1, gap_truncated_unread: 1 });
  }

  /** The file content gap records of this tail are about. */
  private gapFile(): GapFile {
    return { ident: this.ident, fingerprint: this.fingerprint, fpLen: this.fpLen };
  }

  /** The committed offset (first byte not yet sealed). */
  get position(): number {
    return this.offset;
  }

  /** The file's size at the last check. */
  get knownSize(): number {
    return this.lastSize;
  }

  /**
   * Detects copytruncate: the file became shorter than our offset or than it was, or its first
   * bytes changed. Unread bytes that the truncation destroyed are sealed as a gap record; reading
   * restarts at 0.
   */
  async checkTruncation(): Promise<ReadResult> {
    const { size } = await identify(this.fh);
    // A file only ever shrinks by truncation, even when we had read none of it.
    let truncated = size < Math.max(this.offset, this.lastSize);
    if (!truncated && size !== this.lastSize && this.fpLen > 0)
      truncated = !(await headMatches(this.fh, this.fingerprint, this.fpLen));
    // Same first bytes (a banner line) but new content grown past our offset before we looked:
    // the bytes just before the offset are no longer the ones we sealed.
    if (!truncated && size !== this.lastSize && this.tailCheck) {
      const now = await readRange(this.fh, this.offset - this.tailCheck.length, this.tailCheck.length);
      truncated = !now.equals(this.tailCheck);
    }
    if (!truncated) {
      this.lastSize = size;
      return 'more';
    }
    return this.restartTruncated(size);
  }

  /**
   * The file was truncated (it is now `size` bytes): seals what that destroyed unread as a gap record
   * (none when logrotate's copy beside it ends at the offset) and goes on from 0.
   */
  private async restartTruncated(size: number): Promise<ReadResult> {
    // Bytes read ahead may be from before the truncation.
    await this.dropAhead();
    // Past the offset: what tailseal saw unread (a partial line, bytes written since the last
    // read), plus whatever was written after its last look, which only logrotate's copy can show.
    const seen = Math.max(0, this.lastSize - this.offset, this.readEnd - this.offset);
    const { path, ident, fingerprint, fpLen, offset, tailCheck: tail } = this;
    const sealed = { path, ident, fingerprint, fpLen, offset, tail };
    const copy = seen > 0 ? null : await copyEndingAtOffset(sealed, this.deps.protect);
    const head = await readHead(this.fh, FINGERPRINT_BYTES);
    // Committed as finished, so a crash before the new fingerprint is stored does not report the
    // old content again at restart (the next commit stores this path again).
    if (copy !== null) {
      const msg =
        'File was truncated (copytruncate rotation) after all it held was sealed (its copy ends at the ' +
        'offset); reading it from the start.';
      this.deps.log.info({ path: this.path, offset: this.offset, copy }, msg);
      if (!this.commit([], 0, { files_truncated: 1 }, undefined, true)) return 'blocked';
    } else {
      // How much the truncation destroyed unread cannot be known: at least what was seen past
      // the offset, plus whatever was written after the last look. A gap record of unknown length.
      const extent = { length: null, atLeast: seen };
      const gap = gapRecord(this.path, this.offset, 'truncated_unread', extent, this.gapFile());
      const msg =
        'File was truncated (copytruncate rotation) and may have held unread bytes (no copy beside it ends ' +
        'at the offset); sealing a gap record for what it held past the offset and reading it from the start.';
      this.deps.log.warn({ path: this.path, offset: this.offset, bytes_seen_unread: seen }, msg);
      if (!this.commit([gap], 0, { files_truncated: 1, gap_truncated_unread: 1 }, undefined, true)) return 'blocked';
    }
    this.longLineScan = null;
    this.readEnd = 0;
    this.fingerprint = fingerprintOf(head);
    this.fpLen = head.length;
    this.lastSize = size;
    this.storeGeneration(0);
    return 'more';
  }

  /** Stores this generation's row (fingerprint, path) with `offset` as its committed offset. */
  private storeGeneration(offset: number): void {
    const { input } = this.opts;
    const f = { input, ident: this.ident, path: this.path, fingerprint: this.fingerprint, fpLen: this.fpLen, offset };
    this.deps.registry.upsertFile(f, this.fileId);
  }

  /** Reads and commits complete lines until EOF, backpressure, or `maxChunks` reads. */
  async readAvailable(maxChunks: number): Promise<ReadResult> {
    let r: ReadResult = 'more';
    for (let i = 0; i < maxChunks && r === 'more'; i++) r = await this.readOnce();
    return r;
  }

  /**
   * A file first seen shorter than FINGERPRINT_BYTES has a short fingerprint, which a reused
   * inode could match by chance (an empty file's always does). Before an offset past it is
   * committed, the fingerprint is extended over the bytes up to that offset, if they still start
   * the same. Stored first (with the offset still committed), so a crash never leaves an offset
   * that a shorter fingerprint than it vouches for: an empty-file fingerprint with offset 5000
   * would let a new file on the same inode be read from byte 5000.
   */
  private async growFingerprint(upTo: number): Promise<void> {
    const want = Math.min(upTo, FINGERPRINT_BYTES);
    if (want <= this.fpLen) return;
    const head = await readHead(this.fh, want);
    // A different start: the truncation check handles it.
    if (head.length !== want || !equalBytes(fingerprintOf(head.subarray(0, this.fpLen)), this.fingerprint)) return;
    this.fingerprint = fingerprintOf(head);
    this.fpLen = want;
    this.storeGeneration(this.offset);
  }

  /** commit() after extending the fingerprint up to `offset` (growFingerprint). */
  private async commitGrown(
    records: SourceRecord[],
    offset: number,
    counters: Record<string, number>,
    tail?: Buffer,
    done = false,
  ): Promise<boolean> {
    await this.growFingerprint(offset);
    return this.commit(records, offset, counters, tail, done);
  }

  /**
   * Commits records with the offset they bring the file to. `tail`, when given, holds the bytes
   * just before that offset (kept to detect a copytruncate that keeps the first bytes). `done`
   * marks the generation finished in the same transaction (registry.ts FileRegistry).
   */
  private commit(
    records: SourceRecord[],
    offset: number,
    counters: Record<string, number>,
    tail?: Buffer,
    done = false,
  ): boolean {
    const ok = this.deps.consumer.commit({
      input: this.opts.input,
      stream: this.opts.stream,
      records,
      position: { fileId: this.fileId, offset, path: this.path, done },
      counters,
    });
    if (ok) {
      if (offset !== this.offset) this.tailCheck = tail && tail.length > 0 ? Buffer.from(tail) : null;
      this.offset = offset;
    }
    return ok;
  }

  /** Room for data in a read buffer (after its LEAD). */
  private get capacity(): number {
    return this.buf.length - LEAD;
  }

  /**
   * Reads the chunk at `pos` into this.buf from LEAD on, and the `lead` bytes before `pos` in the same
   * pread in front of it. Takes the read started ahead when it was for `pos` and `lead` and found
   * bytes past the lead (an empty one is read again: 'eof' must be current). The buffer only grows
   * after a read has taken the read ahead, so both are always the same size. Returns the bytes read,
   * the lead included.
   */
  private async readChunk(pos: number, lead: number): Promise<number> {
    const a = this.ahead;
    this.ahead = null;
    if (a !== null) {
      const n = await a.bytes;
      if (a.pos === pos && a.lead === lead && n > lead) {
        this.spare = this.buf;
        this.buf = a.buf;
        return n;
      }
      this.spare = a.buf;
    }
    return (await this.fh.read(this.buf, LEAD - lead, this.capacity + lead, pos - lead)).bytesRead;
  }

  /** Starts reading the chunk at `pos`, with the `lead` bytes before it, into the spare buffer (see `ahead`). */
  private readAhead(pos: number, lead: number): void {
    const buf =
      this.spare !== null && this.spare.length === this.buf.length ? this.spare : Buffer.allocUnsafe(this.buf.length);
    this.spare = null;
    this.ahead = {
      pos,
      lead,
      buf,
      bytes: this.fh.read(buf, LEAD - lead, buf.length - LEAD + lead, pos - lead).then(
        (r) => r.bytesRead,
        () => 0,
      ),
    };
  }

  /** Forgets a read started ahead (the file changed under it); waits for it to finish. */
  private async dropAhead(): Promise<void> {
    const a = this.ahead;
    this.ahead = null;
    if (a !== null) await a.bytes;
  }

  private async readOnce(): Promise<ReadResult> {
    const pos = this.longLineScan ?? this.offset;
    // At the offset, the bytes sealed last come along in the same read (see TAIL_CHECK_BYTES).
    const check = this.longLineScan === null ? this.tailCheck : null;
    const lead = check?.length ?? 0;
    const got = await this.readChunk(pos, lead);
    if (check !== null && (got < lead || !this.buf.subarray(LEAD - lead, LEAD).equals(check))) {
      return this.restartTruncated((await identify(this.fh)).size);
    }
    const bytesRead = got - lead;
    if (bytesRead <= 0) return 'eof';
    if (pos + bytesRead > this.readEnd) {
      this.readEnd = pos + bytesRead;
      this.lastDataAt = Date.now();
    }
    const data = this.buf.subarray(LEAD, LEAD + bytesRead);
    if (this.longLineScan !== null) return this.skipLongLine(data);

    const records: SourceRecord[] = [];
    const counters: Record<string, number> = { lines_read: 0, decisions: 0, bytes_read: 0 };
    const decoder = this.decoder;
    decoder.reset();
    let p = 0;
    for (;;) {
      const nl = data.indexOf(NEWLINE, p);
      if (nl < 0) break;
      const line = data.subarray(p, nl);
      const lineOffset = this.offset + p;
      counters.lines_read!++;
      p = nl + 1;
      if (line.length > this.opts.maxLineBytes || decoder.pendingBytes + line.length > this.opts.maxLineBytes) {
        // Over max_line_bytes (one physical line, or a container line's pieces together): a gap
        // record from its first byte. If more pieces of it follow, commit what came before and
        // skip the rest of it in the next reads (skipLongLine), which then seals the gap.
        const start = decoder.pendingStart ?? lineOffset;
        decoder.reset();
        if (!decoder.isFinal(line)) {
          counters.lines_read!--;
          counters.bytes_read = start - this.offset;
          if (!(await this.commitGrown(records, start, counters))) return 'blocked';
          // The scan starts at the next physical line, which is judged on its own.
          this.longLineScan = lineOffset + line.length + 1;
          this.scanInsideFinal = null;
          return 'more';
        }
        records.push(await this.tooLong(start, lineOffset + line.length - start, counters));
        continue;
      }
      const d = decoder.push(line, lineOffset);
      if (d.kind === 'pending') continue;
      if (d.kind === 'bad') {
        const key = `skipped_${d.reason}`;
        counters[key] = (counters[key] ?? 0) + 1;
        this.warnMalformed(lineOffset, d.reason);
        continue;
      }
      const c = classifyLine(d.payload);
      if (c.cls === 'decision') {
        // A view into the read buffer, not a copy: commit() is synchronous (source.ts).
        records.push({ kind: 'decision', source: this.path, offset: d.offset, payload: d.payload, meta: d.meta });
        counters.decisions!++;
      } else {
        const key = `skipped_${c.reason}`;
        counters[key] = (counters[key] ?? 0) + 1;
        if (c.cls === 'malformed') this.warnMalformed(d.offset, c.reason!);
      }
    }
    // Stop before the first piece of a line whose last piece is not here yet: the next read
    // starts there again (a restart too), so a half-joined line is never sealed.
    const end = decoder.pendingStart ?? this.offset + p;
    if (end === this.offset) {
      // No complete line in what we read.
      if (bytesRead < this.capacity) return 'eof'; // a partial last line: wait for its newline
      if (this.capacity <= this.opts.maxLineBytes) {
        this.buf = Buffer.allocUnsafe(LEAD + Math.min(this.capacity * 2, this.opts.maxLineBytes + 1));
        return 'more';
      }
      // Over max_line_bytes without an end: scan for it without keeping the bytes. The buffer
      // ends inside a physical line; whether that one ends the logical line shows in its head.
      const inside = data.lastIndexOf(NEWLINE) + 1;
      this.longLineScan = this.offset + bytesRead;
      this.scanInsideFinal = decoder.isFinal(data.subarray(inside, inside + 256));
      return 'more';
    }
    counters.bytes_read = end - this.offset;
    const rel = end - this.offset;
    // A full buffer means a backlog: read the next chunk while this one is committed. (Not when
    // the fingerprint must grow first: that awaits a read of its own before the commit.)
    const tail = data.subarray(Math.max(0, rel - TAIL_CHECK_BYTES), rel);
    if (bytesRead === this.capacity && this.fpLen >= FINGERPRINT_BYTES) this.readAhead(end, tail.length);
    return (await this.commitGrown(records, end, counters, tail)) ? 'more' : 'blocked';
  }

  /**
   * The gap record for a line over max_line_bytes. With `long_lines: truncate` it also keeps the
   * line's first max_line_bytes bytes as on disk (`head`, cut at a character boundary) and says
   * `truncated: true`; it stays a gap record, so no sink mistakes the cut line for a decision.
   * The head is read again from the file (pread): the scan past the line kept no bytes.
   */
  private async tooLong(offset: number, length: number, counters: Record<string, number>): Promise<SourceRecord> {
    counters.gap_line_too_long = (counters.gap_line_too_long ?? 0) + 1;
    this.deps.log.warn(
      { path: this.path, offset, bytes: length },
      this.opts.longLines === 'truncate'
        ? 'Line is longer than max_line_bytes; sealing its first max_line_bytes bytes in a gap record.'
        : 'Line is longer than max_line_bytes; sealing a gap record instead.',
    );
    if (this.opts.longLines !== 'truncate')
      return gapRecord(this.path, offset, 'line_too_long', { length }, this.gapFile());
    const head = await readRange(this.fh, offset, Math.min(length, this.opts.maxLineBytes));
    return gapRecord(this.path, offset, 'line_too_long', { length }, this.gapFile(), {
      truncated: true,
      head: utf8Prefix(head),
    });
  }

  private warnMalformed(offset: number, reason: string): void {
    const w = this.warnWindow;
    const now = Date.now();
    if (now - w.start >= 60_000) {
      if (w.suppressed > 0)
        this.deps.log.warn(
          { path: this.path, suppressed: w.suppressed },
          'More malformed lines were skipped; their warnings were suppressed (see the skipped_* counters).',
        );
      this.warnWindow = { start: now, logged: 0, suppressed: 0 };
    }
    if (this.warnWindow.logged < MALFORMED_WARNINGS) {
      this.warnWindow.logged++;
      this.deps.log.warn({ path: this.path, offset, reason }, 'Skipping a malformed line (not a decision).');
    } else this.warnWindow.suppressed++;
  }

  /**
   * Inside a line over max_line_bytes: scans for its end without keeping the bytes. The end is
   * the next "\n" (for container formats: the end of the first physical line that finishes the
   * logical one); then one gap record from the line's first byte to there is sealed.
   */
  private async skipLongLine(data: Buffer): Promise<ReadResult> {
    let p = 0;
    let end = -1;
    for (;;) {
      const nl = data.indexOf(NEWLINE, p);
      if (nl < 0) break;
      // A physical line the scan resumed inside of was judged by its head when the scan began.
      const final = this.scanInsideFinal ?? this.decoder.isFinal(data.subarray(p, nl));
      this.scanInsideFinal = null;
      p = nl + 1;
      if (final) {
        end = this.longLineScan! + p;
        break;
      }
    }
    if (end < 0) {
      // Not finished in this read: resume at the start of the incomplete physical line, or, when
      // the buffer holds no line end at all, after it (still inside the same physical line).
      if (p === 0) this.scanInsideFinal ??= this.decoder.isFinal(data.subarray(0, 256));
      this.longLineScan! += p === 0 ? data.length : p;
      return 'more';
    }
    const length = end - 1 - this.offset;
    const counters: Record<string, number> = { lines_read: 1, bytes_read: end - this.offset };
    const ok = await this.commitGrown([await this.tooLong(this.offset, length, counters)], end, counters);
    if (ok) this.longLineScan = null;
    return ok ? 'more' : 'blocked';
  }

  /**
   * Called when a retired file is about to be closed: a fragment without its newline can never
   * complete now, so it is sealed as a gap record. The generation is marked finished in the same
   * commit, so a restart does not look for it again. Returns false under backpressure.
   */
  async finish(): Promise<boolean> {
    // Lines that arrived since the last read are read normally first: only a true fragment
    // (no newline, and the file is done) becomes a gap record.
    let r: ReadResult = 'more';
    while (r === 'more') r = await this.readAvailable(CHUNKS_PER_FINISH);
    if (r === 'blocked') return false;
    return this.sealRestAsGap(
      'partial_line_at_close',
      'Rotated file ends with an incomplete line; sealing a gap record for it.',
    );
  }

  /**
   * Called when a reload takes the file out of its input's scope with `unmatched: drop`: the
   * bytes not read yet are sealed as one `out_of_scope` gap record and the generation is marked
   * finished in the same commit. Returns false under backpressure.
   */
  async dropRest(): Promise<boolean> {
    const why =
      "File is out of the input's scope after a reload (unmatched: drop); sealing a gap record for its unread bytes.";
    return this.sealRestAsGap('out_of_scope', why);
  }

  /**
   * Seals the bytes from the offset to the file's end as one gap record of `reason` and marks the
   * generation finished in the same commit (nothing past the offset: just the mark).
   */
  private async sealRestAsGap(reason: 'partial_line_at_close' | 'out_of_scope', message: string): Promise<boolean> {
    const { size } = await identify(this.fh);
    if (size <= this.offset) return this.commit([], this.offset, {}, undefined, true);
    const length = size - this.offset;
    this.deps.log.warn({ path: this.path, offset: this.offset, bytes: length }, message);
    const record = gapRecord(this.path, this.offset, reason, { length }, this.gapFile());
    return this.commitGrown([record], size, { [`gap_${reason}`]: 1 }, undefined, true);
  }

  async close(): Promise<void> {
    await this.dropAhead();
    await this.fh.close().catch(() => undefined);
  }
}

/** Closes `fh` and returns `value` (for the early returns of open and resume). */
async function closed<T>(fh: FileHandle, value: T): Promise<T> {
  await fh.close();
  return value;
}
