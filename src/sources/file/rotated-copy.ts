// copytruncate: logrotate copies the live file beside it, then truncates it. When tailseal had
// sealed the file up to the end it last saw, only the copy can say whether the writer appended
// after that look: a copy that ends exactly at the offset, with the content tailseal sealed, shows
// that nothing was unread. Without such a copy the loss is possible, and a gap record says so.
import { readdir, realpath } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { equalBytes } from '../../trail/hash.js';
import { fingerprintOf, identifyPath, readHead, readRange } from './identity.js';
import type { ProtectedPaths } from '../capabilities.js';
import { openGuarded } from './safe-open.js';

/** What tailseal sealed of the content that was truncated. */
export interface SealedContent {
  /** The truncated file's path, and its "<dev>:<ino>" (a copy has another inode). */
  path: string;
  ident: string;
  fingerprint: Uint8Array;
  fpLen: number;
  /** Everything before it was sealed. */
  offset: number;
  /** The bytes just before `offset`, when known (they tell apart copies that start alike). */
  tail: Buffer | null;
}

/**
 * The path of a file beside `c.path` (or beside its symlink's target) that holds exactly what
 * was sealed: `c.offset` bytes, the same first `c.fpLen` bytes and the same bytes before the
 * offset. Null when there is none (no copy, compressed, moved elsewhere, or longer: then bytes
 * were written after tailseal's last look). Only files of that exact size are opened, through
 * openGuarded: never one of tailseal's own files, a FIFO or a device.
 */
export async function copyEndingAtOffset(c: SealedContent, protect?: () => ProtectedPaths): Promise<string | null> {
  if (c.offset === 0 || c.fpLen === 0) return null;
  const dirs = new Set([dirname(c.path)]);
  const target = await realpath(c.path).catch(() => null);
  if (target) dirs.add(dirname(target));
  for (const dir of dirs) {
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const n of names) {
      const p = join(dir, n);
      const st = await identifyPath(p);
      if (st === null || st.ident === c.ident || st.size !== c.offset) continue;
      if (await holdsSealed(p, c, protect)) return p;
    }
  }
  return null;
}

async function holdsSealed(p: string, c: SealedContent, protect?: () => ProtectedPaths): Promise<boolean> {
  const fh = await openGuarded(p, protect).catch(() => null);
  if (!fh) return false;
  try {
    const head = await readHead(fh, c.fpLen);
    if (head.length !== c.fpLen || !equalBytes(fingerprintOf(head), c.fingerprint)) return false;
    if (c.tail === null) return true;
    return (await readRange(fh, c.offset - c.tail.length, c.tail.length)).equals(c.tail);
  } finally {
    await fh.close().catch(() => undefined);
  }
}
