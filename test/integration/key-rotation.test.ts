// docs/operations.md's Key rotation, run from its own text: the daemon signs with key A, the
// documented keygen makes key B, the config points at B with A in verify_keys, SIGHUP; the
// documented verify (the store's command plus the section's `--public-key old --public-key new`)
// passes with both keys and fails with B alone. Placeholders and paths are substituted, nothing else.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { RUN, docCommand } from '../docs/commands.js';
import {
  type DaemonProc,
  type Workspace,
  logsWith,
  makeWorkspace,
  startDaemon,
  stopDaemon,
  storedDecisions,
  waitFor,
} from '../helpers/daemon.js';
import { decisionLine, prng } from '../helpers/opa-sample.js';
import { CLI, REPO_ROOT } from '../helpers/paths.js';

/** The inline code of operations.md's Key rotation section, whitespace collapsed. */
function rotationSpans(): string[] {
  const text = readFileSync(join(REPO_ROOT, 'docs', 'operations.md'), 'utf8');
  const start = text.indexOf('## Key rotation');
  const section = text.slice(start, text.indexOf('\n## ', start + 1));
  return [...section.matchAll(/`([^`]+)`/g)].map((m) => m[1]!.replace(/\s+/g, ' ').trim());
}

/** Runs a doc command line (`tailseal` is this build's CLI) in `cwd`. */
function sh(command: string, cwd: string): { status: number | null; out: string } {
  const [bin, ...args] = command.split(' ');
  assert.equal(bin, 'tailseal', command);
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, out: r.stdout + r.stderr };
}

describe('key rotation as docs/operations.md tells it', () => {
  let w: Workspace | undefined;
  let d: DaemonProc | undefined;
  after(() => {
    d?.child.kill('SIGKILL');
    w?.cleanup();
  });

  it('keygen, verify_keys + SIGHUP, verify with both keys OK and with the new key alone FAIL', async () => {
    w = makeWorkspace();
    const ws = w;
    const rnd = prng(17);
    let n = 0;
    const write = (count: number) =>
      appendFileSync(
        join(ws.opaDir, 'opa.log'),
        Array.from({ length: count }, () => decisionLine(++n, rnd) + '\n').join(''),
      );
    const version = sh(docCommand(RUN.version), ws.root);
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.equal(version.out.trim(), pkg.version);

    write(100);
    d = startDaemon(ws);
    await waitFor(() => storedDecisions(ws.storeDir).length === 100, '100 decisions signed with key A');

    const spans = rotationSpans();
    const keygen = docCommand(RUN.rotationKeygen);
    assert.ok(spans.includes(keygen), 'the keygen command is the Key rotation section’s');
    const keys = spans.find((s) => s.startsWith('--public-key '));
    assert.ok(keys, 'the Key rotation section shows the verify keys');
    const made = sh(keygen.replace('<origin>', 'tailseal.test/it'), ws.root);
    assert.equal(made.status, 0, made.out);

    // The old key's .pub under the name the doc gives it; the daemon's config points at the new key.
    const [oldPub, newPub] = [...keys.matchAll(/--public-key (\S+)/g)].map((m) => m[1]!) as [string, string];
    // keygen writes FILE and FILE.pub: the verify command must name the .pub it wrote.
    assert.equal(newPub, `${/--out (\S+)/.exec(keygen)![1]}.pub`, 'the new key is verified by the .pub keygen wrote');
    copyFileSync(ws.pubFile, join(ws.root, oldPub));
    const newKey = join(ws.root, 'new.key');
    const yaml = readFileSync(ws.configFile, 'utf8');
    const rotated = yaml.replace(
      `  key_file: ${ws.keyFile}\n`,
      `  key_file: ${newKey}\n  verify_keys: [${join(ws.root, oldPub)}]\n`,
    );
    assert.notEqual(rotated, yaml);
    writeFileSync(ws.configFile, rotated);
    d.child.kill('SIGHUP');
    await waitFor(() => logsWith(d!, 'Config reloaded.').length > 0, 'the reload');
    write(100);
    await waitFor(() => storedDecisions(ws.storeDir).length === 200, '100 more decisions signed with key B');
    assert.equal(await stopDaemon(d), 0);
    d = undefined;

    const verify = `${docCommand(RUN.verifyDir).replace('<dir>', ws.storeDir)} ${keys}`;
    const both = sh(verify, ws.root);
    assert.equal(both.status, 0, both.out);
    assert.match(both.out, /^OK stream opa .*: 200 entries/m);
    const onlyNew = sh(verify.replace(`--public-key ${oldPub} `, ''), ws.root);
    assert.notEqual(onlyNew.out, both.out);
    assert.equal(onlyNew.status, 1, onlyNew.out);
    assert.match(onlyNew.out, /^FAIL [A-Z_]+: /m);
  });
});
