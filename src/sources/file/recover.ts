// Restart: the generations an input was reading when tailseal stopped (or was killed) whose
// path now leads to another file or nowhere. Each is either found again under another name
// beside it (rotated while tailseal was down) and read on from its saved offset, or it is gone
// and a gap record says so. Nothing tailseal had started is dropped without a trace.
import { readdir, realpath } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { sealLostGeneration } from './gap.js';
import { isFileProblem } from './problems.js';
import type { KnownFile, ListedFile } from './registry.js';
import { FileTail, type TailDeps, type TailOptions } from './tail.js';

/** What became of one unfinished generation. */
export type Recovered =
  /** Its path still leads to it: discovery opens it as usual (looked at again until it has). */
  | { kind: 'here' }
  /** Found under another name: to be read to its end like a file rotated while running. */
  | { kind: 'found'; tail: FileTail; at: string }
  /** Gone: a gap record was sealed and the generation marked finished. */
  | { kind: 'sealed' }
  /** The outbox refused the gap record, or no descriptor is free: try again later. */
  | { kind: 'later' };

/** The generations of `input` not marked finished whose last path `matches` the input's paths. */
export function unfinished(deps: TailDeps, input: string, matches: (p: string) => boolean): ListedFile[] {
  return deps.registry.listFiles().filter((f) => f.input === input && !f.done && matches(f.path));
}

/**
 * Settles one unfinished generation (see Recovered), as the registry holds it now. `canOpen`
 * says whether a descriptor may be opened (max_open_files). Only the generation's own
 * directory, and the directory its path's symlink now leads into (the kubelet's
 * /var/log/pods/.../0.log.<time>), are searched: where rotation leaves a file.
 */
export async function recoverGeneration(
  row: KnownFile,
  opts: TailOptions,
  deps: TailDeps,
  canOpen: boolean,
): Promise<Recovered> {
  const now = await FileTail.statOf(row.path);
  if (now?.ident === row.ident) return { kind: 'here' };
  for (const candidate of await sameIdent(row)) {
    if (!canOpen) return { kind: 'later' };
    const tail = await resumeAt(candidate, row, opts, deps);
    if (tail === 'blocked') return { kind: 'later' };
    if (tail) return { kind: 'found', tail, at: candidate };
  }
  // A path that leads to another file now was rotated (its file renamed away and then removed);
  // one that leads nowhere was deleted. Either way nothing says how much was left unread.
  const reason = now ? 'rotated_unread' : 'deleted_unread';
  deps.log.warn(
    { path: row.path, ident: row.ident, offset: row.offset, reason },
    'A file tailseal had not finished reading is gone (rotated or deleted while it was stopped); sealing a gap record.',
  );
  return sealLostGeneration(row, reason, opts, deps.consumer) ? { kind: 'sealed' } : { kind: 'later' };
}

type Resumed = Awaited<ReturnType<typeof FileTail.resume>>;

/**
 * FileTail.resume at `candidate`, null when it is not a file to read: tailseal's own file (a link
 * to it was made while it was stopped) or no regular file any more. One that cannot be opened
 * (FILE_UNREADABLE) throws: the generation is still there, so it is not reported lost.
 */
async function resumeAt(candidate: string, row: KnownFile, opts: TailOptions, deps: TailDeps): Promise<Resumed> {
  try {
    return await FileTail.resume(candidate, row.path, row, opts, deps);
  } catch (err) {
    if (!isFileProblem(err) || err.code === 'FILE_UNREADABLE') throw err;
    const msg = 'Not resuming an unfinished file at this path: it is not one tailseal may read.';
    deps.log.warn({ path: candidate, code: err.code, err: err.message }, msg);
    return null;
  }
}

/** Files beside `row.path` (or its symlink's target) with the generation's (device, inode). */
async function sameIdent(row: KnownFile): Promise<string[]> {
  return (await filesWithIdent(row.path, row.ident, false)) ?? [];
}

/**
 * Whether a finished generation's file is certainly gone: no file with its (device, inode)
 * beside the path it was last seen at, or where that path's symlink leads. A directory that
 * exists but cannot be read leaves it undecided (false): the record is kept, since expiring the
 * record of a file still on disk would have it read again from its first byte.
 */
export async function finishedGenerationGone(row: { ident: string; path: string }): Promise<boolean> {
  const found = await filesWithIdent(row.path, row.ident, true);
  return found !== null && found.length === 0;
}

/**
 * Where the generation `ident` last seen at `path` is now, as far as a look around shows: `path`
 * itself, a name beside it (renamed by rotation), or null (deleted, perhaps still held open by
 * the daemon, or moved out of reach). For `tailseal status`, which must not measure another
 * file that took the name.
 */
export async function generationAt(path: string, ident: string): Promise<string | null> {
  if ((await FileTail.statOf(path))?.ident === ident) return path;
  return (await filesWithIdent(path, ident, false))?.[0] ?? null;
}

/**
 * The files with (device, inode) `ident` in the directory of `path` and of its symlink's target.
 * A directory that is gone holds none; one that cannot be read is skipped, or, when `strict`,
 * makes the answer null (cannot tell).
 */
async function filesWithIdent(path: string, ident: string, strict: boolean): Promise<string[] | null> {
  const dirs = new Set([dirname(path)]);
  const target = await realpath(path).catch(() => null);
  if (target) dirs.add(dirname(target));
  const found: string[] = [];
  for (const dir of dirs) {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || !strict) continue; // the directory is gone too
      return null;
    }
    for (const n of names) {
      const p = join(dir, n);
      if ((await FileTail.statOf(p))?.ident === ident) found.push(p);
    }
  }
  return found;
}
