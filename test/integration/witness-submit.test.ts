// Issue 21, the daemon submitting to a witness over HTTP: a real `tailseal run` with a file sink and
// a `witness` sink, and a real `tailseal monitor` answering add-checkpoint on `witness.listen`.
// Every checkpoint is cosigned with a consistency proof from the one before; the cosigned notes
// land in the sink's `store` and in the monitor's witness store, and `tailseal verify --witness-key`
// passes against either. A kill -9 of the daemon and a restart continue from its witness state.
import assert from 'node:assert/strict';
import { appendFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { StatusDocument } from '../../src/monitor/service.js';
import {
  type DaemonProc,
  cli,
  decisionText,
  freePort,
  killDaemon,
  logsWith,
  makeWorkspace,
  startCli,
  startDaemon,
  stopDaemon,
  waitFor,
} from '../helpers/daemon.js';
import { tempDir } from '../helpers/trail.js';

const ORIGIN = 'tailseal.test/it/opa';

/** The sizes of the cosigned notes of ORIGIN in a witness store directory. */
function cosignedSizes(dir: string): number[] {
  try {
    return (readdirSync(join(dir, ...ORIGIN.split('/'))) as string[])
      .filter((n) => n.endsWith('.cosigned'))
      .map((n) => Number(n.split('-')[0]))
      .sort((a, b) => a - b);
  } catch {
    return [];
  }
}

describe('witness sink -> tailseal monitor (add-checkpoint)', () => {
  const procs: DaemonProc[] = [];
  let cleanup = () => undefined as void;
  after(async () => {
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) await killDaemon(p);
    cleanup();
  });

  it('cosigns every checkpoint; verify --witness-key passes with either store; a kill -9 resumes', async () => {
    const [wport, mport] = [await freePort(), await freePort()];
    // The witness side and the trail store in a directory of their own; the daemon's workspace names them.
    const root = tempDir('tailseal-witness-it-');
    const store = join(root, 'store');
    const shipped = join(root, 'shipped');
    const witnessed = join(root, 'witnessed');
    const witnessKey = join(root, 'witness.key');
    const k = cli(['keygen', '--witness', '--name', 'witness.test/w1', '--out', witnessKey]);
    assert.equal(k.status, 0, k.stderr);
    const w = makeWorkspace({
      sinksYaml: `  - name: local
    type: file
    dir: ${store}
  - name: w1
    type: witness
    url: http://127.0.0.1:${wport}
    key_file: ${witnessKey}.pub
    store: ${shipped}
    retry: { initial_backoff: 50ms, max_backoff: 200ms }`,
    });
    cleanup = () => {
      w.cleanup();
      rmSync(root, { recursive: true, force: true });
    };
    const config = join(root, 'monitor.yaml');
    appendFileSync(
      config,
      [
        `state_dir: ${join(root, 'monitor')}`,
        `stores: [{ name: fleet, store: ${store} }]`,
        `keys: [{ match: "tailseal.test/it/*", files: [${w.pubFile}] }]`,
        'interval: 200ms',
        'witness:',
        `  key_file: ${witnessKey}`,
        `  store: ${witnessed}`,
        `  listen: 127.0.0.1:${wport}`,
        `metrics: { listen: "127.0.0.1:${mport}" }`,
        '',
      ].join('\n'),
    );
    const monitor = startCli(['monitor', '--config', config]);
    procs.push(monitor);
    await waitFor(() => logsWith(monitor, 'Fleet monitor started.').length === 1, 'the monitor to start');

    const lines = decisionText(21);
    const log = join(w.opaDir, 'decisions.log');
    appendFileSync(log, lines(300));
    let d = startDaemon(w);
    procs.push(d);
    await waitFor(() => cosignedSizes(shipped).includes(300), 'a cosignature of size 300 shipped', 30_000);
    assert.ok(cosignedSizes(witnessed).includes(300), 'the monitor published it too');
    await killDaemon(d);

    appendFileSync(log, lines(200));
    d = startDaemon(w);
    procs.push(d);
    await waitFor(() => cosignedSizes(shipped).includes(500), 'a cosignature of size 500 after the restart', 30_000);
    assert.equal(await stopDaemon(d), 0);
    assert.deepEqual(logsWith(d, 'Object parked'), [], 'nothing parked');
    assert.ok(cosignedSizes(shipped).length >= 2);

    const plain = cli(['verify', '--store', store, '--public-key', w.pubFile]);
    assert.equal(plain.status, 0, plain.stdout + plain.stderr);
    for (const witnessStore of [shipped, witnessed]) {
      const v = cli([
        'verify',
        '--store',
        store,
        '--public-key',
        w.pubFile,
        '--witness-key',
        `${witnessKey}.pub`,
        '--witness-store',
        witnessStore,
      ]);
      assert.equal(v.status, 0, v.stdout + v.stderr);
      assert.match(v.stdout, /WITNESSED tailseal\.test\/it\/opa: .*size 500 /);
    }
    const status = (await (await fetch(`http://127.0.0.1:${mport}/status`)).json()) as StatusDocument;
    assert.equal(status.origins.find((o) => o.origin === ORIGIN)?.cosigned?.size, 500);
    assert.deepEqual(logsWith(monitor, 'Witness: REFUSED'), []);
    assert.equal(await stopDaemon(monitor), 0);
  });
});
