// Config loading: YAML, ${ENV} expansion, schema errors naming the key and the file.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadConfig, parseConfig } from '../../src/config/load.js';
import { parseDuration, parseSize } from '../../src/config/units.js';
import { TailsealError } from '../../src/errors.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { cli } from '../helpers/daemon.js';

const base = () => ({
  state_dir: '/var/lib/tailseal',
  origin: 'opa.example.com/pod-a',
  signing: { key_file: '/etc/tailseal/key' },
  inputs: [{ name: 'opa', type: 'file', paths: ['/var/log/opa/*.log'] }],
  sinks: [{ name: 'local', type: 'file', dir: '/var/lib/tailseal/store' }],
});

function problems(raw: unknown, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseConfig(raw, 'x.yaml', env);
  } catch (err) {
    assert.ok(err instanceof TailsealError);
    assert.equal(err.code, 'CONFIG_INVALID');
    return err.message.split('\n');
  }
  assert.fail('expected CONFIG_INVALID');
}

describe('config', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tailseal-config-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('the bundled example config is valid, with defaults filled in', () => {
    const c = loadConfig(join(REPO_ROOT, 'config', 'example.yaml'));
    assert.equal(c.inputs[0]!.paths[0], './var/opa/*.log');
    assert.equal(c.sinks[0]!.type, 'file');
    assert.equal(c.checkpoint.interval, 500);
    assert.equal(c.checkpoint.max_bytes, 8 * 1024 * 1024);
    assert.equal(c.outbox.max_bytes, 256 * 1024 * 1024);
    assert.deepEqual(c.sinks[0]!.retry, { baseMs: 200, maxMs: 30_000 });
  });

  it('applies defaults to a minimal config', () => {
    const c = parseConfig(base(), 'x.yaml', {});
    assert.equal(c.inputs[0]!.max_line_bytes, 1024 * 1024);
    assert.equal(c.checkpoint.heartbeat, 60_000);
    assert.equal(c.shutdown.grace, 5000);
    assert.equal(c.log.level, 'info');
  });

  const cases: { desc: string; mutate: (c: Record<string, any>) => void; want: RegExp }[] = [
    { desc: 'unknown top-level key', mutate: (c) => (c.stat_dir = 'x'), want: /^x\.yaml: stat_dir: unknown key/ },
    { desc: 'unknown nested key', mutate: (c) => (c.sinks[0].gzipp = true), want: /^x\.yaml: sinks\[0\]\.gzipp: unknown key/ },
    { desc: 'wrong type', mutate: (c) => (c.sinks[0].gzip = 'yes'), want: /^x\.yaml: sinks\[0\]\.gzip: .*boolean/ },
    { desc: 'missing required field', mutate: (c) => delete c.state_dir, want: /^x\.yaml: state_dir: required$/ },
    { desc: 'missing nested required field', mutate: (c) => delete c.sinks[0].dir, want: /^x\.yaml: sinks\[0\]\.dir: required$/ },
    { desc: 'unknown sink type', mutate: (c) => (c.sinks[0].type = 'ftp'), want: /^x\.yaml: sinks\[0\]\.type: / },
    { desc: 'bad duration', mutate: (c) => (c.checkpoint = { interval: 'soon' }), want: /^x\.yaml: checkpoint\.interval: expected a duration/ },
    { desc: 'bad size', mutate: (c) => (c.outbox = { max_bytes: '12 parsecs' }), want: /^x\.yaml: outbox\.max_bytes: expected a size/ },
    { desc: 'origin with a space', mutate: (c) => (c.origin = 'a b'), want: /^x\.yaml: origin: / },
    { desc: 'no inputs', mutate: (c) => (c.inputs = []), want: /^x\.yaml: inputs: / },
    { desc: 'duplicate names', mutate: (c) => c.sinks.push({ ...c.sinks[0] }), want: /name "local" is used twice/ },
    { desc: 'stream name with a slash', mutate: (c) => (c.inputs[0].stream = 'a/b'), want: /^x\.yaml: inputs\[0\]\.stream: / },
  ];
  for (const tc of cases) {
    it(`rejects: ${tc.desc}`, () => {
      const raw = base() as Record<string, any>;
      tc.mutate(raw);
      const p = problems(raw);
      assert.match(p[0]!, tc.want);
    });
  }

  it('reports every problem, one line each', () => {
    const raw = base() as Record<string, any>;
    raw.bogus = 1;
    delete raw.origin;
    assert.equal(problems(raw).length, 2);
  });

  it('expands ${VAR} and ${VAR:-default} in string values, and $${ stays literal', () => {
    const raw = base() as Record<string, any>;
    raw.state_dir = '${STATE}/x';
    raw.origin = '${ORIGIN:-opa.example.com/default}';
    raw.sinks[0].dir = '/tmp/$${HOME}';
    const c = parseConfig(raw, 'x.yaml', { STATE: '/data' });
    assert.equal(c.state_dir, '/data/x');
    assert.equal(c.origin, 'opa.example.com/default');
    assert.equal((c.sinks[0] as { dir: string }).dir, '/tmp/${HOME}');
  });

  it('an unset variable without a default names the key and the variable', () => {
    const raw = base() as Record<string, any>;
    raw.signing.key_file = '${KEY_PATH}';
    assert.match(problems(raw)[0]!, /^x\.yaml: signing\.key_file: environment variable KEY_PATH is not set/);
  });

  it('units', () => {
    assert.equal(parseDuration('250ms'), 250);
    assert.equal(parseDuration('1.5s'), 1500);
    assert.equal(parseDuration('2m'), 120_000);
    assert.equal(parseDuration(40), 40);
    assert.equal(parseDuration('5 fortnights'), undefined);
    assert.equal(parseSize('64KiB'), 65536);
    assert.equal(parseSize('1MB'), 1_000_000);
    assert.equal(parseSize('1GiB'), 1024 ** 3);
  });

  it('invalid YAML names the file and line', () => {
    const f = join(dir, 'bad.yaml');
    writeFileSync(f, 'state_dir: [unclosed\n');
    assert.throws(() => loadConfig(f), (e: TailsealError) => e.code === 'CONFIG_INVALID' && e.message.startsWith(`${f}: line `));
  });

  it('a missing file is CONFIG_NOT_FOUND', () => {
    assert.throws(() => loadConfig(join(dir, 'nope.yaml')), (e: TailsealError) => e.code === 'CONFIG_NOT_FOUND');
  });

  it('`tailseal run` with a bad config exits 2 with one line naming the key and the file', () => {
    const f = join(dir, 'typo.yaml');
    writeFileSync(f, JSON.stringify({ ...base(), sinks: [{ name: 'local', type: 'file', dri: '/x' }] }));
    const r = cli(['run', '--config', f]);
    assert.equal(r.status, 2);
    const lines = r.stderr.trim().split('\n').sort();
    assert.deepEqual(lines, [`tailseal: CONFIG_INVALID: ${f}: sinks[0].dri: unknown key (check the spelling against the README's config reference)`, `tailseal: CONFIG_INVALID: ${f}: sinks[0].dir: required`].sort());
  });
});
