// A trail object's stored bytes as a stream, read from its outbox segment (TrailObject.linesFile)
// and never held whole in memory: the http and s3 sinks upload it from here. The bytes are
// exactly encodeObject's (seal/encoder.ts): the entry lines, the checkpoint line, gzip'd with the
// same zlib settings when asked (deflate's output does not depend on how its input is chunked).
// Each call opens the file anew, so a retried upload streams the same bytes again.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { Readable, Transform, type Writable, pipeline } from 'node:stream';
import { pipeline as pipelineAsync } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { TailsealError } from '../errors.js';
import { encodeCheckpointLine } from '../seal/encoder.js';
import { type StoredEntry, objectLines } from '../trail/object.js';
import type { TrailObject } from './sink.js';

/** Bytes per read from the segment: few enough reads per object, little memory per upload. */
const READ_CHUNK = 256 * 1024;

/**
 * SINK_RETRYABLE for an outbox segment shorter than the outbox says: the object is not stored or
 * sent short under its name (every sink that reads segments fails the attempt this way).
 */
export function shortSegment(file: { path: string; bytes: number }, holds: number): TailsealError {
  return new TailsealError(
    'SINK_RETRYABLE',
    `outbox segment ${file.path} holds ${holds} bytes, expected ${file.bytes}; the object is not stored`,
  );
}

/** The object's bytes before compression: its entry lines, then its checkpoint line. */
export function plainObjectLength(obj: TrailObject): number {
  return linesLength(obj) + encodeCheckpointLine(obj.stream, obj.note).length;
}

function linesLength(obj: TrailObject): number {
  return obj.linesFile ? obj.linesFile.bytes : obj.lines.reduce((n, l) => n + l.length, 0);
}

/**
 * The object's stored bytes, gzip'd when `gzip`: a fresh stream on every call (one per upload
 * attempt). The segment is read in chunks; a segment shorter than the outbox says fails the
 * stream (with SINK_RETRYABLE) rather than sending a short object under the object's name.
 * The caller destroys the stream when it does not read it to the end.
 */
export function objectBodyStream(obj: TrailObject, gzip: boolean): Readable {
  if (!gzip) return Readable.from(plainChunks(obj), { objectMode: false });
  if (obj.linesFile === undefined) return pipeline(Readable.from(plainChunks(obj)), createGzip(), () => undefined);
  const gz = createGzip();
  feedGzip(obj.linesFile, encodeCheckpointLine(obj.stream, obj.note), gz).catch((err: unknown) =>
    gz.destroy(err as Error),
  );
  return gz;
}

/**
 * Writes the segment's first `bytes` bytes, then `last`, into `gz` through one reused buffer: a
 * chunk is overwritten only after zlib has consumed it (the write callback), so compressing an
 * object leaves only its compressed bytes behind as garbage, not a copy of the object in
 * short-lived buffers that V8 collects late (external memory).
 */
async function feedGzip(file: { path: string; bytes: number }, last: Buffer, gz: Writable): Promise<void> {
  const fh = await open(file.path, 'r');
  try {
    const buf = Buffer.allocUnsafe(Math.min(READ_CHUNK, Math.max(file.bytes, 1)));
    for (let pos = 0; pos < file.bytes;) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, file.bytes - pos), pos);
      if (bytesRead === 0) throw shortSegment(file, pos);
      pos += bytesRead;
      await written(gz, buf.subarray(0, bytesRead));
    }
    gz.end(last);
  } finally {
    await fh.close();
  }
}

/** Writes `chunk` and resolves once the stream is done with it; rejects when the stream closes first. */
function written(w: Writable, chunk: Buffer): Promise<void> {
  return new Promise((res, rej) => {
    if (w.destroyed) return rej(new TailsealError('SINK_RETRYABLE', 'the upload ended before its body was read'));
    const closed = (): void => rej(new TailsealError('SINK_RETRYABLE', 'the upload ended before its body was read'));
    w.once('close', closed);
    w.write(chunk, (err) => {
      w.off('close', closed);
      if (err) rej(err);
      else res();
    });
  });
}

async function* plainChunks(obj: TrailObject): AsyncGenerator<Buffer> {
  const file = obj.linesFile;
  if (file === undefined) {
    yield* obj.lines;
  } else if (file.bytes > 0) {
    let read = 0;
    for await (const chunk of createReadStream(file.path, {
      start: 0,
      end: file.bytes - 1,
      highWaterMark: READ_CHUNK,
    }) as AsyncIterable<Buffer>) {
      read += chunk.length;
      yield chunk;
    }
    if (read !== file.bytes) throw shortSegment(file, read);
  }
  yield encodeCheckpointLine(obj.stream, obj.note);
}

/** An object's stored bytes with their digests, known before the upload starts (S3 signs them). */
export interface HashedBody {
  length: number;
  sha256: Buffer;
  md5: Buffer;
  /** A fresh stream of the bytes (one per request). */
  open(): Readable;
  /** Removes the scratch file, if any; safe twice. */
  dispose(): Promise<void>;
}

/**
 * The object's stored bytes and their SHA-256, MD5 and length, in one streaming pass: a plain
 * object is hashed from its segment and streamed from it again; a gzip'd one is compressed once,
 * hashed on the way into a scratch file `<segment>.<tag>.gz` beside the segment, and streamed
 * from there. Crash safety: the scratch file is only ever read by this upload; one a crash leaves
 * behind is not a segment, so the outbox deletes it at the next start (store/spool.ts recover).
 * Without a segment (heartbeats, no entry lines) the few bytes are held.
 */
export async function hashedBody(obj: TrailObject, gzip: boolean, tag: string): Promise<HashedBody> {
  const sha256 = createHash('sha256');
  const md5 = createHash('md5');
  let length = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      sha256.update(chunk);
      md5.update(chunk);
      length += chunk.length;
      cb(null, chunk);
    },
  });
  const digests = () => ({ length, sha256: sha256.digest(), md5: md5.digest() });
  const file = obj.linesFile;
  if (file === undefined) {
    const parts: Buffer[] = [];
    await pipelineAsync(objectBodyStream(obj, gzip), tap, async (source: AsyncIterable<Buffer>) => {
      for await (const c of source) parts.push(c);
    });
    const bytes = Buffer.concat(parts);
    return { ...digests(), open: () => Readable.from([bytes]), dispose: async () => undefined };
  }
  if (!gzip) {
    await pipelineAsync(objectBodyStream(obj, false), tap, async (source: AsyncIterable<Buffer>) => {
      for await (const chunk of source) void chunk; // hashed by the tap, then dropped
    });
    return { ...digests(), open: () => objectBodyStream(obj, false), dispose: async () => undefined };
  }
  const scratch = `${file.path}.${tag}.gz`;
  const dispose = () => rm(scratch, { force: true });
  try {
    await pipelineAsync(objectBodyStream(obj, true), tap, createWriteStream(scratch, { mode: 0o600 }));
  } catch (err) {
    await dispose();
    throw err;
  }
  return { ...digests(), open: () => createReadStream(scratch, { highWaterMark: READ_CHUNK }), dispose };
}

/**
 * The entries of an object as the outbox hands it over, parsed from its lines with the verifier's
 * own checks (trail/object.ts objectLines; each buffer holds whole lines), without first joining
 * them into one buffer: for sinks that send the decisions or their hashes rather than the bytes.
 */
export function* outboxEntries(obj: TrailObject): Generator<StoredEntry> {
  for (const buf of obj.lines) for (const line of objectLines(buf)) if (line.entry) yield line.entry;
}
