// Issue 21, `tailseal monitor`: the real monitor process over a file store holding two origins
// (two writers with their own keys): /status and /metrics show both ok; new objects are read and
// nothing else; kill -9 and a restart resume from monitor.db (the next pass reads only the new
// object); an origin past its max_silence is silent; an altered object makes its origin broken with
// ENTRY_ALTERED, logged once; SIGTERM exits 0; a config that cannot be used exits 2.
import assert from 'node:assert/strict';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { metricSample } from '../helpers/metrics.js';
import { type DaemonProc, cli, freePort, killDaemon, logsWith, startCli, stopDaemon } from '../helpers/daemon.js';
import { type SealedTrail, STEP_MS, sealTrail, tempDir, testKey, writeObject } from '../helpers/trail.js';
import type { StatusDocument } from '../../src/monitor/service.js';
import { RUN, docCommand } from '../docs/commands.js';
import { getText, until } from '../helpers/poll.js';

/** The documented command (docs/operations.md, "The fleet monitor") with the test's config file. */
const monitorArgs = (config: string) =>
  docCommand(RUN.monitor)
    .split(' ')
    .slice(1)
    .map((a) => (a === 'config/monitor.yaml' ? config : a));

const ORIGIN_A = 'fleet.test/pod-a/opa';
const ORIGIN_B = 'fleet.test/pod-b/opa';

const origin = (s: StatusDocument, o: string) => s.origins.find((x) => x.origin === o);

describe('tailseal monitor', () => {
  const root = tempDir('tailseal-monitor-it-');
  const store = join(root, 'store');
  after(() => rmSync(root, { recursive: true, force: true }));

  it('watches two origins: ok, incremental, resumes after kill -9, silent, broken; SIGTERM exits 0', async () => {
    // Two writers whose objects were sealed over the last minutes (the newest a minute ago).
    const t0 = Date.now() - 5 * STEP_MS;
    const keyA = testKey('pod-a', 1);
    const keyB = testKey('pod-b', 2);
    const a = sealTrail({ origin: 'fleet.test/pod-a', key: keyA, plan: [2, 2, 1], t0 });
    const b = sealTrail({ origin: 'fleet.test/pod-b', key: keyB, plan: [2, 2, 1, 1, 1], t0 });
    // Stored as a file sink stores them: written aside, then renamed in (a pass never sees half an object).
    const putBytes = (name: string, body: Uint8Array) => {
      writeObject(join(root, 'tmp'), name, body);
      mkdirSync(dirname(join(store, name)), { recursive: true });
      renameSync(join(root, 'tmp', name), join(store, name));
    };
    const put = (prefix: string, t: SealedTrail, i: number) =>
      putBytes(`${prefix}/${t.objects[i]!.name}`, t.objects[i]!.body);
    writeFileSync(join(root, 'pod-a.pub'), `${keyA.verifierKey}\n`);
    writeFileSync(join(root, 'pod-b.pub'), `${keyB.verifierKey}\n`);
    const port = await freePort();
    const config = (silenceA: string) => {
      const file = join(root, `monitor-${silenceA}.yaml`);
      writeFileSync(
        file,
        [
          `state_dir: ${join(root, 'state')}`,
          'stores:',
          `  - name: fleet`,
          `    store: ${store}`,
          'keys:',
          `  - match: fleet.test/pod-a/*`,
          `    files: [${join(root, 'pod-a.pub')}]`,
          `  - match: fleet.test/pod-b/*`,
          `    files: [${join(root, 'pod-b.pub')}]`,
          'interval: 100ms',
          'max_silence:',
          '  default: 1h',
          '  origins:',
          `    - { match: ${ORIGIN_A}, after: ${silenceA} }`,
          'metrics:',
          `  listen: 127.0.0.1:${port}`,
          '',
        ].join('\n'),
      );
      return file;
    };
    const status = async () => JSON.parse(await getText(port, '/status')) as StatusDocument;
    const metric = async (name: string, labels: Record<string, string> = {}) =>
      metricSample(await getText(port, '/metrics'), name, labels);
    const procs: DaemonProc[] = [];
    after(async () => {
      for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) await killDaemon(p);
    });

    for (const i of [0, 1]) {
      put('pod-a', a, i);
      put('pod-b', b, i);
    }
    let m = startCli(monitorArgs(config('1h')));
    procs.push(m);
    let s = await until(status, (x) => x.passes >= 1, 'the first pass');
    assert.deepEqual(
      s.origins.map((o) => [o.origin, o.status, o.newest?.size]),
      [
        [ORIGIN_A, 'ok', 4],
        [ORIGIN_B, 'ok', 4],
      ],
    );
    assert.equal(s.ok, true);
    assert.equal(s.last_pass?.full, true);
    assert.equal(await metric('tailseal_monitor_objects_read_total'), 4);
    assert.equal(await metric('tailseal_monitor_origin_status', { origin: ORIGIN_A, status: 'ok' }), 1);
    assert.equal(await metric('tailseal_monitor_entries', { origin: ORIGIN_B }), 4);

    // New objects: the next passes read them and nothing else.
    put('pod-a', a, 2);
    put('pod-b', b, 2);
    await until(
      status,
      (x) => origin(x, ORIGIN_A)?.newest?.size === 5 && origin(x, ORIGIN_B)?.newest?.size === 5,
      'the new objects',
    );
    assert.equal(await metric('tailseal_monitor_objects_read_total'), 6);
    assert.equal(await metric('tailseal_monitor_passes_total', { kind: 'full' }), 1);

    // kill -9, one new object, restart: the first pass of the new process reads only that object.
    await killDaemon(m);
    put('pod-b', b, 3);
    m = startCli(monitorArgs(config('1h')));
    procs.push(m);
    s = await until(status, (x) => origin(x, ORIGIN_B)?.newest?.size === 6, 'the restarted monitor to resume');
    assert.equal(await metric('tailseal_monitor_objects_read_total'), 1, 'only the new object was read');
    assert.equal(await metric('tailseal_monitor_passes_total', { kind: 'full' }), undefined, 'no full pass');
    assert.equal(origin(s, ORIGIN_A)?.newest?.size, 5, 'pod-a resumed from monitor.db');
    assert.equal(await stopDaemon(m), 0, 'SIGTERM: the pass finished, exit 0');
    assert.equal(logsWith(m, 'Fleet monitor stopped.').length, 1);

    // pod-a stopped writing a minute ago: with a max_silence of 1s it is silent; pod-b stays ok.
    m = startCli(monitorArgs(config('1s')));
    procs.push(m);
    s = await until(status, (x) => origin(x, ORIGIN_A)?.status === 'silent', 'pod-a to be silent');
    assert.equal(origin(s, ORIGIN_B)?.status, 'ok');
    assert.equal(s.ok, false);
    assert.equal(await metric('tailseal_monitor_origin_status', { origin: ORIGIN_A, status: 'silent' }), 1);
    const age = await metric('tailseal_monitor_checkpoint_age_seconds', { origin: ORIGIN_A });
    assert.ok(age !== undefined && age > 1, `checkpoint age ${age}`);

    // An object of pod-b altered on its way into the store: broken with the verify code, logged once.
    const altered = `pod-b/${b.objects[4]!.name}`;
    const body = b.objects[4]!.body.toString('utf8').replace('user-6', 'user-X');
    assert.notEqual(body, b.objects[4]!.body.toString('utf8'));
    putBytes(altered, Buffer.from(body));
    s = await until(status, (x) => origin(x, ORIGIN_B)?.status === 'broken', 'pod-b to be broken');
    const broken = origin(s, ORIGIN_B)!;
    assert.equal(broken.code, 'ENTRY_ALTERED');
    assert.equal(broken.object, altered);
    assert.equal(broken.seq, 6);
    const passes = s.passes;
    await until(status, (x) => x.passes >= passes + 2, 'two more passes');
    const logged = logsWith(m, 'Monitor: origin BROKEN');
    assert.equal(logged.length, 1, 'logged once, not every pass');
    assert.equal(logged[0]!.code, 'ENTRY_ALTERED');
    assert.equal(logsWith(m, 'Monitor: origin is SILENT').length, 1);
    assert.equal(await stopDaemon(m), 0);
  });

  it('refuses a config it cannot use with exit 2, naming the key', () => {
    const file = join(root, 'bad.yaml');
    writeFileSync(file, `state_dir: ${join(root, 'bad')}\nstores: []\nkeys: [{ match: "a/*", files: [x.pub] }]\n`);
    const r = cli(['monitor', '--config', file]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /CONFIG_INVALID: .*bad\.yaml: stores: /);
    writeFileSync(
      file,
      `state_dir: ${join(root, 'bad')}\nstores: [{ name: s, store: ${store} }]\n` +
        `keys: [{ match: "a/*", files: [${join(root, 'missing.pub')}] }]\n`,
    );
    const k = cli(['monitor', '--config', file]);
    assert.equal(k.status, 2);
    assert.match(k.stderr, /KEY_INVALID: .*keys\[0\]\.files: /);
  });
});
