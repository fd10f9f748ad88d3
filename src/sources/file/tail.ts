// One open file generation: reads complete lines from the committed offset, classifies them and
// hands them to the consumer with the offset they bring the file to. The in-memory offset only
// moves after the consumer has committed, so what is in memory never runs ahead of the database.
import { type FileHandle, open, realpath, stat } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { BatchConsumer, SourceRecord } from '../source.js';
import { classifyLine } from './classify.js';
import { type LogFormat, LineDecoder, kubernetesMeta } from './container.js';
import { gapRecord } from './gap.js';
import { equalBytes } from '../../seal/hash.js';
import { FINGERPRINT_BYTES, fingerprintOf, headMatches, identify, readHead, readRange } from './identity.js';
import type { FileRegistry } from './registry.js';

export interface TailOptions {
  input: string;
  stream: string;
  maxLineBytes: number;
  readChunkBytes: number;
  /** How lines are wrapped: plain JSON lines, or a container runtime's log format. */
  format: LogFormat;
}

export interface TailDeps {
  registry: FileRegistry;
  consumer: BatchConsumer;
  log: Logger;
}

/** The outcome of a read step. */
export type ReadResult = 'eof' | 'more' | 'blocked';

const NEWLINE = 0x0a;
/** Bytes before the offset compared on growth, to see a copytruncate that kept the first bytes. */
const TAIL_CHECK_BYTES = 64;
const MALFORMED_WARNINGS = 10;
/** Reads per step while finishing a rotated file (it is read to its end either way). */
const CHUNKS_PER_FINISH = 64;

export class FileTail {
  path: string;
  readonly ident: string;
  /** Set when the path no longer leads to this file (renamed away or deleted). */
  retiredAt: number | null = null;
  /** Last time a read returned data (or the file was opened). */
  lastDataAt = Date.now();

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
  /** Malformed-line warnings: at most MALFORMED_WARNINGS per minute per file, then a summary. */
  private warnWindow = { start: 0, logged: 0, suppressed: 0 };

  private constructor(
    private readonly fh: FileHandle,
    private readonly opts: TailOptions,
    private readonly deps: TailDeps,
    init: { path: string; realPath: string; ident: string; fileId: number; offset: number; fingerprint: Uint8Array; fpLen: number; size: number },
  ) {
    this.path = init.path;
    this.ident = init.ident;
    this.fileId = init.fileId;
    this.offset = init.offset;
    this.fingerprint = init.fingerprint;
    this.fpLen = init.fpLen;
    this.lastSize = init.size;
    this.buf = Buffer.allocUnsafe(Math.min(opts.readChunkBytes, opts.maxLineBytes + 1));
    this.decoder = new LineDecoder(opts.format, kubernetesMeta(init.path, init.realPath));
  }

  /** Identity of the file at `path` (following symlinks), or null when there is none. */
  static async identOf(path: string): Promise<string | null> {
    return (await FileTail.statOf(path))?.ident ?? null;
  }

  /** Identity and size of the file at `path` (following symlinks), or null when there is none. */
  static async statOf(path: string): Promise<{ ident: string; size: number } | null> {
    try {
      const st = await stat(path, { bigint: true });
      return st.isFile() ? { ident: `${st.dev}:${st.ino}`, size: Number(st.size) } : null;
    } catch {
      return null;
    }
  }

  /**
   * Opens `path` and finds where to resume: the stored offset when (device, inode) and the
   * fingerprint match a known generation, else offset 0 (a new file, or a reused inode).
   * Returns null when the file vanished before it could be opened.
   */
  static async open(path: string, opts: TailOptions, deps: TailDeps): Promise<FileTail | null> {
    let fh: FileHandle;
    try {
      fh = await open(path, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    try {
      const { ident, size } = await identify(fh);
      // The kubelet's symlinks name the real file; its path carries the pod (container formats).
      const realPath = await realpath(path).catch(() => path);
      const known = deps.registry.findFile(ident);
      if (known && (await headMatches(fh, known.fingerprint, known.fpLen))) {
        let offset = known.offset;
        if (offset > size) {
          // Truncated while we were not watching: what was past the old offset is unknowable.
          deps.log.warn({ path, offset, size }, 'File is shorter than its saved offset; it was truncated while tailseal was stopped. Reading it from the start.');
          offset = 0;
        }
        return new FileTail(fh, opts, deps, { path, realPath, ident, fileId: known.id, offset, fingerprint: known.fingerprint, fpLen: known.fpLen, size });
      }
      const head = await readHead(fh, FINGERPRINT_BYTES);
      const fingerprint = fingerprintOf(head);
      if (known) deps.log.info({ path, ident }, 'Inode reused by a new file; reading it from the start.');
      const fileId = deps.registry.upsertFile({ input: opts.input, ident, path, fingerprint, fpLen: head.length, offset: 0 }, known?.id);
      return new FileTail(fh, opts, deps, { path, realPath, ident, fileId, offset: 0, fingerprint, fpLen: head.length, size });
    } catch (err) {
      await fh.close();
      throw err;
    }
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
   * Detects copytruncate: the file became shorter than our offset, or its first bytes changed.
   * Unread bytes that the truncation destroyed are sealed as a gap record; reading restarts at 0.
   */
  async checkTruncation(): Promise<ReadResult> {
    const { size } = await identify(this.fh);
    let truncated = size < this.offset;
    if (!truncated && size !== this.lastSize && this.fpLen > 0) truncated = !(await headMatches(this.fh, this.fingerprint, this.fpLen));
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
    const lost = Math.max(0, this.lastSize - this.offset);
    const records: SourceRecord[] = lost > 0 ? [gapRecord(this.path, this.offset, 'truncated_unread', lost)] : [];
    if (lost > 0) this.deps.log.warn({ path: this.path, offset: this.offset, bytes: lost }, 'File was truncated before its last bytes were read; sealing a gap record.');
    else this.deps.log.info({ path: this.path }, 'File was truncated (copytruncate rotation); reading it from the start.');
    if (!this.commit(records, 0, { files_truncated: 1, gap_truncated_unread: records.length })) return 'blocked';
    this.longLineScan = null;
    const head = await readHead(this.fh, FINGERPRINT_BYTES);
    this.fingerprint = fingerprintOf(head);
    this.fpLen = head.length;
    this.deps.registry.upsertFile({ input: this.opts.input, ident: this.ident, path: this.path, fingerprint: this.fingerprint, fpLen: this.fpLen, offset: 0 }, this.fileId);
    this.lastSize = size;
    return 'more';
  }

  /** Reads and commits complete lines until EOF, backpressure, or `maxChunks` reads. */
  async readAvailable(maxChunks: number): Promise<ReadResult> {
    let r: ReadResult = 'more';
    for (let i = 0; i < maxChunks && r === 'more'; i++) r = await this.readOnce();
    await this.growFingerprint();
    return r;
  }

  /**
   * A file first seen shorter than FINGERPRINT_BYTES has a short fingerprint, which a reused
   * inode could match by chance (an empty file's always does). Once we have sealed more of the
   * file, the fingerprint is extended over the bytes we read, if they still start the same.
   */
  private async growFingerprint(): Promise<void> {
    const want = Math.min(this.offset, FINGERPRINT_BYTES);
    if (want <= this.fpLen) return;
    const head = await readHead(this.fh, want);
    if (head.length !== want || !equalBytes(fingerprintOf(head.subarray(0, this.fpLen)), this.fingerprint)) return; // truncation check handles it
    this.fingerprint = fingerprintOf(head);
    this.fpLen = want;
    this.deps.registry.upsertFile({ input: this.opts.input, ident: this.ident, path: this.path, fingerprint: this.fingerprint, fpLen: this.fpLen, offset: this.offset }, this.fileId);
  }

  /**
   * Commits records with the offset they bring the file to. `tail`, when given, holds the bytes
   * just before that offset (kept to detect a copytruncate that keeps the first bytes).
   */
  private commit(records: SourceRecord[], offset: number, counters: Record<string, number>, tail?: Buffer): boolean {
    const ok = this.deps.consumer.commit({
      input: this.opts.input,
      stream: this.opts.stream,
      records,
      position: { fileId: this.fileId, offset, path: this.path },
      counters,
    });
    if (ok) {
      if (offset !== this.offset) this.tailCheck = tail && tail.length > 0 ? Buffer.from(tail) : null;
      this.offset = offset;
    }
    return ok;
  }

  private async readOnce(): Promise<ReadResult> {
    const pos = this.longLineScan ?? this.offset;
    const { bytesRead } = await this.fh.read(this.buf, 0, this.buf.length, pos);
    if (bytesRead === 0) return 'eof';
    this.lastDataAt = Date.now();
    const data = this.buf.subarray(0, bytesRead);
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
          if (!this.commit(records, start, counters)) return 'blocked';
          // The scan starts at the next physical line, which is judged on its own.
          this.longLineScan = lineOffset + line.length + 1;
          this.scanInsideFinal = null;
          return 'more';
        }
        records.push(this.tooLong(start, lineOffset + line.length - start, counters));
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
      if (bytesRead < this.buf.length) return 'eof'; // a partial last line: wait for its newline
      if (this.buf.length <= this.opts.maxLineBytes) {
        this.buf = Buffer.allocUnsafe(Math.min(this.buf.length * 2, this.opts.maxLineBytes + 1));
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
    return this.commit(records, end, counters, data.subarray(Math.max(0, rel - TAIL_CHECK_BYTES), rel)) ? 'more' : 'blocked';
  }

  private tooLong(offset: number, length: number, counters: Record<string, number>): SourceRecord {
    counters.gap_line_too_long = (counters.gap_line_too_long ?? 0) + 1;
    this.deps.log.warn({ path: this.path, offset, bytes: length }, 'Line is longer than max_line_bytes; sealing a gap record instead.');
    return gapRecord(this.path, offset, 'line_too_long', length);
  }

  private warnMalformed(offset: number, reason: string): void {
    const w = this.warnWindow;
    const now = Date.now();
    if (now - w.start >= 60_000) {
      if (w.suppressed > 0) this.deps.log.warn({ path: this.path, suppressed: w.suppressed }, 'More malformed lines were skipped; their warnings were suppressed (see the skipped_* counters).');
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
  private skipLongLine(data: Buffer): ReadResult {
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
    const ok = this.commit([this.tooLong(this.offset, length, counters)], end, counters);
    if (ok) this.longLineScan = null;
    return ok ? 'more' : 'blocked';
  }

  /**
   * Called when a retired file is about to be closed: a fragment without its newline can never
   * complete now, so it is sealed as a gap record. Returns false under backpressure.
   */
  async finish(): Promise<boolean> {
    // Lines that arrived since the last read are read normally first: only a true fragment
    // (no newline, and the file is done) becomes a gap record.
    let r: ReadResult = 'more';
    while (r === 'more') r = await this.readAvailable(CHUNKS_PER_FINISH);
    if (r === 'blocked') return false;
    const { size } = await identify(this.fh);
    if (size <= this.offset) return true;
    const length = size - this.offset;
    this.deps.log.warn({ path: this.path, offset: this.offset, bytes: length }, 'Rotated file ends with an incomplete line; sealing a gap record for it.');
    return this.commit([gapRecord(this.path, this.offset, 'partial_line_at_close', length)], size, { gap_partial_line_at_close: 1 });
  }

  async close(): Promise<void> {
    await this.fh.close().catch(() => undefined);
  }
}
