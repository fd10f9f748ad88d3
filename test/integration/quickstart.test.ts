// The README's Quick start, run as a reader would, from its own text: the commands of its code blocks
// (npm scripts resolved through package.json) in a fresh directory holding a copy of config/, with
// the repository's build. Only the metrics port is moved to a free one (tests run side by side).
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { freePort, waitFor } from '../helpers/daemon.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { RUN, docCommand } from '../docs/commands.js';

const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
const scripts = (
  JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
).scripts;

/** The shell lines of the Quick start's code blocks, comments cut. */
function quickStartCommands(): string[] {
  const section = readme.slice(
    readme.indexOf('## Quick start'),
    readme.indexOf('\n## ', readme.indexOf('## Quick start')),
  );
  const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
  return blocks.flatMap((b) => b.split('\n').map((l) => l.replace(/\s+#.*$/, '').trim())).filter((l) => l !== '');
}

/** `npm start` / `npm run X -- args` as the argv of the node command package.json names (no build step). */
function npmToArgv(command: string): string[] {
  const m = /^npm (?:start|run ([\w:-]+))(?: -- (.*))?$/.exec(command);
  assert.ok(m, `not an npm script: ${command}`);
  const script = scripts[m[1] ?? 'start'];
  assert.ok(script, `package.json has no script for ${command}`);
  const argv = [...script.split(' '), ...(m[2] ? m[2].split(' ') : [])];
  assert.equal(argv[0], 'node', `${command} runs node`);
  return argv.slice(1);
}

describe('README Quick start', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tailseal-quickstart-'));
  let daemon: ChildProcess | undefined;
  after(() => {
    daemon?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('npm start, demo:opa, verify OK with 200 entries, /metrics and /readyz, a changed byte fails, Ctrl-C drains', async () => {
    const commands = quickStartCommands();
    assert.equal(commands.length, 5, `the Quick start's commands changed: ${JSON.stringify(commands)}`);
    const [install, test, demo, ls, verify] = commands as [string, string, string, string, string];
    assert.match(install, /^npm ci && npm start$/);
    assert.equal(test, 'npm test');
    assert.equal(ls, 'ls var/store/opa/');
    // The registry of doc commands (test/unit/docs-commands.test.ts) counts these as run here.
    const registered = [RUN.quickStartStart, RUN.quickStartDemo, RUN.quickStartLs, RUN.quickStartVerify];
    assert.deepEqual([install, demo, ls, verify], registered.map(docCommand));
    // npm ci && npm start: the build is the repository's; start runs package.json's start script.
    const start = install.split('&&')[1]!.trim();
    // The README says `npm start` runs `tailseal run --config config/example.yaml`: package.json agrees.
    const [, ...runArgs] = docCommand(RUN.quickStartRun).split(' ');
    assert.deepEqual(npmToArgv(start).slice(1, 1 + runArgs.length), runArgs);
    cpSync(join(REPO_ROOT, 'config'), join(dir, 'config'), { recursive: true });
    symlinkSync(join(REPO_ROOT, 'dist'), join(dir, 'dist'));
    const port = await freePort();
    const cfg = join(dir, 'config', 'example.yaml');
    writeFileSync(cfg, readFileSync(cfg, 'utf8').replace('127.0.0.1:9464', `127.0.0.1:${port}`));

    const logs: string[] = [];
    daemon = spawn(process.execPath, npmToArgv(start), { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    daemon.stdout!.on('data', (b: Buffer) => logs.push(b.toString()));
    daemon.stderr!.on('data', (b: Buffer) => logs.push(b.toString()));
    await waitFor(() => logs.join('').includes('tailseal running.'), 'the daemon to run');

    const run = (command: string) =>
      spawnSync(process.execPath, npmToArgv(command), { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    assert.equal(run(demo).status, 0);
    let out = run(verify);
    await waitFor(() => /: 200 entries/.test((out = run(verify)).stdout), 'verify to see 200 entries', 30_000);
    assert.equal(out.status, 0, out.stdout + out.stderr);
    assert.match(out.stdout, /^OK stream opa .*: 200 entries/m);
    assert.ok(readdirSync(join(dir, 'var', 'store', 'opa')).length > 0, 'ls var/store/opa/ lists objects');

    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.match(metrics, /tailseal_decisions_sealed_total\{input="opa",stream="opa"\} 200/);
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    assert.equal(ready.status, 200, await ready.text());

    // Change one byte of an object (read-only: chmod u+w first): FAIL ENTRY_ALTERED, exit 1.
    const objDir = join(dir, 'var', 'store', 'opa');
    const obj = join(
      objDir,
      readdirSync(objDir)
        .filter((n) => n.endsWith('.ndjson'))
        .sort()[0]!,
    );
    chmodSync(obj, 0o640);
    const text = readFileSync(obj, 'utf8');
    // Inside the first payload (a JSON string): the first character of its decision_id.
    const mark = 'decision_id\\":\\"';
    const at = text.indexOf(mark) + mark.length;
    assert.ok(at > mark.length, 'an entry with a decision_id');
    writeFileSync(obj, text.slice(0, at) + (text[at] === 'a' ? 'b' : 'a') + text.slice(at + 1));
    const broken = run(verify);
    assert.equal(broken.status, 1, broken.stdout + broken.stderr);
    assert.match(broken.stdout + broken.stderr, /FAIL ENTRY_ALTERED: .*seq \d+/);

    // Ctrl-C: drains and exits 0.
    const exited = new Promise<number | null>((r) => daemon!.once('exit', (code) => r(code)));
    daemon.kill('SIGINT');
    assert.equal(await exited, 0, logs.join('').slice(-2000));
    daemon = undefined;
  });
});
