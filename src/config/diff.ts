// What a config reload changes: named units (inputs, sinks) added, removed or changed, and the
// keys a running daemon cannot take on without a restart.
import type { Config } from './schema.js';

export interface NamedDiff<T extends { name: string }> {
  added: T[];
  removed: T[];
  /** The new config of each unit whose settings differ. */
  changed: T[];
}

/** Compares by name; a unit is changed when any setting differs (configs are plain data). */
export function diffNamed<T extends { name: string }>(before: readonly T[], after: readonly T[]): NamedDiff<T> {
  const old = new Map(before.map((u) => [u.name, u]));
  const now = new Map(after.map((u) => [u.name, u]));
  return {
    added: after.filter((u) => !old.has(u.name)),
    removed: before.filter((u) => !now.has(u.name)),
    changed: after.filter((u) => old.has(u.name) && JSON.stringify(old.get(u.name)) !== JSON.stringify(u)),
  };
}

/**
 * Why `next` cannot replace `current` in a running daemon, one line per key: the state
 * directory and the origin name the state and the chains, so they need a restart.
 */
export function reloadProblems(current: Config, next: Config): string[] {
  const out: string[] = [];
  if (next.state_dir !== current.state_dir)
    out.push(
      `state_dir: cannot change on reload (${current.state_dir} -> ${next.state_dir}); restart tailseal to use ` +
        `another state directory`,
    );
  if (next.origin !== current.origin)
    out.push(
      `origin: cannot change on reload (${current.origin} -> ${next.origin}); it names the chains, restart to ` +
        `start new ones`,
    );
  return out;
}
