// File identity: (device, inode) as the key, plus a fingerprint of the file's first bytes that
// tells a reused inode (a new file) from the file we knew. Never the path: rotation renames.
import { type FileHandle, stat } from 'node:fs/promises';
import { equalBytes, sha256 } from '../../trail/hash.js';

/** How many leading bytes the fingerprint covers (shorter files use what they have). */
export const FINGERPRINT_BYTES = 1024;

export interface FileIdentity {
  ident: string;
  size: number;
}

/** The identity key and size of an open file. */
export async function identify(fh: FileHandle): Promise<FileIdentity> {
  const st = await fh.stat({ bigint: true });
  return { ident: `${st.dev}:${st.ino}`, size: Number(st.size) };
}

/** The identity key and size of the regular file at `path` (following symlinks); null when there is none. */
export async function identifyPath(path: string): Promise<FileIdentity | null> {
  try {
    const st = await stat(path, { bigint: true });
    return st.isFile() ? { ident: `${st.dev}:${st.ino}`, size: Number(st.size) } : null;
  } catch {
    return null;
  }
}

/** Reads up to `len` leading bytes of the file. */
export function readHead(fh: FileHandle, len: number): Promise<Buffer> {
  return readRange(fh, 0, len);
}

/** Reads up to `len` bytes of the file from `pos` (fewer at its end). */
export async function readRange(fh: FileHandle, pos: number, len: number): Promise<Buffer> {
  const buf = Buffer.alloc(len);
  let got = 0;
  while (got < len) {
    const { bytesRead } = await fh.read(buf, got, len - got, pos + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return buf.subarray(0, got);
}

/** SHA-256 of `head` (the file's first bytes). */
export function fingerprintOf(head: Uint8Array): Uint8Array {
  return sha256(head);
}

/** Whether the file still starts with the bytes that `fingerprint` (over `fpLen` bytes) recorded. */
export async function headMatches(fh: FileHandle, fingerprint: Uint8Array, fpLen: number): Promise<boolean> {
  const head = await readHead(fh, fpLen);
  return head.length === fpLen && equalBytes(fingerprintOf(head), fingerprint);
}
