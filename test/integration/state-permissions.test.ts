// Issue 15 item 13: under umask 022 the state directory was 0755 and tailseal.db 0644, so any
// local user could read every decision in the outbox. Now whatever the umask: directories 0700,
// the database, its WAL and SHM, outbox segments and keys from --init-key 0600; a state
// directory left looser by an older run is tightened, with a warning.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { freePort, logsWith, makeWorkspace, startUnderUmask, stopDaemon, waitFor } from '../helpers/daemon.js';
import { decisionLine, prng } from '../helpers/opa-sample.js';

const modeOf = (p: string) => (statSync(p).mode & 0o777).toString(8);

describe('state files are private whatever the umask', () => {
  const title = 'umask 022: state dir and outbox dirs 0700; db, wal, shm, segments and the new key 0600';
  it(title, { timeout: 60_000 }, async () => {
    // The sink is an http collector that is not there, so every delivery fails and the sealed
    // object stays in the outbox, where its segment file can be looked at.
    const dead = await freePort();
    const sink = `  - name: gone\n    type: http\n    url: http://127.0.0.1:${dead}/ingest`;
    const w = makeWorkspace({ sinksYaml: sink });
    try {
      const keyFile = join(w.root, 'new-keys', 'signer.key');
      const config = readFileSync(w.configFile, 'utf8').replace(w.keyFile, keyFile);
      writeFileSync(w.configFile, config);
      // An older run's state directory, 0755: tightened at start, and said so.
      mkdirSync(w.stateDir);
      chmodSync(w.stateDir, 0o755);
      const d = startUnderUmask(w.configFile, '022', ['--init-key']);
      try {
        const running = () => logsWith(d, 'tailseal running.').length === 1;
        await waitFor(() => running() || d.child.exitCode !== null, 'tailseal running.');
        assert.equal(logsWith(d, 'tailseal running.').length, 1, d.logs.join('\n'));
        writeFileSync(join(w.opaDir, 'opa.log'), `${decisionLine(0, prng(1))}\n`);
        const outbox = join(w.stateDir, 'tailseal.db-outbox');
        const streamDir = join(outbox, 'opa');
        const segmentsNow = () => (existsSync(streamDir) ? readdirSync(streamDir) : []);
        await waitFor(() => segmentsNow().length > 0, 'an outbox segment (no delivery can take it)');
        const segments = segmentsNow();
        const dirs = [w.stateDir, outbox, streamDir, dirname(keyFile)];
        const files = [
          ...['tailseal.db', 'tailseal.db-wal', 'tailseal.db-shm'].map((f) => join(w.stateDir, f)),
          ...segments.map((s) => join(streamDir, s)),
          keyFile,
        ];
        const modes = Object.fromEntries([...dirs, ...files].map((p) => [p, modeOf(p)]));
        const want = Object.fromEntries([...dirs.map((p) => [p, '700']), ...files.map((p) => [p, '600'])]);
        assert.deepEqual(modes, want);
        const tightened = `state_dir ${w.stateDir} was mode 0755 (open to its group or others); tightened it to 0700`;
        const warned = logsWith(d, tightened);
        assert.equal(warned.length, 1, 'the tightening is logged');
        assert.equal(warned[0]!.level, 40);
      } finally {
        if (d.child.exitCode === null) await stopDaemon(d);
        await d.exited;
      }
    } finally {
      w.cleanup();
    }
  });
});
