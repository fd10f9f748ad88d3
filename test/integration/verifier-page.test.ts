// The verifier page in headless Chromium, on a real daemon's file-sink store (gzip'd objects): the
// page written by `tailseal verifier-page` (its SHA-256 as printed), opened from a file: URL with the
// key pasted in, verifies the store's object files (chosen as files, and as a folder) with the entry
// count of `tailseal verify --json` and the completeness report of `tailseal report --format json` (shown,
// and saved as a JSON and an HTML download); a store with one altered byte fails with verify's code; a
// bundle from `tailseal prove` is OK, and with one byte altered fails with verify-proof's code. The
// page makes no request but its own file: URL, and logs no error (a CSP violation would).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, cpSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { after, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { VERIFIER_PAGE_URL } from '../../src/page/file.js';
import type { CompletenessReport } from '../../src/report/index.js';
import { RUN, docCommand } from '../docs/commands.js';
import { CHROMIUM_BIN, NO_CHROMIUM, launchChromium } from '../helpers/browser.js';
import {
  type DaemonProc,
  type Workspace,
  cli,
  makeWorkspace,
  startDaemon,
  stopDaemon,
  storedDecisions,
  waitFor,
} from '../helpers/daemon.js';
import { decisionLine, prng } from '../helpers/opa-sample.js';

/** The object files of a store, as paths (every stream's folder). */
function objectFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.ndjson(\.gz)?$/.test(f))
    .sort()
    .map((f) => join(dir, f));
}

/** `tailseal verify --json` on a store: { ok, code?, streams? }. */
function cliVerify(store: string, pub: string): { ok: boolean; code?: string; streams?: { entries: number }[] } {
  const r = cli(['verify', '--store', store, '--public-key', pub, '--json']);
  return JSON.parse(r.stdout.split('\n')[0]!);
}

/** Clicks `button` and returns the verdict line once the page shows one. */
async function verdict(page: Page, button: string): Promise<string> {
  await page.click(button);
  await page.waitForSelector('#result[data-state="done"]', { timeout: 60_000 });
  return (await page.textContent('#verdict'))!;
}

describe('the verifier page in headless Chromium', { skip: CHROMIUM_BIN === undefined ? NO_CHROMIUM : false }, () => {
  let w: Workspace | undefined;
  let d: DaemonProc | undefined;
  let browser: Browser | undefined;
  after(async () => {
    await browser?.close();
    d?.child.kill('SIGKILL');
    w?.cleanup();
  });

  it('verifies a real store and a proof bundle as verify and verify-proof do, with the same codes', async () => {
    w = makeWorkspace();
    const ws = w;
    // gzip'd objects: the page inflates them with the browser's DecompressionStream.
    const config = readFileSync(ws.configFile, 'utf8');
    writeFileSync(ws.configFile, config.replace(`dir: ${ws.storeDir}\n`, `dir: ${ws.storeDir}\n    gzip: true\n`));
    const rnd = prng(21);
    // Two policy paths (the demo's decisions have one), for the report's counts by path.
    const lines = Array.from({ length: 1200 }, (_, i) =>
      i % 3 === 0
        ? decisionLine(i, rnd).replace('"path":"http/example/authz/allow"', '"path":"http/example/admin/allow"')
        : decisionLine(i, rnd),
    );
    appendFileSync(join(ws.opaDir, 'opa.log'), lines.join('\n') + '\n');
    d = startDaemon(ws);
    await waitFor(() => storedDecisions(ws.storeDir).length === lines.length, 'all decisions stored');
    assert.equal(await stopDaemon(d), 0);
    const files = objectFiles(ws.storeDir);
    assert.ok(files.length > 1 && files.every((f) => f.endsWith('.ndjson.gz')), files.join(', '));
    const intact = cliVerify(ws.storeDir, ws.pubFile);
    assert.equal(intact.ok, true, JSON.stringify(intact));
    const entries = intact.streams!.reduce((n, s) => n + s.entries, 0);

    // The page as the documented commands write it, with the SHA-256 the CLI prints as sha256sum does.
    const pageFile = join(ws.root, 'verifier.html');
    const [bin, ...args] = docCommand(RUN.verifierPage).split(' ');
    assert.equal(bin, 'tailseal');
    const wrote = cli(args.map((a) => (a === 'verifier.html' ? pageFile : a)));
    assert.equal(wrote.status, 0, wrote.stderr);
    const bytes = readFileSync(pageFile);
    assert.ok(bytes.equals(readFileSync(VERIFIER_PAGE_URL)), 'the page npm run build made');
    const sha = createHash('sha256').update(bytes).digest('hex');
    assert.equal(wrote.stdout, `${sha}  ${pageFile}\nwrote ${pageFile}: ${bytes.length} bytes\n`);
    const [sum, ...sumArgs] = docCommand(RUN.verifierPageSha).split(' ');
    const summed = spawnSync(sum!, sumArgs, { cwd: ws.root, encoding: 'utf8' });
    assert.equal(summed.stdout, `${sha}  verifier.html\n`, summed.stderr);
    assert.equal(cli(args.map((a) => (a === 'verifier.html' ? pageFile : a))).status, 2, 'no file is overwritten');

    browser = await launchChromium();
    const page = await browser.newPage();
    const pageUrl = pathToFileURL(pageFile).href;
    const requests: string[] = [];
    const errors: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    page.on('console', (m) => (m.type() === 'error' ? errors.push(m.text()) : undefined));
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(pageUrl);
    await page.fill('#key', readFileSync(ws.pubFile, 'utf8'));

    // The store's object files, chosen as files, then as the store's folder.
    await page.setInputFiles('#object-files', files);
    assert.equal(await verdict(page, '#check-objects'), 'OK');
    assert.equal(Number(await page.textContent('#total-entries')), entries);
    await page.setInputFiles('#object-folder', ws.storeDir);
    assert.equal(await verdict(page, '#check-objects'), 'OK');
    assert.equal(Number(await page.textContent('#total-entries')), entries);

    // The completeness report it shows: the counts of `tailseal report --format json` on the same store.
    const reported = cli(['report', '--store', ws.storeDir, '--public-key', ws.pubFile, '--format', 'json']);
    assert.equal(reported.status, 0, reported.stderr);
    const cliReport = JSON.parse(reported.stdout) as CompletenessReport;
    assert.equal(cliReport.decisions.total, lines.length);
    const shown = async (field: string): Promise<number> =>
      Number((await page.textContent(`#result [data-field="${field}"]`))!.replace(/,/g, ''));
    assert.equal(await shown('decisions.total'), cliReport.decisions.total);
    assert.ok(cliReport.decisions.by_path.length > 1, 'the sample decides under several policy paths');
    for (const [i, p] of cliReport.decisions.by_path.entries()) {
      assert.equal(await shown(`decisions.by_path.${i}.count`), p.count, p.name);
    }
    for (const k of ['allow', 'deny', 'other', 'none'] as const)
      assert.equal(await shown(`decisions.by_result.${k}`), cliReport.decisions.by_result[k], k);
    for (const [i, s] of cliReport.streams.entries()) {
      assert.equal(await shown(`streams.${i}.decisions`), s.decisions, s.stream);
      assert.equal(
        await page.textContent(`#result [data-field="streams.${i}.newest_checkpoint"]`),
        s.newest_checkpoint,
      );
    }
    // Saved as JSON: a download of the same document (but when it was made and what it names as the store).
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#save-json')]);
    assert.match(download.suggestedFilename(), /^tailseal-report-.*\.json$/);
    const saved = JSON.parse(readFileSync((await download.path())!, 'utf8')) as CompletenessReport;
    assert.deepEqual(saved.decisions, cliReport.decisions);
    assert.deepEqual(saved.streams, cliReport.streams);
    const [htmlDownload] = await Promise.all([page.waitForEvent('download'), page.click('#save-html')]);
    const savedHtml = readFileSync((await htmlDownload.path())!, 'utf8');
    assert.ok(savedHtml.includes(`data-field="decisions.total">${lines.length.toLocaleString('en-US')}<`), 'HTML form');

    // One altered byte: in an entry of an object (gzip'd again), and in a gzip'd object's bytes.
    const mid = files[Math.floor(files.length / 2)]!;
    const alterations: [string, (b: Buffer) => Buffer, string][] = [
      [
        'entry',
        (b) => {
          const text = gunzipSync(b).toString('utf8');
          const at = text.indexOf('"payload"') + 20;
          const c = text[at] === 'A' ? 'B' : 'A';
          return gzipSync(Buffer.from(text.slice(0, at) + c + text.slice(at + 1)));
        },
        'ENTRY_ALTERED',
      ],
      [
        'gzip bytes',
        (b) => Buffer.concat([b.subarray(0, 40), Buffer.from([b[40]! ^ 1]), b.subarray(41)]),
        'ENTRY_MALFORMED',
      ],
    ];
    for (const [what, alter, code] of alterations) {
      const copy = join(ws.root, `altered-${what.replace(/ /g, '-')}`);
      cpSync(ws.storeDir, copy, { recursive: true });
      const target = join(copy, mid.slice(ws.storeDir.length + 1));
      writeFileSync(target, alter(readFileSync(target)));
      const expected = cliVerify(copy, ws.pubFile);
      assert.equal(expected.code, code, `${what}: verify finds the change`);
      await page.setInputFiles('#object-files', objectFiles(copy));
      assert.equal(await verdict(page, '#check-objects'), `FAIL ${expected.code!}`, what);
      assert.match((await page.textContent('#result'))!, /object/, `${what}: the break names its object`);
      // The report up to the break, with each stream and its result as tailseal report gives them.
      const broken = cli(['report', '--store', copy, '--public-key', ws.pubFile, '--format', 'json']);
      assert.equal(broken.status, 1, broken.stderr);
      const brokenStreams = (JSON.parse(broken.stdout) as CompletenessReport).streams;
      // (A break while reading the checkpoints, as in an object that does not inflate, leaves no stream.)
      const pageStreams = page.locator('#result [data-field^="streams."][data-field$=".result"]');
      assert.equal(await pageStreams.count(), brokenStreams.length, what);
      assert.equal(await pageStreams.count(), what === 'entry' ? 1 : 0, what);
      for (const [i, s] of brokenStreams.entries())
        assert.equal(await page.textContent(`#result [data-field="streams.${i}.result"]`), s.result, `${what} ${i}`);
    }

    // A bundle from prove, chosen as a file: OK; pasted with one byte altered: verify-proof's code.
    const id = /"decision_id":"([^"]+)"/.exec(lines[700]!)![1]!;
    const bundleFile = join(ws.root, 'proof.json');
    const proved = cli(['prove', '--store', ws.storeDir, '--public-key', ws.pubFile, '--decision-id', id]);
    assert.equal(proved.status, 0, proved.stderr);
    writeFileSync(bundleFile, proved.stdout);
    await page.setInputFiles('#bundle-file', bundleFile);
    // A function, not a string: the page's CSP forbids eval. (No DOM types here: `globalThis` as any.)
    await page.waitForFunction(() => (globalThis as any).document.getElementById('bundle').value !== '');
    assert.equal(await verdict(page, '#check-bundle'), 'OK');
    assert.match((await page.textContent('#result'))!, /decision/);
    const at = proved.stdout.indexOf(id, proved.stdout.indexOf('"entry"'));
    const altered = proved.stdout.slice(0, at) + (id[0] === 'a' ? 'b' : 'a') + proved.stdout.slice(at + 1);
    writeFileSync(bundleFile, altered);
    const rejected = cli(['verify-proof', bundleFile, '--public-key', ws.pubFile, '--json']);
    assert.equal(rejected.status, 1, rejected.stdout + rejected.stderr);
    const code = (JSON.parse(rejected.stdout) as { code: string }).code;
    await page.fill('#bundle', altered);
    assert.equal(await verdict(page, '#check-bundle'), `FAIL ${code}`);

    assert.deepEqual(requests, [pageUrl], 'no request but the page itself');
    assert.deepEqual(errors, [], 'no console error (a CSP violation logs one)');
  });
});
