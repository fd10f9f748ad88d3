// Reading a small file that tailseal is pointed at by path (the config, key files, a token or PEM
// file). Opened non-blocking and checked on the descriptor: a FIFO without a writer would block
// start-up forever (open(2) of a FIFO waits for a writer, read(2) for data), a device would be read
// without end. Only a regular file is read, and no further than a bound.
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { type ErrorCode, TailsealError } from '../errors.js';

/** Config, key and secret files are a few KB; more is the wrong file (a log, /dev/zero). */
export const MAX_READ_BYTES = 4 * 1024 * 1024;

/**
 * How every file named by a path or matched by a glob is opened for reading: O_NONBLOCK, so that
 * opening a FIFO returns at once instead of waiting for a writer (regular files ignore the flag);
 * O_NOCTTY, so that a terminal behind a link never becomes ours. Then fstat of the descriptor.
 */
export const OPEN_READ_NONBLOCK = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY;

/** The file-type tests of fs.Stats and fs.BigIntStats alike. */
type FileType = Pick<Stats, 'isFIFO' | 'isSocket' | 'isCharacterDevice' | 'isBlockDevice' | 'isDirectory'>;

/** What a non-regular file is, for messages. */
export function fileKind(st: FileType): string {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isDirectory()) return 'a directory';
  return 'not a regular file';
}

export interface ReadOptions {
  /** The error code of a refusal (not regular, too large). */
  code: ErrorCode;
  /** How messages name the file, e.g. the path itself or `signing key <path>`. */
  label: string;
  maxBytes?: number;
  /** Why the bound is what it is, appended to the "larger than" message. */
  hint?: string;
  /** Checks on the opened file's stat (e.g. its mode) before it is read; throws to refuse. */
  check?: (st: Stats) => void;
}

/**
 * The bytes of the regular file `file`, at most `maxBytes`. Refuses anything else with `code`
 * naming the file; errors of open(2) itself (ENOENT, EACCES) are thrown as they are.
 */
export function readRegularFile(file: string, o: ReadOptions): Buffer {
  const maxBytes = o.maxBytes ?? MAX_READ_BYTES;
  // O_NONBLOCK: opening a FIFO returns at once; ENXIO (a socket) is left to the caller as an open error.
  const fd = openSync(file, OPEN_READ_NONBLOCK);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) {
      const msg =
        `${o.label}: is ${fileKind(st)}, not a regular file (reading it could block start-up or never end); ` +
        'give the path of the file itself';
      throw new TailsealError(o.code, msg, { details: { file } });
    }
    o.check?.(st);
    // Read to the end, not to st.size: a file that grows meanwhile is still bounded. The buffer is
    // sized by the file (a key is a few dozen bytes), not by the bound, and grows only if it does.
    let buf = Buffer.allocUnsafe(Math.min(maxBytes, st.size) + 1);
    let n = 0;
    for (;;) {
      const got = readSync(fd, buf, n, buf.length - n, null);
      if (got === 0) break;
      n += got;
      if (n === buf.length) {
        if (n > maxBytes) break;
        buf = Buffer.concat([buf, Buffer.allocUnsafe(Math.min(buf.length, maxBytes + 1 - buf.length))]);
      }
    }
    if (n > maxBytes) {
      const msg = `${o.label}: larger than ${maxBytes} bytes${o.hint ? `; ${o.hint}` : ''}`;
      throw new TailsealError(o.code, msg, { details: { file } });
    }
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}
