// The `file` sink: a local write-once directory. Each object is written to a temporary file,
// fsync'd, then hard-linked to its final name. link(2) fails with EEXIST instead of replacing,
// so an object is created whole, exactly once, and never overwritten.
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  existsSync,
  constants,
  fchmodSync,
  fsync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  rmSync,
  statSync,
  truncateSync,
  write,
  writevSync,
} from 'node:fs';
import { copyFile, open, unlink } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { TailsealError, errorMessage, isTailsealError } from '../../errors.js';
import { encodeCheckpointLine, encodeObjectParts } from '../../seal/encoder.js';
import { objectText } from '../../seal/gzip.js';
import { objectName } from '../../trail/object.js';
import { objectBodyStream, shortSegment } from '../object-body.js';
import type { PutResult, ReadableSink, Sink, SinkContext, TrailObject } from '../sink.js';
import type { FileSinkConfig } from './config.js';
import { fileStoreReader, readObjectFile } from './reader.js';
import type { ObjectReader } from '../../trail/verify-trail.js';

// Why most calls below are synchronous: the event loop is shared with sealing, which runs in
// chunks of a few tens of milliseconds, so every `await` costs one such chunk. Metadata calls
// (open, stat, chmod, link, unlink, close) take microseconds and run inline; only the calls that
// move or flush data (copy, fsync) go to the thread pool. With a dozen awaits per object the
// sink could not keep up with a busy backlog (measured: the outbox filled at 1M lines).

// Modes whatever the umask (issue 15 item 12): under umask 000 folders were 0777 and another
// uid could remove a sealed object; under 022 every local user could read sealed decisions.
// Group access only, for an auditors' group; objects stay read-only.
/** Folders tailseal creates in the sink tree (a `dir` that already existed is the operator's). */
export const STORE_DIR_MODE = 0o750;
/** Stored objects. */
export const STORE_OBJECT_MODE = 0o440;

/** Buffers per writev call (the usual IOV_MAX). */
const WRITEV_MAX = 1024;

const fsyncAsync = promisify(fsync);
const writeAsync = promisify(write);

/** fsync(2) in the thread pool (the slow part); open and close inline. */
async function fsyncPath(path: string): Promise<void> {
  const fd = openSync(path, 'r');
  try {
    await fsyncAsync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Sets a folder tailseal just made to STORE_DIR_MODE (mkdir's mode is narrowed by the umask, so
 * it may be tighter). Through a descriptor opened O_NOFOLLOW: a folder swapped for a symlink
 * meanwhile makes this fail (ELOOP) instead of changing whatever the link points at.
 */
function setDirMode(path: string): void {
  const fd = openSync(path, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  try {
    fchmodSync(fd, STORE_DIR_MODE);
  } finally {
    closeSync(fd);
  }
}

/** Makes `dir` and its missing parents, each new one STORE_DIR_MODE; existing ones are left as they are. */
function mkdirStore(dir: string): void {
  const first = mkdirSync(dir, { recursive: true, mode: STORE_DIR_MODE });
  if (first === undefined) return; // it existed
  // mkdir -p made `first` and everything below it down to `dir` (resolved: either may be relative).
  const top = resolve(first);
  const made = [resolve(dir)];
  for (let p = made[0]!; p !== top && dirname(p) !== p;) made.unshift((p = dirname(p)));
  for (const p of made) setDirMode(p);
}

/**
 * Copies the first `bytes` bytes of an outbox segment to a new file `to` (never an existing
 * one). The segment may hold more than `bytes` after a failed commit; those bytes were never
 * sealed, so the copy is cut to the object's length; a shorter segment is an error.
 */
async function copyLines(from: { path: string; bytes: number }, to: string): Promise<void> {
  try {
    await copyFile(from.path, to, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
    const { size } = statSync(to);
    if (size < from.bytes) throw shortSegment(from, size);
    if (size > from.bytes) truncateSync(to, from.bytes);
  } catch (err) {
    rmSync(to, { force: true }); // no partial copy left behind
    throw err;
  }
}

export class FileSink implements Sink, ReadableSink {
  readonly type = 'file';
  readonly name: string;
  private readonly dirsSynced = new Set<string>();

  constructor(
    private readonly config: FileSinkConfig,
    private readonly ctx: SinkContext,
  ) {
    this.name = config.name;
  }

  /** The directory's objects; a directory not made yet (before the first start) holds none. */
  reader(): ObjectReader {
    const r = fileStoreReader(this.config.dir);
    return { ...r, list: async () => (existsSync(this.config.dir) ? r.list() : []) };
  }

  async start(): Promise<void> {
    try {
      mkdirStore(this.config.dir);
      const probe = join(this.config.dir, `.tailseal-probe-${process.pid}`);
      await (await open(probe, 'w')).close();
      await unlink(probe);
    } catch (err) {
      throw new TailsealError(
        'SINK_PERMANENT',
        `sink ${this.name}: directory ${this.config.dir} is not writable: ${errorMessage(err)}; create it or fix ` +
          `its permissions`,
        { cause: err },
      );
    }
  }

  async put(obj: TrailObject): Promise<PutResult> {
    try {
      return await this.write(obj);
    } catch (err) {
      if (err instanceof TailsealError) throw err;
      // Local filesystem trouble (full, read-only, a path in the way) is fixed on the host and
      // then simply works again: retry with backoff rather than park the object.
      throw new TailsealError(
        'SINK_RETRYABLE',
        `sink ${this.name}: writing to ${this.config.dir} failed: ${errorMessage(err)}`,
        { cause: err, details: { errno: (err as NodeJS.ErrnoException).code } },
      );
    }
  }

  private async write(obj: TrailObject): Promise<PutResult> {
    const name = objectName(obj.stream, obj.firstSeq, obj.size, obj.createdAt, this.config.gzip);
    const final = join(this.config.dir, ...name.split('/'));
    const dir = dirname(final);
    await this.ensureDir(dir);
    // Checked for every object, not only when the folder was made: a folder swapped for a
    // symlink later must not carry objects out of the store.
    this.refuseLinkedDirs(dir);
    const tmp = join(dir, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
    // Uncompressed, the entry lines can be copied from the outbox segment by the kernel
    // (copy_file_range or a reflink) instead of being read into memory and written back.
    const copy = this.config.gzip ? undefined : obj.linesFile;
    // Gzip'd, the object is compressed as it streams from the segment (in libuv's pool), never
    // held whole; only an object without a segment (a heartbeat) is encoded in memory.
    const streamed = this.config.gzip && obj.linesFile !== undefined;
    const parts = copy
      ? [encodeCheckpointLine(obj.stream, obj.note)]
      : streamed
        ? []
        : encodeObjectParts(obj, this.config.gzip).parts;
    // 1. Write the whole object to a private temporary file and fsync it. A crash here leaves
    //    only a .tmp-* file, which is never read as an object.
    if (copy) await copyLines(copy, tmp);
    // O_NOFOLLOW: a symlink planted at the temporary name is never written through.
    const { O_WRONLY, O_APPEND, O_CREAT, O_EXCL, O_NOFOLLOW } = constants;
    const fd = openSync(tmp, (copy ? O_WRONLY | O_APPEND : O_WRONLY | O_CREAT | O_EXCL) | O_NOFOLLOW, 0o600);
    try {
      if (streamed) await this.writeStreamed(fd, tmp, objectBodyStream(obj, true));
      // writev in slices: the object is written from its lines as they are, never concatenated.
      for (let i = 0; i < parts.length; i += WRITEV_MAX) {
        const slice = parts.slice(i, i + WRITEV_MAX);
        const want = slice.reduce((n, b) => n + b.length, 0);
        const written = writevSync(fd, slice);
        // A short write (disk full) must not become a short object: fail, retry later.
        if (written !== want)
          throw new TailsealError(
            'SINK_RETRYABLE',
            `sink ${this.name}: short write to ${tmp} (${written} of ${want} bytes)`,
          );
      }
      await fsyncAsync(fd);
    } catch (err) {
      closeSync(fd);
      rmSync(tmp, { force: true }); // no half-written temporary file left behind
      throw err;
    }
    closeSync(fd);
    try {
      chmodSync(tmp, STORE_OBJECT_MODE);
      this.refuseLinkedDirs(dir); // again right before publishing (narrows the race to microseconds)
      // 2. Publish atomically under the final name; EEXIST means an earlier attempt (or someone
      //    else) already did.
      linkSync(tmp, final);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // `return await`: the rejection must be handled here, before the finally block runs.
      return await this.compareExisting(final, Buffer.concat(encodeObjectParts(obj, this.config.gzip).parts), name);
    } finally {
      rmSync(tmp, { force: true });
    }
    // 3. fsync the directory so the new name survives a power loss before we acknowledge.
    await fsyncPath(dir);
    return 'stored';
  }

  /**
   * Writes every byte `body` yields to `fd`, one chunk at a time (the compressed object is never
   * held whole); a write that makes no progress (disk full) fails the attempt, never leaving a
   * short object. The fd stays the caller's, for the fsync and the close.
   */
  private async writeStreamed(fd: number, tmp: string, body: Readable): Promise<void> {
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        for (let off = 0; off < chunk.length;) {
          const { bytesWritten } = await writeAsync(fd, chunk, off, chunk.length - off);
          if (bytesWritten === 0) throw new TailsealError('SINK_RETRYABLE', `sink ${this.name}: short write to ${tmp}`);
          off += bytesWritten;
        }
      }
    } finally {
      body.destroy();
    }
  }

  private async compareExisting(final: string, body: Buffer, name: string): Promise<PutResult> {
    // Whatever holds the name is read as verify reads objects (non-blocking, regular files
    // only: a planted FIFO is STORE_UNSAFE, not a hang) and no further than ours could be:
    // more than our text (gzip adds at most a few bytes per 16 KiB) cannot be the same.
    const text = objectText(body);
    const existing = await readObjectFile(final, text.length + 1024 + (text.length >> 10)).catch((err: unknown) => {
      if (isTailsealError(err, 'ENTRY_MALFORMED')) return null; // larger than ours: a conflict
      throw err;
    });
    if (existing && (existing.equals(body) || sameText(existing, text))) {
      this.ctx.log.info(
        { sink: this.name, object: name },
        'Object already stored with identical content (a retry); acknowledged.',
      );
      return 'existed';
    }
    throw new TailsealError(
      'SINK_CONFLICT',
      `sink ${this.name}: object ${name} already exists with different content; it is not overwritten. Someone ` +
        `wrote to the store, or two tailseal instances share it with the same stream name`,
      { details: { object: name } },
    );
  }

  /** The folders from just inside the sink's directory down to `dir`, outermost first. */
  private foldersTo(dir: string): string[] {
    const out: string[] = [];
    let p = this.config.dir;
    for (const part of relative(this.config.dir, dir)
      .split(sep)
      .filter((x) => x !== ''))
      out.push((p = join(p, part)));
    return out;
  }

  /**
   * STORE_UNSAFE when a folder between the sink's directory and `dir` is a symlink: objects
   * would land wherever it points. The sink's directory itself may be a link. A plain file in a
   * folder's place is left to the write, which fails with ENOTDIR and is retried (nothing can
   * land elsewhere through it, and removing it is all the repair needs).
   */
  private refuseLinkedDirs(dir: string): void {
    for (const p of this.foldersTo(dir)) {
      if (lstatSync(p).isSymbolicLink()) {
        throw new TailsealError(
          'STORE_UNSAFE',
          `sink ${this.name}: ${p} is a symlink inside the sink directory; ` +
            'objects are never written through it. Replace it with a plain directory (and find out who changed it), ' +
            `then run \`tailseal requeue ${this.name}\``,
          { details: { path: p } },
        );
      }
    }
  }

  private async ensureDir(dir: string): Promise<void> {
    // Made again when someone removed it (a write into a missing folder would fail for ever).
    if (this.dirsSynced.has(dir) && existsSync(dir)) return;
    mkdirStore(this.config.dir);
    // Inside it folder by folder (mkdir -p would follow a planted link); write() checks them.
    for (const p of this.foldersTo(dir)) {
      try {
        mkdirSync(p, STORE_DIR_MODE);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        continue; // made earlier, or by the operator: left as it is
      }
      setDirMode(p);
    }
    // Make the new directory entries themselves durable (the stream folder inside the store).
    await fsyncPath(dir);
    if (dir.split(sep).length > 1) await fsyncPath(dirname(dir));
    this.dirsSynced.add(dir);
  }

  async close(): Promise<void> {}
}

/** Whether a stored object's text is `text` (the existing one may be gzip'd differently). */
function sameText(existing: Buffer, text: Buffer): boolean {
  try {
    return objectText(existing, text.length).equals(text);
  } catch {
    return false; // not gzip, or larger than ours: different
  }
}

export function createFileSink(config: FileSinkConfig, ctx: SinkContext): Sink {
  return new FileSink(config, ctx);
}
