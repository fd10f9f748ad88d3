// Config loading: YAML, ${ENV} expansion, schema errors naming the key and the file.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { parse as parseYaml } from 'yaml';
import { MAX_CONFIG_BYTES, loadConfig, parseConfig } from '../../../src/config/load.js';
import { parseDuration, parseSize } from '../../../src/common/units.js';
import { TailsealError } from '../../../src/errors.js';
import { DEFLATE_MAX_RATIO, largestOpaChunk } from '../../../src/sources/opa-service/limits.js';
import { aliasBomb } from '../../helpers/alias-bomb.js';
import { REPO_ROOT } from '../../helpers/paths.js';
import { cli } from '../../helpers/daemon.js';

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
    const input = c.inputs[0]!;
    assert.ok(input.type === 'file');
    assert.equal(input.paths[0], './var/opa/*.log');
    assert.equal(c.sinks[0]!.type, 'file');
    assert.equal(c.checkpoint.interval, 500);
    assert.equal(c.checkpoint.max_bytes, 8 * 1024 * 1024);
    assert.equal(c.outbox.max_bytes, 256 * 1024 * 1024);
    assert.deepEqual(c.sinks[0]!.retry, { baseMs: 200, maxMs: 30_000 });
  });

  it('the bundled OPA-upload config is valid (with its token variable set) and asks for a token', () => {
    const c = parseConfig(
      parseYaml(readFileSync(join(REPO_ROOT, 'config', 'opa-upload.yaml'), 'utf8')),
      'opa-upload.yaml',
      { TAILSEAL_UPLOAD_TOKEN: 'tok' },
    );
    const input = c.inputs[0]!;
    assert.ok(input.type === 'opa_service');
    assert.equal(input.token, 'tok');
    assert.equal(input.listen, '127.0.0.1:8282');
    assert.throws(
      () =>
        parseConfig(
          parseYaml(readFileSync(join(REPO_ROOT, 'config', 'opa-upload.yaml'), 'utf8')),
          'opa-upload.yaml',
          {},
        ),
      /TAILSEAL_UPLOAD_TOKEN is not set/,
    );
  });

  it('the bundled Kubernetes node config is valid: CRI container logs to S3 with Object Lock', () => {
    const c = parseConfig(
      parseYaml(readFileSync(join(REPO_ROOT, 'config', 'kubernetes-node.yaml'), 'utf8')),
      'kubernetes-node.yaml',
      { TAILSEAL_BUCKET: 'audit-bucket' },
    );
    const input = c.inputs[0]!;
    assert.ok(input.type === 'file');
    assert.equal(input.format, 'cri');
    assert.deepEqual(input.paths, ['/var/log/containers/*_*_opa-*.log']);
    const sink = c.sinks[0]!;
    assert.ok(sink.type === 's3');
    assert.equal(sink.bucket, 'audit-bucket');
    assert.equal(sink.object_lock?.mode, 'COMPLIANCE');
  });

  it('applies defaults to a minimal config', () => {
    const c = parseConfig(base(), 'x.yaml', {});
    const input = c.inputs[0]!;
    assert.ok(input.type === 'file');
    assert.equal(input.max_line_bytes, 1024 * 1024);
    assert.equal(c.checkpoint.heartbeat, 60_000);
    assert.equal(c.shutdown.grace, 5000);
    assert.equal(c.log.level, 'info');
    assert.equal(c.recovery.on_state_loss, 'refuse');
  });

  const cases: { desc: string; mutate: (c: Record<string, any>) => void; want: RegExp }[] = [
    { desc: 'unknown top-level key', mutate: (c) => (c.stat_dir = 'x'), want: /^x\.yaml: stat_dir: unknown key/ },
    {
      desc: 'unknown nested key',
      mutate: (c) => (c.sinks[0].gzipp = true),
      want: /^x\.yaml: sinks\[0\]\.gzipp: unknown key/,
    },
    { desc: 'wrong type', mutate: (c) => (c.sinks[0].gzip = 'yes'), want: /^x\.yaml: sinks\[0\]\.gzip: .*boolean/ },
    { desc: 'missing required field', mutate: (c) => delete c.state_dir, want: /^x\.yaml: state_dir: required$/ },
    {
      desc: 'missing nested required field',
      mutate: (c) => delete c.sinks[0].dir,
      want: /^x\.yaml: sinks\[0\]\.dir: required$/,
    },
    { desc: 'unknown sink type', mutate: (c) => (c.sinks[0].type = 'ftp'), want: /^x\.yaml: sinks\[0\]\.type: / },
    {
      desc: 'bad duration',
      mutate: (c) => (c.checkpoint = { interval: 'soon' }),
      want: /^x\.yaml: checkpoint\.interval: expected a duration/,
    },
    {
      desc: 'bad size',
      mutate: (c) => (c.outbox = { max_bytes: '12 parsecs' }),
      want: /^x\.yaml: outbox\.max_bytes: expected a size/,
    },
    { desc: 'origin with a space', mutate: (c) => (c.origin = 'a b'), want: /^x\.yaml: origin: / },
    { desc: 'no inputs', mutate: (c) => (c.inputs = []), want: /^x\.yaml: inputs: / },
    { desc: 'duplicate names', mutate: (c) => c.sinks.push({ ...c.sinks[0] }), want: /name "local" is used twice/ },
    {
      desc: 'stream name with a slash',
      mutate: (c) => (c.inputs[0].stream = 'a/b'),
      want: /^x\.yaml: inputs\[0\]\.stream: /,
    },
    {
      desc: 'opa_service: listen without a port',
      mutate: (c) => (c.inputs = [{ name: 'up', type: 'opa_service', listen: '127.0.0.1' }]),
      want: /^x\.yaml: inputs\[0\]\.listen: must be host:port/,
    },
    {
      desc: 'opa_service: port over 65535',
      mutate: (c) => (c.inputs = [{ name: 'up', type: 'opa_service', listen: '127.0.0.1:70000' }]),
      want: /^x\.yaml: inputs\[0\]\.listen: port must be at most 65535/,
    },
    {
      desc: 'opa_service: resource not a path',
      mutate: (c) => (c.inputs = [{ name: 'up', type: 'opa_service', resource: 'logs' }]),
      want: /^x\.yaml: inputs\[0\]\.resource: must be a path/,
    },
    {
      desc: 'opa_service: a budget below one body',
      mutate: (c) =>
        (c.inputs = [
          {
            name: 'up',
            type: 'opa_service',
            max_decoded_bytes: 8192,
            max_inflight_decoded_bytes: 4096,
          },
        ]),
      want: /^x\.yaml: inputs\[0\]\.max_inflight_decoded_bytes: must be at least max_decoded_bytes/,
    },
    {
      desc: 'opa_service: max_events 0',
      mutate: (c) => (c.inputs = [{ name: 'up', type: 'opa_service', max_events: 0 }]),
      want: /^x\.yaml: inputs\[0\]\.max_events: /,
    },
    {
      desc: 'opa_service: token and token_file',
      mutate: (c) => (c.inputs = [{ name: 'up', type: 'opa_service', token: 'a', token_file: '/t' }]),
      want: /^x\.yaml: inputs\[0\]\.token_file: set token or token_file, not both/,
    },
    {
      desc: 'signing: both key_file and key_env',
      mutate: (c) => (c.signing = { key_file: '/k', key_env: 'K' }),
      want: /^x\.yaml: signing\.key_file: set exactly one of key_file and key_env/,
    },
    {
      desc: 'signing: neither key_file nor key_env',
      mutate: (c) => (c.signing = {}),
      want: /^x\.yaml: signing\.key_file: set exactly one of key_file and key_env/,
    },
    {
      desc: 'metrics: listen without a port',
      mutate: (c) => (c.metrics = { listen: 'localhost' }),
      want: /^x\.yaml: metrics\.listen: must be host:port/,
    },
    {
      desc: 'recovery: unknown policy',
      mutate: (c) => (c.recovery = { on_state_loss: 'guess' }),
      want: /^x\.yaml: recovery\.on_state_loss: /,
    },
    {
      desc: 'recovery: sink that cannot be read back',
      mutate: (c) => (c.recovery = { sink: 'nope' }),
      want: /recovery\.sink: "nope" is not a file or s3 sink of this config \(those are: local\)/,
    },
    // Issue 15 item 11: Node fires a timer of 2^31 ms or more after 1 ms.
    {
      desc: 'a duration past the timer limit',
      mutate: (c) => (c.audit = { interval: '30d' }),
      want: /^x\.yaml: audit\.interval: "30d" is too long: at most 2147483647ms \(about 24\.8 days/,
    },
    {
      desc: 'a retry backoff past the timer limit',
      mutate: (c) => (c.sinks[0].retry = { max_backoff: 2 ** 31 }),
      want: /^x\.yaml: sinks\[0\]\.retry\.max_backoff: 2147483648 is too long/,
    },
    // Issue 15 item 12: names become file names and object keys.
    {
      desc: 'a 300-character input name',
      mutate: (c) => (c.inputs[0].name = 'a'.repeat(300)),
      want: /^x\.yaml: inputs\[0\]\.name: must be at most 64 characters/,
    },
    {
      desc: 'a 65-character stream name',
      mutate: (c) => (c.inputs[0].stream = 's'.repeat(65)),
      want: /^x\.yaml: inputs\[0\]\.stream: must be at most 64 characters/,
    },
    {
      desc: 'a 65-character file sink name',
      mutate: (c) => (c.sinks[0].name = 'f'.repeat(65)),
      want: /^x\.yaml: sinks\[0\]\.name: must be at most 64 characters/,
    },
    {
      desc: 'a 65-character s3 sink name',
      mutate: (c) => (c.sinks = [{ name: 'b'.repeat(65), type: 's3', bucket: 'bkt' }]),
      want: /^x\.yaml: sinks\[0\]\.name: must be at most 64 characters/,
    },
    {
      desc: 'a 65-character http sink name',
      mutate: (c) => c.sinks.push({ name: 'h'.repeat(65), type: 'http', url: 'https://c.example/x' }),
      want: /^x\.yaml: sinks\[1\]\.name: must be at most 64 characters/,
    },
    {
      desc: 'a sink taking a stream no input writes',
      mutate: (c) => (c.sinks[0].streams = ['compliance']),
      want: /^x\.yaml: sinks\[0\]\.streams: no input writes stream "compliance" \(the inputs write: opa\)/,
    },
    {
      desc: 'a stream no trail sink takes (its trail would be kept nowhere)',
      mutate: (c) => {
        c.inputs.push({ name: 'pci', type: 'file', paths: ['/var/log/opa/pci/*.log'], stream: 'compliance' });
        c.sinks[0].streams = ['compliance'];
      },
      want: /^x\.yaml: sinks: no file, s3 or http sink takes stream "opa"/,
    },
    {
      desc: 'a recovery sink that takes only some streams',
      mutate: (c) => {
        c.inputs.push({ name: 'pci', type: 'file', paths: ['/var/log/opa/pci/*.log'], stream: 'compliance' });
        c.sinks[0].streams = ['compliance'];
        c.sinks.push({ name: 'ops', type: 'file', dir: '/var/lib/tailseal/ops', streams: ['opa'] });
        c.recovery = { sink: 'local' };
      },
      want: /^x\.yaml: recovery\.sink: "local" takes only some streams/,
    },
    {
      desc: 'only a witness sink (it keeps no trail)',
      mutate: (c) => (c.sinks = [{ name: 'w', type: 'witness', url: 'http://w.example', key_file: '/k.pub' }]),
      want: /^x\.yaml: sinks: a witness sink keeps cosignatures, not the trail: add a file, s3, http or opa sink/,
    },
    {
      desc: 'a witness sink with in_flight 2 (each proof starts where the one before ended)',
      mutate: (c) =>
        c.sinks.push({ name: 'w', type: 'witness', url: 'http://w.example', key_file: '/k.pub', in_flight: 2 }),
      want: /^x\.yaml: sinks\[1\]\.in_flight: /,
    },
    {
      desc: 'a witness sink url with a query string',
      mutate: (c) => c.sinks.push({ name: 'w', type: 'witness', url: 'http://w.example/?t=1', key_file: '/k.pub' }),
      want: /^x\.yaml: sinks\[1\]\.url: /,
    },
    {
      desc: 'opa_service: file-only key',
      mutate: (c) => (c.inputs = [{ name: 'up', type: 'opa_service', paths: ['/x'] }]),
      want: /^x\.yaml: inputs\[0\]\.paths: unknown key/,
    },
  ];
  for (const tc of cases) {
    it(`rejects: ${tc.desc}`, () => {
      const raw = base() as Record<string, any>;
      tc.mutate(raw);
      const p = problems(raw);
      assert.match(p[0]!, tc.want);
    });
  }

  it('an opa_service input gets loopback, /logs and bounded limits by default', () => {
    const raw = base() as Record<string, any>;
    raw.inputs = [{ name: 'upload', type: 'opa_service' }];
    const input = parseConfig(raw, 'x.yaml', {}).inputs[0]!;
    assert.ok(input.type === 'opa_service');
    assert.equal(input.listen, '127.0.0.1:8282');
    assert.equal(input.resource, '/logs');
    assert.equal(input.max_body_bytes, 8 * 1024 * 1024);
    assert.equal(input.max_decoded_bytes, 64 * 1024 * 1024);
    assert.deepEqual(input.dedupe, { window: 3_600_000, max_ids: 1_000_000 });
  });

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
    assert.throws(
      () => loadConfig(f),
      (e: TailsealError) => e.code === 'CONFIG_INVALID' && e.message.startsWith(`${f}: line `),
    );
  });

  it('durations: up to the timer limit for timers, longer for spans compared with timestamps', () => {
    const raw = base() as Record<string, any>;
    raw.audit = { interval: '24d', full_interval: '90d' };
    raw.sinks.push({ name: 'b', type: 's3', bucket: 'bkt', object_lock: { mode: 'COMPLIANCE', retention: '3650d' } });
    raw.inputs[0].name = 'n'.repeat(64);
    const c = parseConfig(raw, 'x.yaml', {});
    assert.equal(c.audit.interval, 24 * 86_400_000);
    assert.equal(c.audit.full_interval, 90 * 86_400_000);
    const s3 = c.sinks[1]!;
    assert.equal(s3.type === 's3' && s3.object_lock?.retention, 3650 * 86_400_000);
    raw.sinks[1].object_lock.retention = '36501d';
    assert.match(problems(raw)[0]!, /sinks\[1\]\.object_lock\.retention: "36501d" is too long: at most 36500d$/);
  });

  it('a YAML alias bomb is CONFIG_INVALID naming the file, refused quickly', () => {
    const f = join(dir, 'bomb.yaml');
    writeFileSync(f, aliasBomb());
    const t0 = Date.now();
    assert.throws(
      () => loadConfig(f),
      (e: TailsealError) =>
        e.code === 'CONFIG_INVALID' && e.message.startsWith(`${f}: cannot load: `) && /alias/.test(e.message),
    );
    assert.ok(Date.now() - t0 < 2000, `refused in ${Date.now() - t0} ms`);
  });

  it('a file larger than a config is refused naming the limit, read no further', () => {
    const f = join(dir, 'huge.yaml');
    writeFileSync(f, `# ${'x'.repeat(MAX_CONFIG_BYTES)}\n`);
    const why = 'a config file is a few KB (is this the right file?)';
    const want = `${f}: larger than ${MAX_CONFIG_BYTES} bytes; ${why}`;
    assert.throws(
      () => loadConfig(f),
      (e: TailsealError) => e.code === 'CONFIG_INVALID' && e.message === want,
    );
  });

  it('a device (/dev/zero) or a directory is not read: CONFIG_INVALID naming it', () => {
    for (const [file, kind] of [
      ['/dev/zero', 'a device'],
      [dir, 'a directory'],
    ] as const) {
      const want = `${file}: is ${kind}, not a regular file`;
      const refused = (e: TailsealError) => e.code === 'CONFIG_INVALID' && e.message.startsWith(want);
      assert.throws(() => loadConfig(file), refused);
    }
  });

  // Issue 15 item 13: a 300-character folder name in a file sink's dir passed validation, then the
  // sink exited 1 on ENAMETOOLONG at start (and a supervisor restarted it into the same error).
  it('a dir or state_dir with a name over 255 bytes or a path over 3840 bytes: refused naming the key', () => {
    const long = `/srv/${'a'.repeat(300)}/store`;
    const name =
      'the component "aaaaaaaaaaaaaaaa..." is 300 bytes; a file or directory name is at most 255 bytes ' +
      '(NAME_MAX): shorten it';
    const raw = base() as Record<string, any>;
    raw.sinks[0].dir = long;
    assert.deepEqual(problems(raw), [`x.yaml: sinks[0].dir: ${name}`]);
    const raw2 = base() as Record<string, any>;
    raw2.state_dir = long;
    assert.deepEqual(problems(raw2), [`x.yaml: state_dir: ${name}`]);
    // 16 names of 240 bytes: each one allowed, the whole too long for what tailseal puts under it.
    const deep = `/${Array.from({ length: 16 }, () => 'b'.repeat(240)).join('/')}`;
    raw2.state_dir = deep;
    const tooLong = `is ${deep.length} bytes; a directory path may be at most 3840 bytes`;
    assert.match(problems(raw2)[0]!, new RegExp(`^x\\.yaml: state_dir: ${tooLong} \\(PATH_MAX`));
    // Bytes, not characters: 128 two-byte characters are 256 bytes.
    raw2.state_dir = `/srv/${'é'.repeat(128)}`;
    assert.match(problems(raw2)[0]!, /^x\.yaml: state_dir: the component "é+\.\.\." is 256 bytes/);
    const ok = base() as Record<string, any>;
    ok.state_dir = `/srv/${'a'.repeat(255)}`;
    ok.sinks[0].dir = `${'d/'.repeat(1900)}store`;
    assert.equal(parseConfig(ok, 'x.yaml', {}).state_dir, ok.state_dir);
  });

  it('an s3 prefix past 512 bytes is refused (S3 keys are at most 1024 bytes)', () => {
    const raw = base() as Record<string, any>;
    raw.sinks = [{ name: 'b', type: 's3', bucket: 'bkt', prefix: 'p'.repeat(513) }];
    assert.match(problems(raw)[0]!, /^x\.yaml: sinks\[0\]\.prefix: must be at most 512 bytes/);
  });

  it('a missing file is CONFIG_NOT_FOUND', () => {
    assert.throws(
      () => loadConfig(join(dir, 'nope.yaml')),
      (e: TailsealError) => e.code === 'CONFIG_NOT_FOUND',
    );
  });

  it('`tailseal run` with a bad config exits 2 with one line naming the key and the file', () => {
    const f = join(dir, 'typo.yaml');
    writeFileSync(f, JSON.stringify({ ...base(), sinks: [{ name: 'local', type: 'file', dri: '/x' }] }));
    const r = cli(['run', '--config', f]);
    assert.equal(r.status, 2);
    const lines = r.stderr.trim().split('\n').sort();
    const typo =
      `tailseal: CONFIG_INVALID: ${f}: sinks[0].dri: unknown key ` +
      '(check the spelling against docs/configuration.md)';
    assert.deepEqual(lines, [typo, `tailseal: CONFIG_INVALID: ${f}: sinks[0].dir: required`].sort());
  });
});

// Issue 16 item 18: OPA re-sends a refused chunk forever, so limits that can refuse one of its
// chunks are refused at start. OPA packs chunks up to gzip's ratio (1 MiB gave 74 MB decoded).
describe('config: opa_service limits against OPA upload_size_limit_bytes', () => {
  const MiB = 1024 * 1024;
  const withInput = (input: Record<string, unknown>, outbox?: string) => {
    const raw = base() as Record<string, any>;
    raw.inputs = [{ name: 'upload', type: 'opa_service', ...input }];
    if (outbox) raw.outbox = { max_bytes: outbox };
    return raw;
  };

  it("the defaults take any chunk of OPA's default limit (32 KiB)", () => {
    const input = parseConfig(withInput({}), 'x.yaml', {}).inputs[0]!;
    assert.ok(input.type === 'opa_service');
    assert.equal(input.opa_upload_size_limit_bytes, 32 * 1024);
    assert.equal(largestOpaChunk(input).decoded, 1032 * 32 * 1024);
    assert.ok(largestOpaChunk(input).stored <= 256 * MiB);
  });

  it('a 1 MiB limit with the default decoded and outbox limits is refused, naming both fixes', () => {
    const p = problems(withInput({ opa_upload_size_limit_bytes: '1MiB' }));
    assert.equal(p.length, 2, p.join('\n'));
    assert.match(p[0]!, /^x\.yaml: inputs\[0\]\.max_decoded_bytes: 67108864 is below what a chunk of /);
    assert.match(p[0]!, /of opa_upload_size_limit_bytes \(1048576/);
    assert.match(p[0]!, /Raise max_decoded_bytes and max_inflight_decoded_bytes to at least 1082130432 or lower OPA's/);
    assert.match(p[0]!, /upload_size_limit_bytes and inputs\[0\]\.opa_upload_size_limit_bytes to at most 65027$/);
    assert.match(p[1]!, /^x\.yaml: outbox\.max_bytes: 268435456 is below the entries one chunk of inputs\[0\]'s/);
    assert.match(p[1]!, /Raise outbox\.max_bytes to at least \d+ or lower OPA's upload_size_limit_bytes/);
  });

  it('max_body_bytes below the limit is refused', () => {
    const p = problems(withInput({ max_body_bytes: '16KiB' }));
    assert.deepEqual(p.length, 1);
    assert.match(p[0]!, /^x\.yaml: inputs\[0\]\.max_body_bytes: 16384 is below opa_upload_size_limit_bytes \(32768/);
    assert.match(p[0]!, /to at least 32768 or lower .* to at most 16384$/);
  });

  it('limits sized by the rule (docs/operations.md) are accepted; the outbox bound is exact', () => {
    const sized = {
      opa_upload_size_limit_bytes: '1MiB',
      max_decoded_bytes: '1032MiB',
      max_inflight_decoded_bytes: '1032MiB',
    };
    const input = parseConfig(withInput(sized, '2100MiB'), 'x.yaml', {}).inputs[0]!;
    assert.ok(input.type === 'opa_service');
    const need = largestOpaChunk(input).stored;
    assert.ok(need > 2064 * MiB && need <= 2100 * MiB, String(need));
    assert.match(problems(withInput(sized, String(need - 1)))[0]!, /outbox\.max_bytes/);
    parseConfig(withInput(sized, String(need)), 'x.yaml', {});
  });

  it('below OPA minimum (90) the limit is refused; the fix never names a limit OPA cannot take', () => {
    const low = problems(withInput({ opa_upload_size_limit_bytes: 89 }));
    assert.match(low[0]!, /opa_upload_size_limit_bytes: expected a size of at least 90/);
    const tiny = { opa_upload_size_limit_bytes: 90, max_decoded_bytes: 4096, max_inflight_decoded_bytes: 4096 };
    const p = problems(withInput(tiny));
    assert.match(p[0]!, /\(OPA's upload_size_limit_bytes cannot go below 90\)$/);
  });

  it('1032 is gzip at its best: zlib gets within 4% of it (so no smaller bound holds) and never past it', () => {
    for (const n of [1 * MiB, 16 * MiB]) {
      const sent = gzipSync(Buffer.alloc(n, 0x61), { level: 9 }).length;
      assert.ok(n / sent <= DEFLATE_MAX_RATIO && n / sent > 0.96 * DEFLATE_MAX_RATIO, `${n} / ${sent}`);
    }
  });
});
