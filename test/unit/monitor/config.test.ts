// The monitor's config: the bundled example loads, each mistake is refused with a line naming the
// key and the fix, and origin patterns match as documented.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadMonitorConfig, matchesOrigin, parseMonitorConfig } from '../../../src/monitor/config.js';
import { isTailsealError } from '../../../src/errors.js';
import { REPO_ROOT } from '../../helpers/paths.js';

const base = (): Record<string, unknown> => ({
  state_dir: '/var/lib/tailseal-monitor',
  stores: [{ name: 'fleet', store: 's3://trail/opa/' }],
  keys: [{ match: 'opa.example.com/*', files: ['/etc/tailseal/fleet.pub'] }],
});

describe('monitor config', () => {
  it('loads config/monitor.yaml with its durations parsed', () => {
    const c = loadMonitorConfig(join(REPO_ROOT, 'config', 'monitor.yaml'));
    assert.equal(c.interval, 60_000);
    assert.equal(c.full_pass_every, 24 * 3_600_000);
    assert.equal(c.max_silence.default, 5 * 60_000);
    assert.deepEqual(c.max_silence.origins, [{ match: 'tailseal.example/batch-*', after: 2 * 3_600_000 }]);
    assert.equal(c.metrics.listen, '127.0.0.1:9465');
  });

  it('fills in the defaults', () => {
    const c = parseMonitorConfig(base(), 'm.yaml', {});
    assert.equal(c.interval, 60_000);
    assert.equal(c.max_silence.default, 3_600_000);
    assert.deepEqual(c.max_silence.origins, []);
    assert.equal(c.log.level, 'info');
    assert.equal(c.witness, undefined, 'no witness unless configured');
    assert.deepEqual(c.min_retention, { origins: [] }, 'retention is not checked unless configured');
    const r = parseMonitorConfig(
      { ...base(), min_retention: { default: '90d', origins: [{ match: 'a/*', at_least: '365d' }] } },
      'm.yaml',
      {},
    );
    assert.deepEqual(r.min_retention, {
      default: 90 * 86_400_000,
      origins: [{ match: 'a/*', at_least: 365 * 86_400_000 }],
    });
    const w = parseMonitorConfig(
      { ...base(), witness: { key_file: 'w.key', store: '/srv/w', min_interval: '10m' } },
      'm.yaml',
      {},
    );
    assert.deepEqual(w.witness, { key_file: 'w.key', store: '/srv/w', path_style: false, min_interval: 600_000 });
  });

  const refused: { desc: string; mutate: (c: Record<string, unknown>) => void; want: RegExp }[] = [
    { desc: 'unknown key', mutate: (c) => (c.intervall = '1m'), want: /^m\.yaml: intervall: unknown key/ },
    { desc: 'no stores', mutate: (c) => (c.stores = []), want: /^m\.yaml: stores: / },
    { desc: 'no keys', mutate: (c) => delete c.keys, want: /^m\.yaml: keys: required/ },
    {
      desc: 'a key entry without files',
      mutate: (c) => (c.keys = [{ match: 'a/*', files: [] }]),
      want: /^m\.yaml: keys\[0\]\.files: /,
    },
    {
      desc: 'a pattern with a space',
      mutate: (c) => (c.keys = [{ match: 'a b', files: ['k.pub'] }]),
      want: /^m\.yaml: keys\[0\]\.match: must be an origin or a pattern/,
    },
    {
      desc: 'a bad duration',
      mutate: (c) => (c.max_silence = { default: 'soon' }),
      want: /^m\.yaml: max_silence\.default: expected a duration/,
    },
    {
      desc: 'a min_retention entry with a bad duration',
      mutate: (c) => (c.min_retention = { origins: [{ match: 'a/*', at_least: 'long' }] }),
      want: /^m\.yaml: min_retention\.origins\[0\]\.at_least: expected a duration/,
    },
    {
      desc: 'two stores of one name',
      mutate: (c) =>
        (c.stores = [
          { name: 'x', store: '/a' },
          { name: 'x', store: '/b' },
        ]),
      want: /^m\.yaml: stores: name "x" is used twice/,
    },
    {
      desc: 'a witness without its key',
      mutate: (c) => (c.witness = { store: '/srv/witness' }),
      want: /^m\.yaml: witness\.key_file: required/,
    },
    {
      desc: 'a witness with an unknown key',
      mutate: (c) => (c.witness = { key_file: 'w.key', store: '/srv/witness', interval: '1m' }),
      want: /^m\.yaml: witness\.interval: unknown key/,
    },
    {
      desc: 'a witness min_interval that is no duration',
      mutate: (c) => (c.witness = { key_file: 'w.key', store: '/srv/witness', min_interval: 'often' }),
      want: /^m\.yaml: witness\.min_interval: expected a duration/,
    },
    {
      desc: 'a witness store that is a watched store',
      mutate: (c) => (c.witness = { key_file: 'w.key', store: 's3://trail/opa' }),
      want: /^m\.yaml: witness\.store: s3:\/\/trail\/opa is \(inside\) a watched store; cosignatures go to a place/,
    },
    {
      desc: 'a witness store inside a watched store',
      mutate: (c) => (c.witness = { key_file: 'w.key', store: 's3://trail/opa/witness/' }),
      want: /^m\.yaml: witness\.store: s3:\/\/trail\/opa\/witness\/ is \(inside\) a watched store/,
    },
    {
      desc: 'an unset environment variable',
      mutate: (c) => (c.state_dir = '${MONITOR_STATE}'),
      want: /^m\.yaml: state_dir: environment variable MONITOR_STATE is not set/,
    },
  ];
  for (const r of refused) {
    it(`refuses ${r.desc} with CONFIG_INVALID naming the key`, () => {
      const raw = base();
      r.mutate(raw);
      assert.throws(
        () => parseMonitorConfig(raw, 'm.yaml', {}),
        (err) => isTailsealError(err, 'CONFIG_INVALID') && r.want.test(err.message),
      );
    });
  }

  const patterns: [string, string, boolean][] = [
    ['opa.example.com/pod-a/opa', 'opa.example.com/pod-a/opa', true],
    ['opa.example.com/pod-a/opa', 'opa.example.com/pod-a/opa2', false],
    ['opa.example.com/*', 'opa.example.com/pod-a/opa', true],
    ['opa.example.com/*', 'opa.example.org/pod-a/opa', false],
    ['*/opa', 'opa.example.com/pod-a/opa', true],
    ['*/opa', 'opa.example.com/pod-a/audit', false],
    ['opa.example.com/*/opa', 'opa.example.com/pod-a/opa', true],
    ['opa.example.com/*-batch/*', 'opa.example.com/x-batch/s', true],
    ['opa.example.com/*-batch/*', 'opa.example.com/x-batc/s', false],
    ['a*a', 'a', false],
    ['*', 'anything/at/all', true],
  ];
  for (const [pattern, origin, want] of patterns) {
    it(`pattern ${pattern} ${want ? 'matches' : 'does not match'} ${origin}`, () => {
      assert.equal(matchesOrigin(pattern, origin), want);
    });
  }
});
