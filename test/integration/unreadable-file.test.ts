// Issue 15, item 5: one file that cannot be opened (mode 000) among readable ones. Before, the
// discovery pass stopped at the first open error, so the files after it were never read. Now the
// error is that file's own: the others are read; the file is named in the log (once), in
// /readyz, in tailseal_file_errors and in `tailseal status`; once readable it is read.
// Root reads a mode-000 file, so as root the daemon runs as uid 1000 (spawn's uid option).
import assert from 'node:assert/strict';
import { chmodSync, chownSync, readdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { decisionLine, prng } from '../helpers/opa-sample.js';
import {
  cli,
  freePort,
  logsWith,
  makeWorkspace,
  startDaemon,
  stopDaemon,
  storeEntries,
  storedDecisions,
  waitFor,
} from '../helpers/daemon.js';

const UNPRIVILEGED = { uid: 1000, gid: 1000 };
const NOT_READ = "A file matching the input's paths is not read";

async function get(port: number, path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: await res.text() };
}

/** Polls an async condition every 50 ms (bounded). */
async function waitForAsync(cond: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function chownTree(dir: string, uid: number, gid: number): void {
  chownSync(dir, uid, gid);
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) chownTree(p, uid, gid);
    else chownSync(p, uid, gid);
  }
}

describe('an unreadable file among readable ones (issue 15, item 5)', () => {
  it('the other files are read; the file is reported by name and read once it is readable', async () => {
    const port = await freePort();
    const w = makeWorkspace({ extraYaml: `metrics:\n  listen: 127.0.0.1:${port}\n` });
    const rnd = prng(515);
    const [a1, m0Line, z9, zz] = [1, 2, 3, 4].map((i) => decisionLine(i, rnd));
    const lines = { a1: a1!, m0: m0Line!, z9: z9!, zz: zz! };
    const m0 = join(w.opaDir, 'm0.log');
    writeFileSync(join(w.opaDir, 'a1.log'), `${lines.a1}\n`);
    writeFileSync(m0, `${lines.m0}\n`);
    chmodSync(m0, 0o000);
    writeFileSync(join(w.opaDir, 'z9.log'), `${lines.z9}\n`);
    const root = process.getuid?.() === 0;
    if (root) chownTree(w.root, UNPRIVILEGED.uid, UNPRIVILEGED.gid);
    const d = startDaemon(w, {}, root ? UNPRIVILEGED : undefined);
    try {
      await waitFor(() => storedDecisions(w.storeDir).length >= 2, 'a1.log and z9.log read');
      // A file made after start, sorting after the unreadable one.
      writeFileSync(join(w.opaDir, 'zz-new.log'), `${lines.zz}\n`);
      await waitFor(() => storedDecisions(w.storeDir).length >= 3, 'zz-new.log read');
      assert.deepEqual(new Set(storedDecisions(w.storeDir)), new Set([lines.a1, lines.z9, lines.zz]));
      // Before, the open error stopped the whole discovery pass (whichever files came after it).
      assert.deepEqual(
        logsWith(d, 'Reading paused').map((l) => l.err),
        [],
        'the input itself never paused',
      );

      const metric = `tailseal_file_errors{input="opa",path="${m0}",code="FILE_UNREADABLE"} 1`;
      await waitForAsync(async () => (await get(port, '/metrics')).body.includes(metric), 'the metric naming m0.log');
      const ready = await get(port, '/readyz');
      assert.equal(ready.status, 503);
      assert.match(ready.body, /FAIL input opa: 1 file\(s\) not read: .*m0\.log \(FILE_UNREADABLE\)/);
      const status = cli(['status', '--config', w.configFile, '--json']);
      assert.equal(status.status, 0, status.stderr);
      type Unread = { unread_files: { path: string; code: string; input: string }[] };
      const unread = (JSON.parse(status.stdout) as Unread).unread_files;
      assert.deepEqual(
        unread.map((u) => [u.input, u.path, u.code]),
        [['opa', m0, 'FILE_UNREADABLE']],
      );
      const text = cli(['status', '--config', w.configFile]).stdout;
      assert.match(text, /NOT READ file .*m0\.log \(input opa, since .*\) FILE_UNREADABLE: cannot open/);
      // Retried at every poll (50 ms) but logged once.
      const notRead = logsWith(d, NOT_READ).filter((l) => l.path === m0);
      assert.equal(notRead.length, 1, 'one log line for the unreadable file');
      assert.equal(notRead[0]!.code, 'FILE_UNREADABLE');

      // An unreadable file deleted before it could ever be read: a gap record says so.
      const gone = join(w.opaDir, 'gone.log');
      writeFileSync(gone, `${decisionLine(5, rnd)}\n`, { mode: 0o000 });
      await waitFor(() => logsWith(d, NOT_READ).some((l) => l.path === gone), 'gone.log reported');
      unlinkSync(gone);
      const gapOf = (e: { payload: Uint8Array }) =>
        JSON.parse(Buffer.from(e.payload).toString('utf8')) as { reason: string };
      const lost = () => storeEntries(w.storeDir).filter((e) => e.kind === 'gap' && e.source === gone);
      await waitFor(() => lost().length === 1, 'a deleted_unread gap record for gone.log');
      assert.equal(gapOf(lost()[0]!).reason, 'deleted_unread');

      chmodSync(m0, 0o644);
      await waitFor(() => storedDecisions(w.storeDir).includes(lines.m0), 'm0.log read once readable');
      await waitForAsync(async () => (await get(port, '/readyz')).status === 200, '/readyz ok again');
      assert.ok(!(await get(port, '/metrics')).body.includes('tailseal_file_errors{'), 'no file error left');
      const statusJson = () => cli(['status', '--config', w.configFile, '--json']).stdout;
      const unreadNow = () => (JSON.parse(statusJson()) as Unread).unread_files;
      await waitFor(() => unreadNow().length === 0, 'status no longer lists m0.log');
    } finally {
      assert.equal(await stopDaemon(d), 0);
    }
    assert.equal(storedDecisions(w.storeDir).length, 4);
    w.cleanup();
  });
});
