// The outbox's data: the sealed entry lines, in append-only segment files beside the state
// database, one segment per object (`<db>-outbox/<stream>/<first_seq:020>.ndjson`).
//
// SQLite keeps only the small, exact facts (how many bytes of the open segment are committed,
// which objects exist, their byte counts); the bulky lines are written once, sequentially, and
// a whole object is read back with one read and freed with one unlink. Storing every line as a
// SQLite row wrote each byte three times (WAL, database, freelist on delete) and was the biggest
// cost of sealing (see docs/benchmarks.md).
//
// Crash safety (the callers in state.ts and outbox.ts run these steps inside their SQLite transaction):
// - append() writes at the committed length and fdatasyncs BEFORE the transaction that records
//   the new length commits. A crash in between leaves bytes past the committed length; recover()
//   truncates them at the next start and the same lines are sealed and written again.
// - A segment is created with its directory fsynced, so a committed length never points into a
//   file whose name was lost.
// - remove() runs AFTER the transaction that forgot the object commits; a crash in between
//   leaves an orphan file, which recover() deletes.
import { rm } from 'node:fs/promises';
import {
  closeSync,
  fdatasyncSync,
  fstatSync,
  ftruncateSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readSync,
  readdirSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { fdatasync, write } from 'node:fs';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { TailsealError, errorMessage } from '../errors.js';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from './private.js';

const writeAsync = (fd: number, data: Uint8Array, offset: number, length: number, position: number) =>
  new Promise<number>((resolve, reject) => {
    write(fd, data, offset, length, position, (err, n) => (err ? reject(err) : resolve(n)));
  });
const fdatasyncAsync = promisify(fdatasync);

/** ENOSPC, EIO, EROFS ...: nothing was committed; the caller retries later. */
function writeError(err: unknown, dir: string): TailsealError {
  if (err instanceof TailsealError) return err;
  const message = `cannot write the outbox in ${dir}: ${errorMessage(err)}`;
  return new TailsealError('STATE_UNAVAILABLE', message, { cause: err });
}

const SEQ_DIGITS = 20;
const SEGMENT_RE = /^(\d{20})\.ndjson$/;

function segmentName(firstSeq: number): string {
  return `${String(firstSeq).padStart(SEQ_DIGITS, '0')}.ndjson`;
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** What recover() must keep: each stream's open segment and committed length, and every object's segment. */
export interface SpoolLiveSet {
  open: { stream: string; firstSeq: number; bytes: number }[];
  objects: { stream: string; firstSeq: number; bytes: number }[];
}

export class Spool {
  /** The open segment of each stream: its first seq and file descriptor. */
  private readonly fds = new Map<string, { firstSeq: number; fd: number }>();
  /** Per stream, where the last prewrite() ended (taken by the next append). */
  private readonly prewritten = new Map<string, { firstSeq: number; end: number }>();
  private readonly dirsMade = new Set<string>();
  private readonly unlinking = new Set<Promise<unknown>>();

  /** `onUnlinkError` hears of a segment that could not be deleted (its disk space stays taken until the next start). */
  constructor(
    readonly dir: string,
    private readonly onUnlinkError: (file: string, err: unknown) => void = () => undefined,
  ) {}

  /** The file of a segment (also handed to sinks that copy files). */
  path(stream: string, firstSeq: number): string {
    return join(this.dir, stream, segmentName(firstSeq));
  }

  private ensureDir(stream: string): void {
    if (this.dirsMade.has(stream)) return;
    const created = mkdirSync(join(this.dir, stream), { recursive: true, mode: PRIVATE_DIR_MODE });
    // New directories must survive a power loss before any committed length points into them.
    if (created !== undefined) {
      fsyncDir(join(this.dir, stream));
      fsyncDir(this.dir);
      fsyncDir(join(this.dir, '..'));
    }
    this.dirsMade.add(stream);
  }

  private open(stream: string, firstSeq: number): number {
    const cur = this.fds.get(stream);
    if (cur?.firstSeq === firstSeq) return cur.fd;
    if (cur) this.closeSegment(stream);
    this.ensureDir(stream);
    const fd = openSync(this.path(stream, firstSeq), 'a+', PRIVATE_FILE_MODE);
    this.fds.set(stream, { firstSeq, fd });
    fsyncDir(join(this.dir, stream));
    return fd;
  }

  /**
   * Writes `data` at byte `at` of the stream's segment for `firstSeq` and makes it durable.
   * The file must hold exactly `at` bytes: more means another writer (or a recovery that did
   * not run), which is refused rather than overwritten.
   */
  append(stream: string, firstSeq: number, at: number, data: Uint8Array, prewritten = false): void {
    if (data.length === 0) return;
    const pre = prewritten ? this.prewritten.get(stream) : undefined;
    this.prewritten.delete(stream);
    try {
      const fd = this.open(stream, firstSeq);
      // Written and synced by prewrite() for exactly this place, and nothing wrote since.
      if (pre && pre.firstSeq === firstSeq && pre.end === at + data.length && fstatSync(fd).size === pre.end) return;
      this.cutTo(fd, stream, firstSeq, at);
      for (let done = 0; done < data.length;) done += writeSync(fd, data, done, data.length - done, at + done);
      fdatasyncSync(fd);
    } catch (err) {
      throw writeError(err, this.dir);
    }
  }

  /**
   * append() ahead of its transaction, off the event loop (the thread pool writes and syncs), for
   * a large batch: the append() in the transaction then finds the bytes there and only checks
   * the length. Safe only while nothing else writes, closes or checkpoints the stream's segment
   * (the daemon's commitSliced holds the stream). Bytes written for a transaction that then does
   * not commit are past the committed length: the next append or start-up cuts them.
   */
  async prewrite(stream: string, firstSeq: number, at: number, data: Uint8Array): Promise<void> {
    if (data.length === 0) return;
    try {
      const fd = this.open(stream, firstSeq);
      this.cutTo(fd, stream, firstSeq, at);
      for (let done = 0; done < data.length;) done += await writeAsync(fd, data, done, data.length - done, at + done);
      await fdatasyncAsync(fd);
      this.prewritten.set(stream, { firstSeq, end: at + data.length });
    } catch (err) {
      throw writeError(err, this.dir);
    }
  }

  /**
   * Makes the segment hold exactly its committed `at` bytes before a write. Fewer means the
   * state directory was changed by hand (refused rather than overwritten). More means an earlier
   * attempt wrote and then failed to commit; the caller holds the stream (the database's write
   * lock, or commitSliced's), so no committed writer can own those bytes: cut them.
   */
  private cutTo(fd: number, stream: string, firstSeq: number, at: number): void {
    const size = fstatSync(fd).size;
    if (size < at) {
      const file = this.path(stream, firstSeq);
      const why = `outbox segment ${file} holds ${size} bytes, the state database says ${at}`;
      throw new TailsealError('STATE_CORRUPT', `${why}; the state directory was changed by hand`);
    }
    if (size > at) ftruncateSync(fd, at);
  }

  /** Writes a whole segment anew and syncs it (the one-time move of a v2 outbox). */
  rewrite(stream: string, firstSeq: number, data: Uint8Array): void {
    if (this.fds.get(stream)?.firstSeq === firstSeq) this.closeSegment(stream);
    this.ensureDir(stream);
    const fd = openSync(this.path(stream, firstSeq), 'w', PRIVATE_FILE_MODE);
    try {
      for (let done = 0; done < data.length;) done += writeSync(fd, data, done, data.length - done, done);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    fsyncDir(join(this.dir, stream));
  }

  /** Cuts the open segment back to `at` bytes after a failed commit; best effort (see append). */
  truncate(stream: string, firstSeq: number, at: number): void {
    const cur = this.fds.get(stream);
    if (cur?.firstSeq !== firstSeq) return;
    try {
      ftruncateSync(cur.fd, at);
    } catch {
      // The next append or the next start cuts them instead.
    }
  }

  /** Closes the stream's open segment (its object was just committed). */
  closeSegment(stream: string): void {
    const cur = this.fds.get(stream);
    if (!cur) return;
    this.fds.delete(stream);
    closeSync(cur.fd);
  }

  /** The `bytes` bytes of an object's segment. */
  read(stream: string, firstSeq: number, bytes: number): Buffer {
    const out = Buffer.allocUnsafe(bytes);
    if (bytes === 0) return out;
    const file = this.path(stream, firstSeq);
    let fd: number;
    try {
      fd = openSync(file, 'r');
    } catch (err) {
      throw new TailsealError(
        'STATE_CORRUPT',
        `outbox segment ${file} is missing (${errorMessage(err)}); the state directory was changed by hand`,
        { cause: err },
      );
    }
    try {
      let done = 0;
      while (done < bytes) {
        const n = readSync(fd, out, done, bytes - done, done);
        if (n === 0)
          throw new TailsealError(
            'STATE_CORRUPT',
            `outbox segment ${file} holds ${done} bytes, the state database says ${bytes}`,
          );
        done += n;
      }
    } finally {
      closeSync(fd);
    }
    return out;
  }

  /**
   * Deletes an object's segment once no sink needs it; a missing file is fine (already gone).
   * The unlink runs in the background: freeing an 8 MiB file's blocks took milliseconds of the
   * sealing thread per object. No segment name is ever used again (seqs only grow), and one a
   * crash leaves behind is an orphan that recover() deletes at the next start.
   */
  remove(stream: string, firstSeq: number): void {
    const cur = this.fds.get(stream);
    if (cur?.firstSeq === firstSeq) this.closeSegment(stream);
    const file = this.path(stream, firstSeq);
    const unlinking = rm(file, { force: true }).catch((err: unknown) => this.onUnlinkError(file, err));
    this.unlinking.add(unlinking);
    void unlinking.finally(() => this.unlinking.delete(unlinking));
  }

  /** Resolves once the segments removed so far are gone (or reported to onUnlinkError). */
  async removed(): Promise<void> {
    await Promise.all([...this.unlinking]);
  }

  /**
   * At start: cuts each open segment back to its committed length (bytes written before a crash
   * that their transaction never committed), deletes segments no object or open segment owns
   * (freed before a crash could unlink them), and refuses to start when a committed segment is
   * missing or short.
   */
  recover(live: SpoolLiveSet): void {
    const want = new Map<string, { bytes: number; open: boolean }>();
    for (const o of live.objects)
      if (o.bytes > 0) want.set(this.path(o.stream, o.firstSeq), { bytes: o.bytes, open: false });
    for (const o of live.open) want.set(this.path(o.stream, o.firstSeq), { bytes: o.bytes, open: true });
    let streams: string[] = [];
    try {
      streams = readdirSync(this.dir);
    } catch {
      // No outbox directory yet.
    }
    for (const s of streams) {
      const sub = join(this.dir, s);
      if (!statSync(sub).isDirectory()) {
        unlinkSync(sub);
        continue;
      }
      for (const f of readdirSync(sub)) {
        const file = join(this.dir, s, f);
        if (!SEGMENT_RE.test(f) || !want.has(file)) unlinkSync(file);
      }
    }
    for (const [file, w] of want) {
      let size: number;
      try {
        size = fstatSize(file);
      } catch {
        if (w.open && w.bytes === 0) continue; // created on the first append
        throw new TailsealError(
          'STATE_CORRUPT',
          `outbox segment ${file} is missing; the state directory was changed by hand. Move state_dir aside to ` +
            `start over (the trail already shipped stays verifiable)`,
        );
      }
      if (size < w.bytes)
        throw new TailsealError(
          'STATE_CORRUPT',
          `outbox segment ${file} holds ${size} bytes, the state database says ${w.bytes}; the state directory was ` +
            `changed by hand`,
        );
      if (size > w.bytes) {
        if (!w.open)
          throw new TailsealError(
            'STATE_CORRUPT',
            `outbox segment ${file} holds ${size} bytes, the state database says ${w.bytes}`,
          );
        const fd = openSync(file, 'r+');
        try {
          ftruncateSync(fd, w.bytes);
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
      }
    }
  }

  close(): void {
    for (const s of [...this.fds.keys()]) this.closeSegment(s);
  }
}

function fstatSize(file: string): number {
  const fd = openSync(file, 'r');
  try {
    return fstatSync(fd).size;
  } finally {
    closeSync(fd);
  }
}
