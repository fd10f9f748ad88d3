// Files written so that they survive a crash: the bytes are on disk (fsync) before the caller makes
// them visible with a rename or a link, and that rename or link is on disk too (fsync of its folder).
// https://lwn.net/Articles/457667/ explains why both steps are needed.
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';

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
