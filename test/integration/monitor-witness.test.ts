// Issue 21, the monitor as a witness: the real `tailseal monitor` process with `witness:` over a file
// store built with test/helpers/trail.ts. After a pass the trail verifies with `tailseal verify
// --witness-key W --witness-store S` (what the monitor published); /status and /metrics show the
// cosignature. Then the newest object is removed: verify with the witness fails TAIL_TRUNCATED, the
// monitor reports the origin broken (OBJECT_REMOVED) and cosigns nothing more.
import assert from 'node:assert/strict';
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { StatusDocument } from '../../src/monitor/service.js';
import { type DaemonProc, cli, freePort, killDaemon, logsWith, startCli, stopDaemon } from '../helpers/daemon.js';
import { metricSample } from '../helpers/metrics.js';
import { STEP_MS, buildTrail, removeObject, tempDir } from '../helpers/trail.js';
import { getText, until } from '../helpers/poll.js';

const cosignedFiles = (dir: string): string[] => {
  try {
    return (readdirSync(dir, { recursive: true }) as string[]).filter((n) => n.endsWith('.cosigned')).sort();
  } catch {
    return [];
  }
};

describe('tailseal monitor with witness:', () => {
  const root = tempDir('tailseal-monwit-it-');
  const t = buildTrail({ plan: [3, 2, 4], t0: Date.now() - 5 * STEP_MS });
  /** The checkpoint origin: the writer's origin and its stream. */
  const origin = `${t.origin}/${t.stream}`;
  const procs: DaemonProc[] = [];
  after(async () => {
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) await killDaemon(p);
    t.cleanup();
    rmSync(root, { recursive: true, force: true });
  });

  it('cosigns what it verified (verify --witness-key passes); a truncated trail is broken and not cosigned', async () => {
    const witnessKey = join(root, 'witness.key');
    const witnessStore = join(root, 'witnessed');
    const k = cli(['keygen', '--witness', '--name', 'witness.test/monitor', '--out', witnessKey]);
    assert.equal(k.status, 0, k.stderr);
    const port = await freePort();
    const config = join(root, 'monitor.yaml');
    writeFileSync(
      config,
      [
        `state_dir: ${join(root, 'state')}`,
        'stores:',
        '  - name: fleet',
        `    store: ${t.dir}`,
        'keys:',
        `  - { match: "${origin}", files: [${t.pubFile}] }`,
        'interval: 100ms',
        'max_silence: { default: 1h }',
        'witness:',
        `  key_file: ${witnessKey}`,
        `  store: ${witnessStore}`,
        'metrics:',
        `  listen: 127.0.0.1:${port}`,
        '',
      ].join('\n'),
    );
    const status = async () => JSON.parse(await getText(port, '/status')) as StatusDocument;
    const published = async () =>
      metricSample(await getText(port, '/metrics'), 'tailseal_monitor_cosignatures_published_total', {
        origin,
      });
    const m = startCli(['monitor', '--config', config]);
    procs.push(m);

    let s = await until(status, (x) => x.origins[0]?.cosigned?.size === t.entries, 'the first cosignature');
    assert.equal(s.origins[0]?.status, 'ok');
    assert.equal(await published(), 1);
    assert.equal(cosignedFiles(witnessStore).length, 1);
    const verify = (...extra: string[]) =>
      cli(['verify', '--store', t.dir, '--public-key', t.pubFile, '--witness-key', `${witnessKey}.pub`, ...extra]);
    const ok = verify('--witness-store', witnessStore);
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, new RegExp(`WITNESSED ${origin.replace(/[./]/g, '\\$&')}: .*size ${t.entries} `));

    // The newest object removed from the trail store: the witness's checkpoint catches the truncation.
    removeObject(t.dir, t.objectNames.at(-1)!);
    const cut = verify('--witness-store', witnessStore, '--json');
    assert.equal(cut.status, 1, cut.stdout + cut.stderr);
    assert.equal((JSON.parse(cut.stdout) as { code: string }).code, 'TAIL_TRUNCATED');
    s = await until(status, (x) => x.origins[0]?.status === 'broken', 'the origin to be broken');
    assert.equal(s.origins[0]?.code, 'OBJECT_REMOVED');
    assert.equal(s.origins[0]?.object, t.objectNames.at(-1));
    const passes = s.passes;
    s = await until(status, (x) => x.passes >= passes + 2, 'two more passes');
    assert.equal(s.origins[0]?.status, 'broken');
    assert.equal(s.origins[0]?.cosigned?.size, t.entries, 'what was cosigned stays');
    assert.equal(await published(), 1, 'nothing cosigned after the truncation');
    assert.deepEqual(cosignedFiles(witnessStore).length, 1);
    assert.equal(logsWith(m, 'Monitor: origin BROKEN').length, 1);
    assert.equal(logsWith(m, 'Witness: checkpoint cosigned and published.').length, 1);
    assert.equal(await stopDaemon(m), 0);
  });

  it('refuses a witness key it cannot use with exit 2, naming witness.key_file', async () => {
    const file = join(root, 'bad-witness.yaml');
    writeFileSync(
      file,
      [
        `state_dir: ${join(root, 'bad-state')}`,
        `stores: [{ name: fleet, store: ${t.dir} }]`,
        `keys: [{ match: "*", files: [${t.pubFile}] }]`,
        `witness: { key_file: ${t.pubFile}, store: ${join(root, 'w2')} }`,
        `metrics: { listen: "127.0.0.1:${await freePort()}" }`,
        '',
      ].join('\n'),
    );
    const r = cli(['monitor', '--config', file]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /KEY_INVALID: .*bad-witness\.yaml: witness\.key_file: /);
  });
});
