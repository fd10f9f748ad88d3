// `tailseal report` on a real daemon's file-sink store, run from docs/operations.md's own command:
// the JSON form's counts equal what was written (paths, results, bundle revisions, an erased field, a
// gap record for an over-long line); the HTML form in headless Chromium loads nothing but its file,
// shows the JSON form's numbers and one chart bar per hour; a store with one altered byte gives exit 1
// and a report naming the break; bad options exit 2.
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, describe, it } from 'node:test';
import { RUN, docCommand } from '../docs/commands.js';
import { CHROMIUM_BIN, NO_CHROMIUM, launchChromium } from '../helpers/browser.js';
import {
  type DaemonProc,
  type Workspace,
  cli,
  docArgs,
  makeWorkspace,
  startDaemon,
  stopDaemon,
  storeEntries,
  waitFor,
} from '../helpers/daemon.js';
import { decisionLine, otherLine, prng } from '../helpers/opa-sample.js';

const N = 150;

/** Decision i, varied: another policy path, an object result, another bundle revision, a password. */
function line(i: number, rnd: () => number): string {
  let l = decisionLine(i, rnd);
  if (i % 10 === 3) l = l.replace('"path":"http/example/authz/allow"', '"path":"http/example/authz/<admin>"');
  if (i % 7 === 0) l = l.replace(/"result":(true|false)/, (_, r: string) => `"result":{"allow":${r},"why":"x"}`);
  if (i % 5 === 1) l = l.replace(/"revision":"[^"]+"/, '"revision":"rev-2|<b>"');
  if (i % 4 === 2) l = l.replace('"input":{', '"input":{"password":"hunter2",');
  return l;
}

/** What the report must count of the decisions written. */
function expected(lines: string[]) {
  const by = (f: (o: any) => string) => {
    const m = new Map<string, number>();
    for (const l of lines) m.set(f(JSON.parse(l)), (m.get(f(JSON.parse(l))) ?? 0) + 1);
    return m;
  };
  const result = (o: any) =>
    typeof o.result === 'boolean' ? (o.result ? 'allow' : 'deny') : o.result.allow ? 'allow' : 'deny';
  return {
    paths: by((o) => o.path),
    results: by(result),
    revisions: by((o) => o.bundles.authz.revision),
    erased: lines.filter((l) => l.includes('"password"')).length,
  };
}

const toMap = (list: { name: string; count: number }[]) => new Map(list.map((c) => [c.name, c.count]));

describe('tailseal report on a real run', () => {
  let w: Workspace | undefined;
  let d: DaemonProc | undefined;
  after(() => {
    d?.child.kill('SIGKILL');
    w?.cleanup();
  });

  it('JSON counts equal what was written; HTML in Chromium matches it with no request; a tampered store exits 1', async (t) => {
    w = makeWorkspace({ maxLineBytes: '4KiB' });
    const ws = w;
    writeFileSync(
      ws.configFile,
      readFileSync(ws.configFile, 'utf8').replace(
        '    read_chunk_bytes: 1MiB\n',
        '    read_chunk_bytes: 1MiB\n    mask:\n      rules:\n        - { erase: /input/password }\n',
      ),
    );
    const rnd = prng(20);
    const lines = Array.from({ length: N }, (_, i) => line(i, rnd));
    const long = decisionLine(N, rnd).replace('"input":{', `"input":{"pad":"${'x'.repeat(5000)}",`);
    const log = join(ws.opaDir, 'opa.log');
    const written = [...lines.slice(0, 70), otherLine(1), long, otherLine(2), ...lines.slice(70)];
    appendFileSync(log, written.join('\n') + '\n');
    d = startDaemon(ws);
    await waitFor(() => storeEntries(ws.storeDir).length === N + 1, `${N} decisions and a gap record stored`);
    assert.equal(await stopDaemon(d), 0);

    // The documented command (paths substituted), then the JSON form of the same store.
    const html = join(ws.root, 'report.html');
    const made = cli(docArgs(docCommand(RUN.reportHtml), ws, { 'report.html': html }));
    assert.equal(made.status, 0, made.stdout + made.stderr);
    assert.match(made.stdout, new RegExp(`^OK\\nwrote .*report\\.html \\(${N} decisions in range\\)`));
    const j = cli(['report', '--store', ws.storeDir, '--public-key', ws.pubFile, '--format', 'json']);
    assert.equal(j.status, 0, j.stderr);
    const r = JSON.parse(j.stdout);
    assert.equal(r.report, 'tailseal-completeness');
    assert.deepEqual(r.verification, { ok: true });
    const want = expected(lines);
    assert.equal(r.decisions.total, N);
    assert.deepEqual(toMap(r.decisions.by_path), want.paths);
    assert.deepEqual(new Map(Object.entries(r.decisions.by_result).filter(([, v]) => v !== 0)), want.results);
    assert.deepEqual(new Map(r.decisions.revisions.map((x: any) => [x.revision, x.count])), want.revisions);
    assert.deepEqual(r.decisions.erased, [{ name: '/input/password', count: want.erased }]);
    assert.equal(r.decisions.erased_decisions, want.erased);
    const s = r.streams[0];
    assert.equal(r.streams.length, 1);
    assert.equal(s.result, 'OK');
    assert.equal(s.decisions, N);
    assert.equal(s.entries, N + 1);
    assert.equal(s.gap_records.count, 1);
    const gap = s.gap_records.listed[0];
    assert.deepEqual([gap.reason, gap.source, gap.length], ['line_too_long', log, Buffer.byteLength(long)]);
    assert.equal(gap.offset, Buffer.byteLength([...lines.slice(0, 70), otherLine(1)].join('\n') + '\n'));
    assert.deepEqual(
      s.keys.map((k: any) => k.name),
      ['tailseal.test/it'],
    );
    assert.ok(s.checkpoints_checked >= 1);
    assert.match(s.newest_checkpoint, /^tailseal\.test\/it\/\S+\n151\n/);
    const hours = r.decisions.per_hour;
    assert.equal(
      hours.reduce((n: number, h: any) => n + h.count, 0),
      N,
    );
    // A range after the run counts nothing, but still verifies everything.
    const none = cli(
      ['report', '--store', ws.storeDir, '--public-key', ws.pubFile, '--format', 'json', '--since'].concat([
        String(Date.now() + 3_600_000),
      ]),
    );
    assert.equal(none.status, 0, none.stderr);
    assert.deepEqual([JSON.parse(none.stdout).decisions.total, JSON.parse(none.stdout).streams[0].entries], [0, N + 1]);
    const md = cli(['report', '--store', ws.storeDir, '--public-key', ws.pubFile, '--format', 'md']);
    assert.equal(md.status, 0, md.stderr);
    assert.match(md.stdout, /http\\\/example\\\/authz\\\/&lt;admin&gt;/);

    // The page in headless Chromium: only its file loads, its numbers are the JSON form's.
    const page = readFileSync(html, 'utf8');
    assert.doesNotMatch(page, /<admin>|<b>/);
    if (CHROMIUM_BIN === undefined) t.diagnostic(NO_CHROMIUM);
    else {
      const browser = await launchChromium();
      try {
        const p = await browser.newPage();
        const requests: string[] = [];
        p.on('request', (req) => requests.push(req.url()));
        const url = pathToFileURL(html).href;
        await p.goto(url);
        assert.deepEqual(requests, [url]);
        const field = async (f: string) =>
          Number((await p.locator(`[data-field="${f}"]`).first().textContent())!.replace(/,/g, ''));
        assert.equal(await field('decisions.total'), r.decisions.total);
        for (const k of ['allow', 'deny', 'other', 'none'])
          assert.equal(await field(`decisions.by_result.${k}`), r.decisions.by_result[k], k);
        for (const [i, c] of r.decisions.by_path.entries())
          assert.equal(await field(`decisions.by_path.${i}.count`), c.count);
        for (const [i, c] of r.decisions.revisions.entries())
          assert.equal(await field(`decisions.revisions.${i}.count`), c.count);
        assert.equal(await field('streams.0.decisions'), s.decisions);
        assert.equal(await field('streams.0.gap_records.count'), 1);
        assert.equal(await field('streams.0.checkpoints_checked'), s.checkpoints_checked);
        assert.equal(await p.locator('[data-field="streams.0.result"]').textContent(), 'OK');
        assert.ok((await p.locator('text=http/example/authz/<admin>').count()) >= 1, 'the hostile path shown as text');
        assert.equal(await p.locator('svg#chart rect.bar').count(), hours.length);
        const bars = await p
          .locator('svg#chart rect.bar')
          .evaluateAll((els) => els.map((e) => e.getAttribute('data-count')));
        assert.deepEqual(
          bars.map(Number),
          hours.map((h: any) => h.count),
        );
        const shot = join(ws.root, 'report.png');
        await p.screenshot({ path: shot, fullPage: true });
        const png = readFileSync(shot);
        assert.ok(statSync(shot).size > 1000);
        assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
        assert.deepEqual(requests, [url]);
      } finally {
        await browser.close();
      }
    }

    // Usage: a time that is neither form, a bad format: exit 2 naming the fix.
    const bad = cli(['report', '--store', ws.storeDir, '--public-key', ws.pubFile, '--since', 'yesterday']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /USAGE: --since "yesterday" is not a time: give RFC 3339 .* or Unix milliseconds/);
    const fmt = cli(['report', '--store', ws.storeDir, '--public-key', ws.pubFile, '--format', 'pdf']);
    assert.equal(fmt.status, 2);
    const quiet = cli(['report', '--store', ws.storeDir, '--public-key', ws.pubFile, '--max-silence', 'a while']);
    assert.equal(quiet.status, 2);
    assert.match(quiet.stderr, /USAGE: --max-silence "a while" is not a duration \(e\.g\. 2m, 90s\)/);

    // One altered byte in a stored decision: exit 1, the report is written and names the break.
    const dir = join(ws.storeDir, readdirSync(ws.storeDir)[0]!);
    const object = readdirSync(dir, { recursive: true, encoding: 'utf8' }).find((f) => f.endsWith('.ndjson'))!;
    const file = join(dir, object);
    const text = readFileSync(file, 'utf8');
    const at = text.indexOf('decision_id');
    writeFileSync(file, text.slice(0, at) + 'D' + text.slice(at + 1));
    const out = join(ws.root, 'broken.html');
    const broken = cli([
      'report',
      '--store',
      ws.storeDir,
      '--public-key',
      ws.pubFile,
      '--format',
      'html',
      '--out',
      out,
    ]);
    assert.equal(broken.status, 1, broken.stdout + broken.stderr);
    assert.match(broken.stdout, /^FAIL ENTRY_ALTERED: /);
    assert.match(readFileSync(out, 'utf8'), /data-field="verification.code">ENTRY_ALTERED</);
    const bj = cli(['report', '--store', ws.storeDir, '--public-key', ws.pubFile, '--format', 'json']);
    assert.equal(bj.status, 1);
    const b = JSON.parse(bj.stdout);
    assert.equal(b.verification.code, 'ENTRY_ALTERED');
    assert.equal(b.verification.object, `${readdirSync(ws.storeDir)[0]}/${object}`);
    assert.equal(b.streams[0].result, 'ENTRY_ALTERED');
  });
});
