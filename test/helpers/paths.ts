// Paths that tests share. Tests are compiled to dist/test/**, so the repository root is found
// by walking up from this module until package.json appears.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(start: string): string {
  let dir = start;
  for (let i = 0; i < 10; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'src'))) return dir;
    dir = dirname(dir);
  }
  throw new Error(`repository root not found above ${start}`);
}

/** The repository root (where package.json is). */
export const REPO_ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));
/** Committed test vectors (JSON data made by test/vectors/generate.ts). */
export const VECTORS_DIR = join(REPO_ROOT, 'test', 'vectors');
/** The compiled CLI entry point that integration tests spawn as a real child process. */
export const CLI = join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');
/** Real OPA examples, copied from OPA's repository (origins in test/fixtures/opa/SOURCES.md). */
export const OPA_CORPUS = join(REPO_ROOT, 'test', 'fixtures', 'opa');
