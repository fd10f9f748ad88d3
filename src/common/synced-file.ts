// Files written so that they survive a crash: the bytes are on disk (fsync) before the caller makes
// them visible with a rename or a link, and that rename or link is on disk too (fsync of its folder).
// https://lwn.net/Articles/457667/ explains why both steps are needed.
import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** Writes `text` to a new file `path` (replacing one there) with `mode`, and fsyncs it before returning. */
export function writeSyncedFile(path: string, text: string, mode: number): void {
  const fd = openSync(path, 'w', mode);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** fsync of a folder, so a rename or link in it survives a crash. */
export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Replaces `file` with `text` atomically: a crash leaves the old file or the new one, never a mix
 * (a small state file: the witness states of `tailseal cosign` and of the witness sink).
 */
export function replaceFile(file: string, text: string, mode: number): void {
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  // 1. The new text in a temp file beside it, on disk before it takes the old one's place.
  writeSyncedFile(tmp, text, mode);
  // 2. Rename: atomic; a crash before it leaves the old file (and a temp file the next write replaces).
  renameSync(tmp, file);
  // 3. The rename itself on disk.
  fsyncDir(dirname(file));
}
