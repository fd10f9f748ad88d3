// Opening a matched file without trusting what its path leads to. A glob matches names; a name
// can be a symlink swapped at any moment to a FIFO (an open that blocks until a writer comes), a
// device, or tailseal's own signing key, state database or outbox. So the file is opened
// non-blocking, and what was opened (the descriptor, not the path) is checked before any read.
import { type FileHandle, open, readlink, realpath, stat } from 'node:fs/promises';
import type { BigIntStats } from 'node:fs';
import { dirname } from 'node:path';
import { OPEN_READ_NONBLOCK, fileKind } from '../../common/read-file.js';
import { TailsealError, errorMessage } from '../../errors.js';
import type { ProtectedPaths } from '../capabilities.js';

const NARROW = "or narrow the input's paths";

/**
 * Opens `path` for reading if it is a regular file and none of tailseal's own: null when it does
 * not exist (any more). Throws TailsealError FILE_UNREADABLE (open failed: permissions, I/O),
 * FILE_NOT_REGULAR (a FIFO, socket, device or directory) or FILE_PROTECTED (see ProtectedPaths).
 */
export async function openGuarded(path: string, protect?: () => ProtectedPaths): Promise<FileHandle | null> {
  // Looked at first so that a device is not even opened when the path already shows it (opening
  // some has side effects); the descriptor is checked again below, as the path may change between.
  const before = await stat(path, { bigint: true }).catch(() => null);
  if (before && !before.isFile()) throw notRegular(path, before);
  let fh: FileHandle;
  try {
    fh = await open(path, OPEN_READ_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    const fix = `give tailseal's user read access to it (and search access to its directories), ${NARROW}`;
    const msg = `cannot open ${path}: ${errorMessage(err)}; ${fix}. Retried at every poll.`;
    throw new TailsealError('FILE_UNREADABLE', msg, { cause: err, details: { path, errno: code } });
  }
  try {
    const st = await fh.stat({ bigint: true });
    if (!st.isFile()) throw notRegular(path, st);
    const own = protect && (await protectedMatch(fh, path, st, protect()));
    if (own) {
      const msg = `${path} leads to tailseal's own ${own}, which no input ever reads; remove the link ${NARROW}.`;
      throw new TailsealError('FILE_PROTECTED', msg, { details: { path } });
    }
    return fh;
  } catch (err) {
    await fh.close().catch(() => undefined);
    throw err;
  }
}

/**
 * FILE_NOT_REGULAR when `path` leads to a FIFO, socket or device, else null (a file, nothing, or a
 * directory: a `**` glob matches directories, which are never a problem).
 */
export async function specialFile(path: string): Promise<TailsealError | null> {
  const st = await stat(path, { bigint: true }).catch(() => null);
  return st && !st.isFile() && !st.isDirectory() ? notRegular(path, st) : null;
}

function notRegular(path: string, st: BigIntStats): TailsealError {
  const kind = fileKind(st);
  const msg = `${path} leads to ${kind}, not a regular file; only regular files are tailed: remove it ${NARROW}.`;
  return new TailsealError('FILE_NOT_REGULAR', msg, { details: { path, kind } });
}

async function identOf(path: string): Promise<string | null> {
  const st = await stat(path, { bigint: true }).catch(() => null);
  return st && `${st.dev}:${st.ino}`;
}

/**
 * Which protected file or directory the open file is (device and inode: any name, hard links
 * too) or lies under (the devices and inodes of the directories above it, so bind mounts and
 * symlinked directories count). The directories are those of the name the kernel holds for the
 * descriptor (/proc/self/fd), not of `path`, which may lead elsewhere by now.
 */
async function protectedMatch(
  fh: FileHandle,
  path: string,
  st: BigIntStats,
  protect: ProtectedPaths,
): Promise<string | null> {
  const ident = `${st.dev}:${st.ino}`;
  for (const f of protect.files) if ((await identOf(f)) === ident) return `file ${f}`;
  const dirs = new Map<string, string>();
  for (const d of protect.dirs) {
    const i = await identOf(d);
    if (i) dirs.set(i, d);
  }
  if (dirs.size === 0) return null;
  // Without /proc (not Linux), the path's real path: the same answer unless it changes meanwhile.
  const real = (await readlink(`/proc/self/fd/${fh.fd}`).catch(() => null)) ?? (await realpath(path).catch(() => path));
  for (let d = dirname(real); ; d = dirname(d)) {
    const hit = dirs.get((await identOf(d)) ?? '');
    if (hit) return `directory ${hit}`;
    if (dirname(d) === d) return null;
  }
}
