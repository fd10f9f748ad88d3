// The repository stands alone (issue 17): a clone without the workplace's shared folder beside it runs its tests, every
// fixture says where it came from, and src/ holds only what the shipped commands run.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { OPA_CORPUS, REPO_ROOT } from '../helpers/paths.js';
import { type S3Host, s3Plan } from '../helpers/s3-server.js';
import { toolFromEnv } from '../helpers/tools.js';

/** Every file under `dir` (relative to the repository root) whose name ends with `ext`. */
function filesUnder(dir: string, ext: string): string[] {
  return readdirSync(join(REPO_ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith(ext))
    .map((f) => join(dir, f));
}

describe('the repository stands alone', () => {
  it('every OPA fixture has a SOURCES.md row (repository, path, commit) and the license is beside them', () => {
    const sources = readFileSync(join(OPA_CORPUS, 'SOURCES.md'), 'utf8');
    const rows = new Map<string, string[]>();
    for (const l of sources.split('\n')) {
      const cells = l.split('|').map((c) => c.trim());
      if (cells.length > 5 && cells[1] !== 'file' && !/^-+$/.test(cells[1]!)) rows.set(cells[1]!, cells.slice(2, 5));
    }
    const fixtures = readdirSync(OPA_CORPUS).filter((f) => f !== 'SOURCES.md' && f !== 'LICENSE-opa');
    assert.ok(fixtures.length > 0);
    for (const f of fixtures) {
      const [repo, path, commit] = rows.get(f) ?? assert.fail(`${f} has no row in test/fixtures/opa/SOURCES.md`);
      assert.match(repo!, /^[\w.-]+\/[\w.-]+$/, `${f}: repository`);
      assert.ok(path, `${f}: path`);
      assert.match(commit!, /^[0-9a-f]{40}$/, `${f}: commit`);
    }
    assert.deepEqual(
      [...rows.keys()].filter((f) => !fixtures.includes(f)),
      [],
      'rows without a file',
    );
    assert.match(sources, /Apache License,\s+Version 2\.0/);
    assert.match(readFileSync(join(OPA_CORPUS, 'LICENSE-opa'), 'utf8'), /Apache License\s+Version 2\.0/);
  });

  it("no test, helper or CI step reads the shared folder beside the clone, except .ci/run's optional tools", () => {
    // The folder's path is assembled here so that this file does not name it itself.
    const up = '..';
    const name = 'shared';
    const readsShared = new RegExp(`\\.\\./${name}/|'\\.\\.',\\s*'${name}'`);
    const offenders = [...filesUnder('test', '.ts'), ...filesUnder('src', '.ts')].filter((f) =>
      readsShared.test(readFileSync(join(REPO_ROOT, f), 'utf8')),
    );
    assert.deepEqual(offenders, []);
    const ci = readFileSync(join(REPO_ROOT, '.ci', 'run'), 'utf8').split('\n');
    const ciShared = ci.filter((l) => !l.trimStart().startsWith('#') && l.includes(`${up}/${name}/`));
    assert.ok(ciShared.length > 0, '.ci/run points the tests at the real tools');
    for (const l of ciShared) assert.match(l, /^export TAILSEAL_TEST_(OPA|FLUENT_BIT)=/, l);
  });

  it('every module under src/ is run by a shipped command (bin or npm script), none only by tests', () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
      bin: Record<string, string>;
      scripts: Record<string, string>;
    };
    const commands = [...Object.values(pkg.bin), ...Object.values(pkg.scripts)].join(' ');
    const entries = [...commands.matchAll(/dist\/(src\/\S+)\.js/g)].map((m) => join(REPO_ROOT, `${m[1]}.ts`));
    assert.ok(entries.length >= 2, commands);
    const reached = new Set<string>();
    const queue = [...entries];
    while (queue.length > 0) {
      const file = queue.pop()!;
      if (reached.has(file)) continue;
      reached.add(file);
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)\.js'/g)) {
        const next = resolve(dirname(file), `${m[1]}.ts`);
        assert.ok(existsSync(next), `${relative(REPO_ROOT, file)} imports ${m[1]}.js`);
        queue.push(next);
      }
      // A module a build script bundles (src/page/build.ts: the verifier page's entry) is run by that page.
      for (const m of text.matchAll(/'(src\/[^']+\.ts)'/g)) queue.push(join(REPO_ROOT, m[1]!));
    }
    const unused = filesUnder('src', '.ts').filter((f) => !reached.has(join(REPO_ROOT, f)));
    assert.deepEqual(unused, [], 'modules no command runs (test-only code belongs under test/)');
  });
});

describe('real programs the tests need: skipped with the reason when absent, a failure when required', () => {
  const host = (root: boolean, ...commands: string[]): S3Host => ({ root, has: (c) => commands.includes(c) });
  const keys = { S3_ENDPOINT: 'http://127.0.0.1:1', S3_ACCESS_KEY: 'a', S3_SECRET_KEY: 's' };

  it('S3 unset: Ceph is started when installed or installable (root and apt-get), else skipped with the reason', () => {
    assert.deepEqual(s3Plan({}, host(false, 'radosgw')), { start: { required: false } });
    assert.deepEqual(s3Plan({}, host(true, 'apt-get')), { start: { required: false } });
    const notRoot = s3Plan({}, host(false, 'apt-get'));
    assert.ok('skip' in notRoot && /not installed and installing it needs root/.test(notRoot.skip));
    const noApt = s3Plan({}, host(true));
    assert.ok('skip' in noApt && /needs apt-get/.test(noApt.skip) && /TAILSEAL_TEST_S3=required/.test(noApt.skip));
  });

  it('S3 required: never a skip; skip: always one; S3_ENDPOINT: that server is reused', () => {
    assert.deepEqual(s3Plan({ TAILSEAL_TEST_S3: 'required' }, host(false)), { start: { required: true } });
    assert.deepEqual(s3Plan({ TAILSEAL_TEST_S3: 'skip', ...keys }, host(true, 'radosgw')), {
      skip: 'S3 suites skipped: TAILSEAL_TEST_S3=skip',
    });
    const reuse = s3Plan({ TAILSEAL_TEST_S3: 'required', ...keys }, host(false));
    assert.ok('reuse' in reuse && reuse.reuse.endpoint === keys.S3_ENDPOINT && reuse.reuse.region === 'us-east-1');
    assert.throws(() => s3Plan({ TAILSEAL_TEST_S3: 'yes' }, host(true)), /TAILSEAL_TEST_S3=yes is not a mode/);
  });

  it('TAILSEAL_TEST_OPA and the like: unset is undefined (skip); set, it must name an executable file', () => {
    assert.equal(toolFromEnv('TAILSEAL_TEST_X', {}), undefined);
    assert.equal(toolFromEnv('TAILSEAL_TEST_X', { TAILSEAL_TEST_X: process.execPath }), process.execPath);
    for (const bad of [join(REPO_ROOT, 'no-such-program'), REPO_ROOT, join(REPO_ROOT, 'package.json')]) {
      assert.throws(
        () => toolFromEnv('TAILSEAL_TEST_X', { TAILSEAL_TEST_X: bad }),
        new RegExp(`TAILSEAL_TEST_X=${bad} is not an executable file: fix the path, or unset TAILSEAL_TEST_X`),
      );
    }
  });
});
