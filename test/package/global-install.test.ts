// Issue 9, npm packaging: `npm pack` builds the tarball (prepack), and `npm install -g` of it
// into a temporary prefix gives a working `tailseal` command: the bin link is executable, the
// native SQLite module is built, and the daemon runs. Not part of `npm test`: the install
// fetches the dependencies from the registry and, where no prebuilt better-sqlite3 binary can be
// downloaded, compiles it (about two minutes). Run it with `npm run test:package`.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT } from '../helpers/paths.js';

const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { name: string; version: string };

function npm(args: string[], cwd: string, timeout: number): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('npm', args, {
    cwd,
    encoding: 'utf8',
    timeout,
    env: { ...process.env, npm_config_update_notifier: 'false' },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('npm package', () => {
  it('npm pack + npm install -g gives a working tailseal command', { timeout: 15 * 60_000 }, async () => {
    const root = mkdtempSync(join(tmpdir(), 'tailseal-pkg-'));
    try {
      const pack = npm(['pack', '--json', '--pack-destination', root], REPO_ROOT, 5 * 60_000);
      assert.equal(pack.status, 0, pack.stderr);
      // prepack's own output (the build) may precede the JSON on stdout.
      const info = JSON.parse(pack.stdout.slice(pack.stdout.search(/^\[/m))) as {
        filename: string;
        files: { path: string }[];
      }[];
      const files = info[0]!.files.map((f) => f.path);
      for (const want of [
        'package.json',
        'README.md',
        'dist/src/cli/main.js',
        'dist/src/version.js',
        // The verifier page `tailseal verifier-page` writes; not its build script (esbuild is a devDependency).
        'dist/src/page/verifier.html',
        'config/example.yaml',
      ])
        assert.ok(files.includes(want), `${want} is packed`);
      assert.deepEqual(
        files.filter((f) => /^(src|test|dist\/test|var)\/|\.map$|\.ts$/.test(f)),
        [],
        'no sources, tests, maps or local state',
      );
      assert.ok(!files.includes('dist/src/page/build.js'), 'the page build script is not packed');
      assert.ok(!files.some((f) => f.startsWith('dist/src/page/app/')), 'the page script is packed in the page only');

      const prefix = join(root, 'prefix');
      const install = npm(
        [
          'install',
          '-g',
          '--prefix',
          prefix,
          '--allow-scripts=better-sqlite3',
          '--no-audit',
          '--no-fund',
          join(root, info[0]!.filename),
        ],
        root,
        12 * 60_000,
      );
      assert.equal(install.status, 0, install.stderr);
      assert.doesNotMatch(install.stderr, /not yet covered by allowScripts/);

      const bin = join(prefix, 'bin', 'tailseal');
      assert.ok(lstatSync(bin).isSymbolicLink());
      assert.ok((statSync(realpathSync(bin)).mode & 0o111) !== 0, 'the linked CLI is executable');
      const version = spawnSync(bin, ['--version'], { encoding: 'utf8' });
      assert.deepEqual([version.status, version.stdout.trim()], [0, pkg.version]);

      const key = join(root, 'keys', 'signer.key');
      const keygen = spawnSync(bin, ['keygen', '--name', 'tailseal.test/pkg', '--out', key], { encoding: 'utf8' });
      assert.equal(keygen.status, 0, keygen.stderr);
      assert.match(keygen.stdout, /^tailseal\.test\/pkg\+[0-9a-f]{8}\+/);

      // `run` opens the SQLite state: the native module was built and loads.
      const config = join(root, 'tailseal.yaml');
      mkdirSync(join(root, 'opa'));
      writeFileSync(
        config,
        `state_dir: ${join(root, 'state')}\norigin: tailseal.test/pkg\nsigning: { key_file: ${key} }\ninputs: [{ ` +
          `name: opa, type: file, paths: ["${join(root, 'opa', '*.log')}"] }]\nsinks: [{ name: local, type: file, ` +
          `dir: ${join(root, 'store')} }]\nmetrics: { listen: "127.0.0.1:0" }\n`,
      );
      const child = spawn(bin, ['run', '--config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
      let log = '';
      child.stderr!.on('data', (b: Buffer) => (log += b.toString('utf8')));
      const exited = new Promise<number | null>((res) => child.on('close', (code) => res(code)));
      const deadline = Date.now() + 20_000;
      while (!log.includes('tailseal running.') && child.exitCode === null && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      assert.ok(log.includes('tailseal running.'), log);
      child.kill('SIGTERM');
      assert.equal(await exited, 0, log);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
