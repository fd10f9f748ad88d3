// Start-up failures are clear and exit non-zero; nothing runs half-configured.
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { type Workspace, cli, makeWorkspace } from '../helpers/daemon.js';

describe('tailseal run start-up errors', () => {
  const w: Workspace = makeWorkspace();
  after(() => w.cleanup());

  it('a signing key readable by others is refused (exit 2, KEY_PERMISSIONS, with the chmod fix)', () => {
    chmodSync(w.keyFile, 0o644);
    const r = cli(['run', '--config', w.configFile]);
    chmodSync(w.keyFile, 0o600);
    assert.equal(r.status, 2);
    assert.match(
      r.stderr,
      new RegExp(
        `^tailseal: KEY_PERMISSIONS: signing key ${w.keyFile} is accessible by group or others \\(mode 644\\); run ` +
          `\`chmod 600 ${w.keyFile}\``,
        'm',
      ),
    );
  });

  it('a missing signing key names the keygen command (exit 2)', () => {
    const cfg = join(w.root, 'nokey.yaml');
    writeFileSync(cfg, readFileSync(w.configFile, 'utf8').replace(w.keyFile, join(w.root, 'keys', 'absent.key')));
    const r = cli(['run', '--config', cfg]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /KEY_INVALID: .*absent\.key cannot be read: .*tailseal keygen --name <origin> --out/);
  });

  it('an unusable sink directory stops start-up with SINK_PERMANENT (exit 1)', () => {
    const blocker = join(w.root, 'blocker');
    writeFileSync(blocker, 'a file, not a directory');
    const cfg = join(w.root, 'badsink.yaml');
    writeFileSync(
      cfg,
      readFileSync(w.configFile, 'utf8').replace(`dir: ${w.storeDir}`, `dir: ${join(blocker, 'store')}`),
    );
    const r = cli(['run', '--config', cfg]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^tailseal: SINK_PERMANENT: sink local: directory .*blocker\/store is not writable/m);
    assert.match(r.stderr, /"msg":"tailseal failed to start\."/);
  });

  it('--init-key creates a missing key with mode 0600 and a .pub beside it', () => {
    const cfg = join(w.root, 'initkey.yaml');
    const key = join(w.root, 'keys', 'init.key');
    writeFileSync(
      cfg,
      readFileSync(w.configFile, 'utf8')
        .replace(w.keyFile, key)
        .replace(`dir: ${w.storeDir}`, `dir: ${join(w.root, 'blocker', 'x')}`),
    );
    cli(['run', '--config', cfg, '--init-key']); // stops at the sink error, after creating the key
    assert.match(readFileSync(`${key}.pub`, 'utf8'), /^tailseal\.test\/it\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}\n$/);
    assert.match(readFileSync(key, 'utf8'), /^PRIVATE\+KEY\+tailseal\.test\/it\+/);
    assert.equal(statSync(key).mode & 0o777, 0o600);
  });
});
