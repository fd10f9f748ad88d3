// Issue 15 items 11 and 12, through the real CLI: a config that cannot work is refused at load
// with exit 2 (systemd's RestartPreventExitStatus=2 then stops restarting) and a line naming the
// file and the limit, instead of starting and failing forever (ENAMETOOLONG, a 1 ms audit loop)
// or exiting 1 unnamed (a YAML alias bomb).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { aliasBomb } from '../helpers/alias-bomb.js';
import { makeWorkspace } from '../helpers/daemon.js';
import { CLI } from '../helpers/paths.js';

/** `tailseal run` with a 64 MiB heap: a config that expanded to gigabytes would crash it, not exit 2. */
function run(config: string, timeout = 30_000): { status: number | null; stderr: string; ms: number } {
  const t0 = Date.now();
  const argv = ['--max-old-space-size=64', CLI, 'run', '--config', config];
  const r = spawnSync(process.execPath, argv, { encoding: 'utf8', timeout });
  return { status: r.status, stderr: r.stderr, ms: Date.now() - t0 };
}

describe('config refused at load (exit 2, naming the file)', () => {
  const w = makeWorkspace();
  after(() => w.cleanup());
  const base = `state_dir: ${w.stateDir}\norigin: tailseal.test/it\nsigning:\n  key_file: ${w.keyFile}\n`;
  const sinks = `sinks:\n  - name: local\n    type: file\n    dir: ${w.storeDir}\n`;
  const glob = join(w.opaDir, '*.log');
  const fileInput = (name: string) => `inputs:\n  - name: ${name}\n    type: file\n    paths: ["${glob}"]\n`;

  it('a YAML alias bomb: exit 2 at once, the file named, memory bounded', () => {
    const f = join(w.root, 'bomb.yaml');
    writeFileSync(f, `${base}${aliasBomb()}`);
    const r = run(f);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`^tailseal: CONFIG_INVALID: ${f}: cannot load: .*alias`));
    assert.ok(r.ms < 20_000, `took ${r.ms} ms`);
  });

  it('a 300-character input name: exit 2 naming the 64-character limit; nothing created', () => {
    const f = join(w.root, 'long-name.yaml');
    writeFileSync(f, `${base}${fileInput('a'.repeat(300))}${sinks}`);
    const r = run(f);
    assert.equal(r.status, 2, r.stderr);
    const why = 'must be at most 64 characters (it becomes a file name and object key)';
    assert.equal(r.stderr.trim(), `tailseal: CONFIG_INVALID: ${f}: inputs[0].name: ${why}`);
    assert.equal(existsSync(w.stateDir), false, 'refused before the state directory is made');
  });

  // Issue 16 item 17b: a mistyped key file was only noticed when every audit failed.
  it('a signing.verify_keys file that does not hold a key: exit 2 naming the key and the file', () => {
    const f = join(w.root, 'verify-keys.yaml');
    const typo = join(w.root, 'old.pub');
    writeFileSync(typo, 'tailseal.test/old+0123abcd+not-base64!\n');
    writeFileSync(f, `${base}  verify_keys: [${typo}]\n${fileInput('opa')}${sinks}`);
    const r = run(f);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`^tailseal: KEY_INVALID: signing\\.verify_keys: public key ${typo}: `, 'm'));
  });

  // Issue 15 item 13: open(2) of a FIFO waits for a writer, so start-up hung forever (no exit,
  // no message) on a FIFO given as the config or a key file.
  const notRegular =
    'is a FIFO, not a regular file (reading it could block start-up or never end); ' +
    'give the path of the file itself';
  const fifo = (name: string) => {
    const f = join(w.root, name);
    assert.equal(spawnSync('mkfifo', [f]).status, 0, 'mkfifo');
    return f;
  };

  it('a FIFO without a writer as the config: exit 2 within seconds naming the file', () => {
    const f = fifo('config.fifo');
    const r = run(f, 15_000);
    assert.equal(r.status, 2, `status ${r.status} after ${r.ms} ms: ${r.stderr}`);
    assert.equal(r.stderr.trim(), `tailseal: CONFIG_INVALID: ${f}: ${notRegular}`);
    assert.ok(r.ms < 10_000, `took ${r.ms} ms`);
  });

  it('a FIFO without a writer as signing.key_file: exit 2 within seconds naming the key file', () => {
    const key = fifo('signer-key.fifo');
    const f = join(w.root, 'fifo-key.yaml');
    writeFileSync(f, `${base.replace(w.keyFile, key)}${fileInput('opa')}${sinks}`);
    const r = run(f, 15_000);
    assert.equal(r.status, 2, `status ${r.status} after ${r.ms} ms: ${r.stderr}`);
    const want = `^tailseal: KEY_INVALID: signing key ${key}: is a FIFO, not a regular file`;
    assert.match(r.stderr, new RegExp(want, 'm'));
  });

  it('audit.interval: 30d: exit 2 naming the timer limit', () => {
    const f = join(w.root, 'long-interval.yaml');
    writeFileSync(f, `${base}${fileInput('opa')}${sinks}audit:\n  interval: 30d\n`);
    const r = run(f);
    assert.equal(r.status, 2, r.stderr);
    const want = `^tailseal: CONFIG_INVALID: ${f}: audit\\.interval: "30d" is too long: at most 2147483647ms`;
    assert.match(r.stderr, new RegExp(want));
  });
});
