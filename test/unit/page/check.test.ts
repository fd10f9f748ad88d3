// What the verifier page checks (src/page/app/check.ts), without a browser: the committed vectors
// verify through files chosen as a browser hands them over (File-like objects, gzip'd or not), a
// tampered copy fails with the code and place `tailseal verify` reports, and the proof-bundle
// vectors, intact and each rejected case, give the codes the vectors name.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { reportCommand } from '../../../src/cli/report.js';
import { type ChosenFile, checkBundle, checkObjects, filesReader } from '../../../src/page/app/check.js';
import type { CompletenessReport } from '../../../src/report/index.js';
import { VECTORS_DIR } from '../../helpers/paths.js';

const T = JSON.parse(readFileSync(join(VECTORS_DIR, 'trail.json'), 'utf8'));
const P = JSON.parse(readFileSync(join(VECTORS_DIR, 'proof.json'), 'utf8'));
const KEY = `# key.pub\n${T.key.verifierKey}\n\n`;

/** A chosen file as the browser gives it: a name (and a path within a chosen folder), size, bytes. */
function chosen(path: string, body: Uint8Array, inFolder = false): ChosenFile {
  const name = path.slice(path.lastIndexOf('/') + 1);
  return {
    name,
    webkitRelativePath: inFolder ? `store/${path}` : '',
    size: body.length,
    arrayBuffer: async () => body.slice().buffer,
  };
}

const vectorFiles = (gzip: boolean, inFolder: boolean): ChosenFile[] =>
  (T.trail.objects as { name: string; body: string }[]).map((o) => {
    const bytes = new TextEncoder().encode(o.body);
    return chosen(gzip ? `${o.name}.gz` : o.name, gzip ? new Uint8Array(gzipSync(bytes)) : bytes, inFolder);
  });

/**
 * `tailseal report --format json` over the same objects written as a file store: the document the page
 * must equal, but for when it was made and what it names as the store (the page has no store path).
 */
async function cliReport(objects: { name: string; body: string }[]): Promise<CompletenessReport> {
  const dir = mkdtempSync(join(tmpdir(), 'tailseal-page-report-'));
  try {
    for (const o of objects) {
      mkdirSync(join(dir, 'store', dirname(o.name)), { recursive: true });
      writeFileSync(join(dir, 'store', o.name), o.body);
    }
    writeFileSync(join(dir, 'key.pub'), KEY);
    const out = join(dir, 'report.json');
    await reportCommand({ store: join(dir, 'store'), publicKey: [join(dir, 'key.pub')], format: 'json', out });
    return JSON.parse(readFileSync(out, 'utf8')) as CompletenessReport;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const comparable = (r: CompletenessReport) => ({ ...r, generated_at: '', store: '' });

describe('the verifier page checks', () => {
  it('verifies the vector trail from chosen files (plain, gzip, in a folder) with its summary', async () => {
    for (const [gzip, inFolder] of [
      [false, false],
      [true, false],
      [true, true],
    ] as const) {
      const reads: [number, number][] = [];
      const o = await checkObjects(KEY, vectorFiles(gzip, inFolder), (done, total) => reads.push([done, total]));
      assert.ok(o.ok && o.kind === 'trail', JSON.stringify(o));
      const [s] = o.report.streams;
      assert.equal(o.report.streams.length, 1);
      assert.deepEqual(o.report.verification, { ok: true });
      assert.deepEqual(
        [s!.result, s!.entries, s!.objects, s!.gap_records.count, s!.root_hash],
        ['OK', T.trail.expect.entries, T.trail.expect.objects, 1, T.trail.expect.root_hex],
      );
      assert.equal(s!.checkpoints_checked, T.trail.expect.objects);
      assert.equal(s!.newest_checkpoint_time, new Date(T.trail.expect.newest_checkpoint_time).toISOString());
      assert.match(s!.newest_checkpoint!, /^tailseal\.test\/trail\/opa\n5\n/);
      assert.deepEqual(reads.at(-1), [6, 6], 'progress: each object read twice');
    }
  });

  it('builds the report document tailseal report builds over the same objects', async () => {
    const expected = await cliReport(T.trail.objects);
    assert.equal(expected.decisions.total, T.trail.expect.entries - 1, 'the CLI counted the decisions');
    const now = Date.parse('2026-12-01T00:00:00Z');
    const o = await checkObjects(KEY, vectorFiles(true, true), undefined, now);
    assert.ok(o.ok && o.kind === 'trail', JSON.stringify(o));
    assert.deepEqual(comparable(o.report), comparable(expected));
    assert.equal(o.report.generated_at, '2026-12-01T00:00:00.000Z');
    assert.equal(o.report.store, 'folder store chosen in the verifier page (3 objects)');
  });

  it('reports a tampered object with the code, object, stream and seq verify reports', async () => {
    const files = vectorFiles(false, true);
    const body = (T.trail.objects[1].body as string).replace('rapports', 'reports');
    files[1] = chosen(T.trail.objects[1].name, new TextEncoder().encode(body), true);
    const o = await checkObjects(KEY, files);
    assert.ok(!o.ok);
    assert.deepEqual(
      { ...o.failure, message: '' },
      { code: 'ENTRY_ALTERED', object: `store/${T.trail.objects[1].name}`, stream: 'opa', seq: 3, message: '' },
    );
    // The report up to the break, as tailseal report gives it for the same altered objects.
    const objects = (T.trail.objects as { name: string; body: string }[]).map((x, i) => (i === 1 ? { ...x, body } : x));
    const expected = await cliReport(objects);
    assert.ok(o.report, 'a failed trail has its report');
    assert.equal(o.report.verification.code, 'ENTRY_ALTERED');
    assert.equal(o.report.streams[0]!.result, 'ENTRY_ALTERED');
    // The page names the object by its path in the chosen folder ("store/"), the CLI by its path in the store.
    const unprefixed = JSON.parse(JSON.stringify(o.report).replaceAll('store/opa/', 'opa/')) as CompletenessReport;
    assert.notDeepEqual(unprefixed, o.report);
    assert.deepEqual(comparable(unprefixed), comparable(expected));
  });

  it('refuses a key text with no key, and reports an empty choice as STORE_EMPTY', async () => {
    const noKey = await checkObjects('# nothing\n', vectorFiles(false, false));
    assert.ok(!noKey.ok && noKey.failure.code === 'KEY_INVALID', JSON.stringify(noKey));
    assert.equal(noKey.report, undefined, 'a bad key is no verification: no report, as the CLI exits 2');
    const none = await checkObjects(KEY, [
      chosen('notes.txt', new Uint8Array(1)),
      chosen('.x.ndjson', new Uint8Array(1)),
    ]);
    assert.ok(!none.ok && none.failure.code === 'STORE_EMPTY', JSON.stringify(none));
  });

  it('names two chosen files of the same name apart, and skips temporary and foreign files', async () => {
    const one = new Uint8Array([1]);
    const reader = filesReader([
      chosen('a/1.ndjson', one),
      chosen('b/1.ndjson', one),
      chosen('.tmp.ndjson', one),
      chosen('x.json', one),
      chosen('c/2.ndjson.gz', one, true),
    ]);
    assert.deepEqual(await reader.list(), ['1.ndjson', '2/1.ndjson', 'store/c/2.ndjson.gz']);
    await assert.rejects(reader.read('1.ndjson', 0), /more than 0 bytes/);
  });

  it('verifies the proof-bundle vectors, and rejects each altered one with its code', () => {
    for (const text of [P.bundle.text, P.twoProofs.text, P.consistency.text]) {
      const o = checkBundle(P.verifierKey, text);
      assert.ok(o.ok, JSON.stringify(o));
    }
    for (const r of [...P.reject, ...P.consistency.reject] as { about: string; bundle: string; code: string }[]) {
      const o = checkBundle(P.verifierKey, r.bundle);
      assert.ok(!o.ok, r.about);
      assert.equal(o.failure.code, r.code, r.about);
    }
  });
});
