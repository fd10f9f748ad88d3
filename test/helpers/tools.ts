// Real programs some tests drive (OPA, Ceph, Fluent Bit) are not npm packages: they are found on
// PATH or through a TAILSEAL_TEST_* variable (.ci/run sets them). Unset, the tests that need one
// skip with the reason; set to something that is not a program, it is a failure, not a skip.
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The first `name` on PATH (then /usr/bin, /bin), or undefined. */
export function onPath(name: string): string | undefined {
  for (const d of (process.env.PATH ?? '').split(':').concat(['/usr/bin', '/bin'])) {
    if (d && existsSync(join(d, name))) return join(d, name);
  }
  return undefined;
}

/** The program that environment variable `name` names; undefined when unset; throws if it is no program. */
export function toolFromEnv(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const path = env[name];
  if (!path) return undefined;
  let ok = false;
  try {
    accessSync(path, constants.X_OK);
    ok = statSync(path).isFile();
  } catch {
    // ok stays false: the message below names the variable and the fix
  }
  if (!ok) throw new Error(`${name}=${path} is not an executable file: fix the path, or unset ${name} to skip`);
  return path;
}
