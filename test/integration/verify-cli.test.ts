// `tailseal verify` and `tailseal keygen` as real child processes: exit codes, stdout, stderr.
import assert from 'node:assert/strict';
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseVerifierKey } from '../../src/trail/keys.js';
import { CLI } from '../helpers/paths.js';
import {
  type BuiltTrail,
  type TrailSpec,
  buildTrail,
  editObject,
  removeObject,
  tempDir,
  testKey,
} from '../helpers/trail.js';

const cleanups: (() => void)[] = [];
after(() => cleanups.forEach((c) => c()));

function tailseal(...args: string[]): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 30_000 });
}

function fresh(spec: Partial<TrailSpec> = {}): BuiltTrail {
  const t = buildTrail({
    records: ['a', 'b', 'c', 'd', 'e'].map(
      (u, i) =>
        `{"msg":"Decision Log","req_id":${i},"input":{"user":"${u}"},"type":"openpolicyagent.org/decision_logs"}`,
    ),
    plan: [3, 2],
    ...spec,
  });
  cleanups.push(t.cleanup);
  return t;
}

const verifyArgs = (t: BuiltTrail, ...extra: string[]) => [
  'verify',
  '--store',
  t.dir,
  '--public-key',
  t.pubFile,
  ...extra,
];

/** Changes "Decision Log" to "Decision Lag" in entry line `line` of object `index`. */
function alterEntry(t: BuiltTrail, index: number, line: number): void {
  editObject(t.dir, t.objectNames[index]!, (ls) =>
    ls.map((x, i) => (i === line ? x.replace('Decision Log', 'Decision Lag') : x)),
  );
}

describe('tailseal verify', () => {
  it('exits 0 on an intact store and prints "OK stream ..." with a note about the unchecked tail', () => {
    const t = fresh();
    const r = tailseal(...verifyArgs(t));
    assert.equal(r.status, 0, r.stderr);
    assert.match(
      r.stdout,
      /^OK stream opa \(tailseal\.test\/trail\/opa\): 5 entries in 2 objects, root [0-9a-f]{64}, /,
    );
    assert.match(r.stdout, /signed by tailseal\.test\/trail; no gap records\n/);
    assert.match(r.stdout, /tail completeness not checked/);
    assert.equal(r.stderr, '');
  });
  it('a reader that stops reading (`| head -1`): exit with the result, no EPIPE stack on stderr', () => {
    const t = fresh();
    const cmd = `"${process.execPath}" "${CLI}" ${verifyArgs(t)
      .map((a) => `"${a}"`)
      .join(' ')} | head -c 2`;
    const r = spawnSync('bash', ['-c', `set -o pipefail; ${cmd}`], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.stdout, 'OK');
    assert.doesNotMatch(r.stderr, /EPIPE|Unhandled|at /, r.stderr);
    assert.equal(r.status, 0, r.stderr);
  });
  it('counts gap records by reason in the OK line; --verbose lists each one, --json gives each one', () => {
    const head = 'h'.repeat(4096); // as long_lines: truncate keeps an over-long line's first bytes
    const long = (i: number) => ({
      gap: 2_000_000 + i,
      payload: { reason: 'line_too_long', length: 2_000_000 + i, truncated: true, head },
    });
    const dropped = { gap: 0, payload: { reason: 'dropped', rule: 'health', decision_id: 'd-1' } };
    const t = fresh({ records: ['{"msg":"Decision Log"}', long(0), dropped, long(1), long(2)], plan: [5] });
    const r = tailseal(...verifyArgs(t));
    assert.equal(r.status, 0, r.stderr);
    const ok = r.stdout.split('\n')[0]!;
    assert.match(ok, /; 4 gap record\(s\): 3 line_too_long, 1 dropped$/);
    assert.ok(ok.length < 300, `a short OK line: ${ok.length} characters`);
    const verbose = tailseal(...verifyArgs(t, '--verbose'));
    assert.equal(verbose.status, 0, verbose.stderr);
    const listed = verbose.stdout.split('\n').filter((l) => l.startsWith('  gap seq '));
    assert.equal(listed.length, 4);
    assert.match(listed[1]!, /^ {2}gap seq 2 at \/var\/log\/opa\/decisions\.log:\d+ /);
    assert.ok(listed[1]!.endsWith(` ${JSON.stringify(dropped.payload)}`), listed[1]);
    type Gaps = { streams: { gaps: { seq: number; detail: unknown }[] }[] };
    const json = JSON.parse(tailseal(...verifyArgs(t, '--json')).stdout) as Gaps;
    assert.deepEqual(
      json.streams[0]!.gaps.map((g) => g.seq),
      [1, 2, 3, 4],
    );
    assert.deepEqual(json.streams[0]!.gaps[1]!.detail, dropped.payload);
  });
  it("reports a byte-identical copy of an object (even in another stream's folder) as a duplicate, no break", () => {
    const t = fresh();
    const name = t.objectNames[0]!;
    const copy = name.replace(/^opa\//, 'audit/');
    mkdirSync(join(t.dir, 'audit'));
    copyFileSync(join(t.dir, name), join(t.dir, copy));
    const r = tailseal(...verifyArgs(t));
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^OK stream opa .*: 5 entries in 2 objects, /);
    assert.match(r.stdout, /; no gap records; 1 duplicate object\(s\) ignored\n/);
    assert.equal(r.stderr, `warning: ${copy} is a byte-identical copy of ${name} (verified once)\n`);
    const json = JSON.parse(tailseal(...verifyArgs(t, '--json')).stdout) as { streams: { duplicates: unknown[] }[] };
    assert.deepEqual(json.streams[0]!.duplicates, [{ object: copy, sameAs: name }]);
  });
  it('--json prints ok:true with the stream reports', () => {
    const t = fresh();
    const r = tailseal(...verifyArgs(t, '--json', '--latest', t.latestFile));
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as {
      ok: boolean;
      streams: { stream: string; entries: number; objects: number; signedBy: string[]; newestCheckpointTime: number }[];
    };
    assert.equal(out.ok, true);
    assert.equal(out.streams.length, 1);
    assert.deepEqual(
      {
        stream: out.streams[0]!.stream,
        entries: out.streams[0]!.entries,
        objects: out.streams[0]!.objects,
        signedBy: out.streams[0]!.signedBy,
        time: out.streams[0]!.newestCheckpointTime,
      },
      { stream: 'opa', entries: 5, objects: 2, signedBy: ['tailseal.test/trail'], time: t.newestTime },
    );
  });
  it('exits 1 on an altered entry and names the code and the seq', () => {
    const t = fresh();
    alterEntry(t, 1, 0);
    const r = tailseal(...verifyArgs(t));
    assert.equal(r.status, 1, r.stderr);
    assert.match(
      r.stdout,
      /^FAIL ENTRY_ALTERED: stream opa: seq 3 in object opa\/00000000000000000003-00000000000000000004\.ndjson was altered/,
    );
  });
  it('--json on a break prints ok:false with code, stream, seq and object', () => {
    const t = fresh();
    alterEntry(t, 0, 1);
    const r = tailseal(...verifyArgs(t, '--json'));
    assert.equal(r.status, 1, r.stderr);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal(out.ok, false);
    assert.equal(out.code, 'ENTRY_ALTERED');
    assert.equal(out.stream, 'opa');
    assert.equal(out.seq, 1);
    assert.equal(out.object, t.objectNames[0]);
    assert.equal(typeof out.message, 'string');
  });
  it('exits 1 with TAIL_TRUNCATED when the last object is removed and --latest is given', () => {
    const t = fresh();
    removeObject(t.dir, t.objectNames[1]!);
    const without = tailseal(...verifyArgs(t));
    assert.equal(without.status, 0, 'without --latest the cut tail is not visible');
    const r = tailseal(...verifyArgs(t, '--latest', t.latestFile));
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stdout, /^FAIL TAIL_TRUNCATED: stream opa: .*seq 3\.\.4 missing/);
  });
  it('exits 1 with TAIL_TRUNCATED when the newest checkpoint is older than --max-age', () => {
    const t = fresh({ t0: Date.now() - 60 * 60_000 }); // newest checkpoint about 59 minutes old
    const r = tailseal(...verifyArgs(t, '--max-age', '10m'));
    assert.equal(r.status, 1, r.stderr);
    assert.match(
      r.stdout,
      /^FAIL TAIL_TRUNCATED: stream opa: the newest checkpoint is \d+ s old, older than the allowed 600 s/,
    );
  });
  it('exits 0 when the newest checkpoint is younger than --max-age', () => {
    const t = fresh({ t0: Date.now() - 60 * 60_000 });
    const r = tailseal(...verifyArgs(t, '--max-age', '2h'));
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.doesNotMatch(r.stdout, /tail completeness not checked/);
  });
  it('accepts --public-key twice (key rotation) and files with comments and several keys', () => {
    const t = fresh();
    const other = writeTo(t, 'other.pub', `# rotated-out key\n${testKey('tailseal.test/old', 0x55).verifierKey}\n`);
    const r = tailseal('verify', '--store', t.dir, '--public-key', other, '--public-key', t.pubFile);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const onlyOther = tailseal('verify', '--store', t.dir, '--public-key', other);
    assert.equal(onlyOther.status, 1);
    assert.match(onlyOther.stdout, /^FAIL NO_TRUSTED_SIGNATURE: /);
  });

  const usage: { desc: string; args: (t: BuiltTrail) => string[]; stderr: RegExp }[] = [
    {
      desc: 'no --public-key',
      args: (t) => ['verify', '--store', t.dir],
      stderr: /required option '--public-key <file>'/,
    },
    {
      desc: 'no --store',
      args: (t) => ['verify', '--public-key', t.pubFile],
      stderr: /required option '--store <dir\|s3:\/\/bucket\/prefix>'/,
    },
    {
      desc: 'an unreadable --public-key file',
      args: (t) => ['verify', '--store', t.dir, '--public-key', join(t.root, 'nope.pub')],
      stderr: /^tailseal: KEY_INVALID: public key .*nope\.pub cannot be read/,
    },
    {
      desc: 'a --public-key file holding a signer key',
      args: (t) => ['verify', '--store', t.dir, '--public-key', writeTo(t, 'signer.pub', t.signerKey)],
      stderr: /^tailseal: KEY_INVALID: /m,
    },
    {
      desc: 'a --public-key file with no key',
      args: (t) => ['verify', '--store', t.dir, '--public-key', writeTo(t, 'empty.pub', '# nothing\n')],
      stderr: /^tailseal: KEY_INVALID: .*holds no key/,
    },
    {
      desc: '--max-age that is not a duration',
      args: (t) => verifyArgs(t, '--max-age', 'soon'),
      stderr: /^tailseal: USAGE: --max-age "soon" is not a duration/,
    },
    {
      desc: 'an unreadable --latest file',
      args: (t) => verifyArgs(t, '--latest', join(t.root, 'nope.note')),
      stderr: /^tailseal: USAGE: cannot read --latest/,
    },
    { desc: 'an unknown option', args: (t) => verifyArgs(t, '--frobnicate'), stderr: /unknown option '--frobnicate'/ },
  ];
  for (const c of usage) {
    it(`exits 2 on ${c.desc}`, () => {
      const t = fresh();
      const r = tailseal(...c.args(t));
      assert.equal(r.status, 2, r.stdout + r.stderr);
      assert.match(r.stderr, c.stderr);
      assert.doesNotMatch(r.stderr, /AQECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g/, 'never echoes the signer key');
    });
  }

  it('exits 2 on a --store directory that does not exist', () => {
    const t = fresh();
    const r = tailseal('verify', '--store', join(t.root, 'missing'), '--public-key', t.pubFile);
    assert.equal(r.status, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /USAGE: cannot read store directory/);
  });
});

function writeTo(t: BuiltTrail, name: string, text: string): string {
  const p = join(t.root, name);
  writeFileSync(p, text);
  return p;
}

describe('tailseal keygen', () => {
  const root = tempDir('tailseal-keygen-');
  cleanups.push(() => rmSync(root, { recursive: true, force: true }));

  it('writes the signer key (mode 0600) and <out>.pub, and prints the verifier key', () => {
    const out = join(root, 'a', 'signer.key');
    const r = tailseal('keygen', '--name', 'x', '--out', out);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^x\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}\n$/);
    assert.equal(statSync(out).mode & 0o777, 0o600);
    assert.ok(existsSync(`${out}.pub`));
    assert.equal(readFileSync(`${out}.pub`, 'utf8'), r.stdout);
    assert.match(readFileSync(out, 'utf8'), /^PRIVATE\+KEY\+x\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}\n$/);
    assert.equal(readFileSync(out, 'utf8').split('+')[3], r.stdout.split('+')[1], 'same key ID');
    parseVerifierKey(r.stdout.trim());
    assert.doesNotMatch(r.stderr, /PRIVATE/);
  });
  it('refuses to overwrite: a second run exits 2 with KEY_EXISTS and leaves both files unchanged', () => {
    const out = join(root, 'b.key');
    assert.equal(tailseal('keygen', '--name', 'x', '--out', out).status, 0);
    const before = [readFileSync(out, 'utf8'), readFileSync(`${out}.pub`, 'utf8')];
    const r = tailseal('keygen', '--name', 'x', '--out', out);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /^tailseal: KEY_EXISTS: /);
    assert.equal(r.stdout, '');
    assert.deepEqual([readFileSync(out, 'utf8'), readFileSync(`${out}.pub`, 'utf8')], before);
  });
  it('--if-missing exits 0 and leaves an existing key unchanged', () => {
    const out = join(root, 'c.key');
    assert.equal(tailseal('keygen', '--name', 'x', '--out', out).status, 0);
    const before = [readFileSync(out, 'utf8'), readFileSync(`${out}.pub`, 'utf8')];
    const r = tailseal('keygen', '--name', 'x', '--out', out, '--if-missing');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '');
    assert.deepEqual([readFileSync(out, 'utf8'), readFileSync(`${out}.pub`, 'utf8')], before);
  });
  it('--if-missing creates the key when it does not exist', () => {
    const out = join(root, 'd.key');
    const r = tailseal('keygen', '--name', 'x', '--out', out, '--if-missing');
    assert.equal(r.status, 0, r.stderr);
    assert.ok(existsSync(out) && existsSync(`${out}.pub`));
  });
  it('exits 2 on a key name with a "+" and writes nothing', () => {
    const out = join(root, 'e.key');
    const r = tailseal('keygen', '--name', 'a+b', '--out', out);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /^tailseal: USAGE: /);
    assert.ok(!existsSync(out));
  });
});
