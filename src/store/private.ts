// The state directory holds decisions (outbox segments, quarantined payloads) and the chain
// heads: it and what tailseal creates in it are private to the service user whatever the umask
// (docs/operations.md "State directory"). Explicit modes, never the umask: 0700 directories, 0600 files.
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';
import { errorMessage } from '../errors.js';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

const octal = (mode: number) => (mode & 0o7777).toString(8).padStart(4, '0');

/** Creates `dir` and missing parents, each 0700 (mkdir's mode is only ever narrowed by the umask). */
export function mkdirPrivate(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
}

/** Creates `file` empty and 0600 when it does not exist, so whoever fills it never widens it. */
export function touchPrivate(file: string): void {
  closeSync(openSync(file, 'a', PRIVATE_FILE_MODE));
}

/**
 * Takes group and other permissions off `path` when it has any (a file or directory made by an
 * older tailseal or under a loose umask). Returns what happened, for a warning, or null when it
 * was private already (or is missing). Does not throw: a directory owned by someone else (a
 * Kubernetes emptyDir root) cannot be changed, and that is reported instead.
 */
export function tightenMode(path: string): { was: string; now?: string; error?: string } | null {
  if (!existsSync(path)) return null;
  const mode = statSync(path).mode;
  if ((mode & 0o077) === 0) return null;
  const want = mode & ~0o077 & 0o7777;
  try {
    chmodSync(path, want);
    return { was: octal(mode), now: octal(want) };
  } catch (err) {
    return { was: octal(mode), error: errorMessage(err) };
  }
}

/** Creates the state directory 0700, or tightens an existing looser one; returns a warning when it did either. */
export function preparePrivateDir(dir: string): string | null {
  mkdirPrivate(dir);
  const t = tightenMode(dir);
  if (!t) return null;
  if (t.now) return `state_dir ${dir} was mode ${t.was} (open to its group or others); tightened it to ${t.now}`;
  return (
    `state_dir ${dir} is mode ${t.was} and cannot be tightened (${t.error}): others may list or rename what is in ` +
    'it; the files tailseal creates there are 0600 and its directories 0700 all the same. Make the directory 0700, ' +
    'owned by the service user'
  );
}
