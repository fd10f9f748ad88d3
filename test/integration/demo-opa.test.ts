// Issue 16 item 16: `demo-opa --help` printed nothing and appended blank lines to ./var/opa/opa.log
// until killed (Number('--help') is NaN, so the loop never reached its count).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { REPO_ROOT } from '../helpers/paths.js';

const DEMO = join(REPO_ROOT, 'dist', 'src', 'cli', 'demo-opa.js');

describe('demo-opa arguments', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'tailseal-demo-'));
  after(() => rmSync(cwd, { recursive: true, force: true }));
  const demo = (args: string[]) =>
    spawnSync(process.execPath, [DEMO, ...args], { cwd, encoding: 'utf8', timeout: 10_000 });

  it('--help prints the usage and exits 0 without writing a file', () => {
    const r = demo(['--help']);
    assert.equal(r.status, 0, `status ${r.status} signal ${r.signal}: ${r.stderr}`);
    assert.match(r.stdout, /^usage: npm run demo:opa \[-- COUNT \[FILE\]\]/);
    assert.equal(existsSync(join(cwd, 'var')), false);
  });

  it('a COUNT that is not a number exits 2 naming it, without writing a file', () => {
    const r = demo(['lots']);
    assert.equal(r.status, 2, `status ${r.status} signal ${r.signal}`);
    assert.match(r.stderr, /COUNT must be a positive integer, not lots/);
    assert.equal(existsSync(join(cwd, 'var')), false);
  });

  it('COUNT and FILE still work', () => {
    const r = demo(['3', 'out/opa.log']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /appended 3 decisions/);
    assert.equal(existsSync(join(cwd, 'out', 'opa.log')), true);
  });
});
