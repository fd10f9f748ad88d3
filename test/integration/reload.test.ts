// SIGHUP reloads the config (issue 8 case 16, issue 9): inputs and sinks added, removed or
// changed without losing state; an invalid config is refused and the old one keeps running;
// files an input no longer covers are finished or dropped (with a gap record) as configured.
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  type DaemonProc,
  type Workspace,
  cli,
  freePort,
  logsWith,
  makeWorkspace,
  startDaemon,
  stopDaemon,
  storeEntries,
  storedDecisions,
  verifyStore,
  waitFor,
} from '../helpers/daemon.js';
import { decisionLine, prng } from '../helpers/opa-sample.js';

function lines(from: number, n: number, seed: number): string[] {
  const rnd = prng(seed);
  return Array.from({ length: n }, (_, i) => decisionLine(from + i, rnd));
}
const text = (ls: string[]) => ls.map((l) => `${l}\n`).join('');

/** Rewrites the config with `edit`, sends SIGHUP, and waits for the outcome's log line. */
async function reload(
  w: Workspace,
  d: DaemonProc,
  edit: (yaml: string) => string,
  outcome: string,
): Promise<Record<string, unknown>> {
  const before = logsWith(d, outcome).length;
  writeFileSync(w.configFile, edit(readFileSync(w.configFile, 'utf8')));
  d.child.kill('SIGHUP');
  await waitFor(() => logsWith(d, outcome).length > before, `"${outcome}" after SIGHUP`);
  return logsWith(d, outcome).at(-1)!;
}

describe('config reload (SIGHUP)', () => {
  it('an invalid config, or one changing what needs a restart, is refused and the running one keeps sealing', async () => {
    const w = makeWorkspace();
    const log = join(w.opaDir, 'opa.log');
    writeFileSync(log, text(lines(0, 5, 1)));
    const d = startDaemon(w);
    try {
      await waitFor(() => storedDecisions(w.storeDir).length === 5, '5 decisions');
      const good = readFileSync(w.configFile, 'utf8');
      const bad = await reload(w, d, (y) => y.replace('poll_interval: 50ms', 'poll_intervall: 50ms'), 'Reload refused');
      assert.equal(bad.code, 'CONFIG_INVALID');
      assert.match(String(bad.err), /inputs\[0\]\.poll_intervall: unknown key/);
      const fixed = await reload(
        w,
        d,
        () => good.replace('origin: tailseal.test/it', 'origin: tailseal.test/other'),
        'Reload failed',
      );
      assert.match(String(fixed.err), /origin: cannot change on reload/);
      appendFileSync(log, text(lines(10, 5, 2)));
      await waitFor(() => storedDecisions(w.storeDir).length === 10, 'still sealing after the refusals');
      writeFileSync(w.configFile, good);
    } finally {
      assert.equal(await stopDaemon(d), 0);
    }
    assert.equal(verifyStore(w).status, 0);
    w.cleanup();
  });

  it('an input that cannot start on reload (port taken) is reported by the reload and /readyz, and started by the next reload', async () => {
    const metricsPort = await freePort();
    const upPort = await freePort();
    const w = makeWorkspace({ extraYaml: `metrics:\n  listen: 127.0.0.1:${metricsPort}\n` });
    writeFileSync(join(w.opaDir, 'opa.log'), text(lines(0, 3, 30)));
    const blocker = createServer();
    await new Promise<void>((res) => blocker.listen(upPort, '127.0.0.1', () => res()));
    const d = startDaemon(w);
    const up = `  - name: up\n    type: opa_service\n    listen: 127.0.0.1:${upPort}\n`;
    const readyz = async () => (await fetch(`http://127.0.0.1:${metricsPort}/readyz`)).text();
    try {
      await waitFor(() => storedDecisions(w.storeDir).length === 3, '3 decisions');
      const failed = await reload(w, d, (y) => y.replace('checkpoint:\n', `${up}checkpoint:\n`), 'Reload failed');
      assert.match(String(failed.err), /input up: .*EADDRINUSE/);
      assert.match(await readyz(), /^FAIL input up: not running: .*EADDRINUSE/m);
      // Taken out of the file while it cannot start: /readyz forgets it. Put back: it fails again.
      await reload(w, d, (y) => y.replace(up, ''), 'Config reloaded.');
      assert.doesNotMatch(await readyz(), /input up/);
      await reload(w, d, (y) => y.replace('checkpoint:\n', `${up}checkpoint:\n`), 'Reload failed');
      assert.match(await readyz(), /^FAIL input up: not running: .*EADDRINUSE/m);
      await new Promise((r) => blocker.close(r));
      const done = await reload(w, d, (y) => y, 'Config reloaded.');
      assert.deepEqual(done.inputs, { added: ['up'], removed: [], changed: [] }, 'the same config again starts it');
      assert.match(await readyz(), /^ok input up$/m);
    } finally {
      blocker.close();
      assert.equal(await stopDaemon(d), 0);
    }
    w.cleanup();
  });

  // Issue 16 item 17a: the new metrics listener used to be started after inputs were released;
  // a taken port then left the changed input stopped (and no listener at all) until a restart.
  it('a reload whose new metrics port is taken fails before anything changed: the input keeps reading', async () => {
    const metricsPort = await freePort();
    const taken = await freePort();
    const w = makeWorkspace({ extraYaml: `metrics:\n  listen: 127.0.0.1:${metricsPort}\n` });
    const log = join(w.opaDir, 'opa.log');
    writeFileSync(log, text(lines(0, 3, 40)));
    const blocker = createServer();
    await new Promise<void>((res) => blocker.listen(taken, '127.0.0.1', () => res()));
    const d = startDaemon(w);
    const readyz = async () => (await fetch(`http://127.0.0.1:${metricsPort}/readyz`)).text();
    try {
      await waitFor(() => storedDecisions(w.storeDir).length === 3, '3 decisions');
      const edit = (y: string) =>
        y
          .replace('poll_interval: 50ms', 'poll_interval: 60ms')
          .replace(`listen: 127.0.0.1:${metricsPort}`, `listen: 127.0.0.1:${taken}`);
      const failed = await reload(w, d, edit, 'Reload failed');
      assert.equal(failed.code, 'CONFIG_INVALID');
      assert.match(String(failed.err), new RegExp(`metrics: cannot listen on 127\\.0\\.0\\.1:${taken}: EADDRINUSE`));
      assert.match(await readyz(), /^ok input opa$/m, 'the old listener still answers');
      appendFileSync(log, text(lines(10, 4, 41)));
      await waitFor(() => storedDecisions(w.storeDir).length === 7, 'the input still reads after the refused reload');
    } finally {
      blocker.close();
      assert.equal(await stopDaemon(d), 0);
    }
    w.cleanup();
  });

  // Issue 16 item 17b: a mistyped signing.verify_keys path was only found by the audit (every one failing).
  it('a signing.verify_keys file that cannot be read refuses the reload, naming the key and the file', async () => {
    const w = makeWorkspace();
    writeFileSync(join(w.opaDir, 'opa.log'), text(lines(0, 2, 42)));
    const d = startDaemon(w);
    try {
      await waitFor(() => storedDecisions(w.storeDir).length === 2, '2 decisions');
      const typo = join(w.root, 'keys', 'old-signer.kye.pub');
      const withTypo = (y: string) => y.replace('signing:\n', `signing:\n  verify_keys: [${typo}]\n`);
      const bad = await reload(w, d, withTypo, 'Reload refused');
      assert.equal(bad.code, 'KEY_INVALID');
      assert.match(String(bad.err), new RegExp(`^signing\\.verify_keys: public key ${typo} cannot be read: .*ENOENT`));
    } finally {
      assert.equal(await stopDaemon(d), 0);
    }
    w.cleanup();
  });

  it('sinks added and removed: the new one receives from then on, the outbox keeps no object for the removed one', async () => {
    const w = makeWorkspace();
    const store2 = join(w.root, 'store2');
    const log = join(w.opaDir, 'opa.log');
    writeFileSync(log, text(lines(0, 10, 3)));
    const d = startDaemon(w);
    const second = `  - name: second\n    type: file\n    dir: ${store2}\n`;
    try {
      await waitFor(() => storedDecisions(w.storeDir).length === 10, '10 decisions');
      const done = await reload(w, d, (y) => y.replace('sinks:\n', `sinks:\n${second}`), 'Config reloaded.');
      assert.deepEqual(done.sinks, { added: ['second'], removed: [], changed: [] });
      const next = lines(20, 10, 4);
      appendFileSync(log, text(next));
      // The added sink gets every object sealed from then on, and also any object still waiting in the
      // outbox when it was added (one the other sink had taken but that was not pruned yet): never less.
      const hasNext = () => next.every((l) => storedDecisions(store2).includes(l));
      await waitFor(() => storedDecisions(w.storeDir).length === 20 && hasNext(), 'both sinks get the next 10');
      const removed = await reload(w, d, (y) => y.replace(second, ''), 'Config reloaded.');
      assert.deepEqual(removed.sinks, { added: [], removed: ['second'], changed: [] });
      // The reload returns once the removed sink's shipper has stopped: what it holds now is final.
      const kept = storedDecisions(store2).length;
      assert.ok(kept === 10 || kept === 20, `the added sink got the next 10 (and perhaps the first 10): ${kept}`);
      appendFileSync(log, text(lines(40, 10, 5)));
      await waitFor(() => storedDecisions(w.storeDir).length === 30, 'the remaining sink gets the last 10');
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(storedDecisions(store2).length, kept, 'nothing more for the removed sink');
    } finally {
      assert.equal(await stopDaemon(d), 0);
    }
    assert.match(
      d.logs.filter((l) => l.includes('tailseal stopped')).join(''),
      /outbox drained/,
      'the removed sink holds nothing back',
    );
    assert.equal(verifyStore(w).status, 0);
    w.cleanup();
  });

  for (const unmatched of ['finish', 'drop'] as const) {
    it(`a narrowed glob (unmatched: ${unmatched}): the file it no longer covers is ${unmatched === 'finish' ? 'read to its end' : 'closed with a gap record for its unread bytes'}; an added input starts`, async () => {
      const w = makeWorkspace();
      const a = join(w.opaDir, 'a.log');
      const b = join(w.opaDir, 'b.log');
      writeFileSync(a, text(lines(0, 5, 6)));
      writeFileSync(b, text(lines(100, 5, 7)));
      // Until the reload, appends are seen only by a poll every 10 s: the burst below is surely
      // unread when the reload comes, so what `unmatched` does with it is what the test sees.
      writeFileSync(
        w.configFile,
        readFileSync(w.configFile, 'utf8').replace(
          '    poll_interval: 50ms',
          `    poll_interval: 10s\n    watch: false\n    unmatched: ${unmatched}`,
        ),
      );
      const d = startDaemon(w);
      const bLines = [...lines(100, 5, 7)];
      try {
        await waitFor(() => storedDecisions(w.storeDir).length === 10, '10 decisions');
        // Appended to b.log before the reload, not read yet (no file events, next poll in 10 s).
        const burst = lines(200, 300, 8);
        bLines.push(...burst);
        appendFileSync(b, text(burst));
        const extraDir = join(w.root, 'extra');
        mkdirSync(extraDir);
        writeFileSync(join(extraDir, 'x.log'), text(lines(900, 4, 9)));
        const done = await reload(
          w,
          d,
          (y) =>
            y
              .replace(`paths: ["${join(w.opaDir, '*.log')}"]`, `paths: ["${a}"]`)
              .replace('poll_interval: 10s\n    watch: false', 'poll_interval: 50ms')
              .replace(
                'checkpoint:\n',
                `  - name: extra\n    type: file\n    paths: ["${join(extraDir, '*.log')}"]\n    poll_interval: ` +
                  `50ms\ncheckpoint:\n`,
              ),
          'Config reloaded.',
        );
        assert.deepEqual(done.inputs, { added: ['extra'], removed: [], changed: ['opa'] });
        // b.log is out of scope now: what is written to it from here on is not read.
        appendFileSync(b, text(lines(5000, 5, 10)));
        appendFileSync(a, text(lines(6000, 5, 11)));
        await waitFor(() => lines(900, 4, 9).every((l) => storedDecisions(w.storeDir).includes(l)), 'the added input');
        await waitFor(
          () => lines(6000, 5, 11).every((l) => storedDecisions(w.storeDir).includes(l)),
          'a.log still read',
        );
      } finally {
        assert.equal(await stopDaemon(d), 0);
      }
      const stored = new Set(storedDecisions(w.storeDir));
      assert.equal(stored.size, storedDecisions(w.storeDir).length, 'nothing twice');
      assert.ok(
        lines(5000, 5, 10).every((l) => !stored.has(l)),
        'b.log is not read after it went out of scope',
      );
      const gaps = storeEntries(w.storeDir)
        .filter((e) => e.kind === 'gap' && e.source === b)
        .map((e) => ({
          offset: e.offset,
          ...(JSON.parse(Buffer.from(e.payload).toString()) as { reason: string; length: number }),
        }));
      // Every line of b.log written before the reload is sealed, or (drop) covered by the gap.
      let pos = 0;
      for (const l of bLines) {
        const covered = gaps.some((g) => g.reason === 'out_of_scope' && g.offset <= pos && pos < g.offset + g.length);
        assert.ok(
          stored.has(l) !== covered,
          `b.log line at ${pos}: sealed xor covered by the gap (sealed ${stored.has(l)}, covered ${covered})`,
        );
        pos += Buffer.byteLength(l) + 1;
      }
      const burst = lines(200, 300, 8);
      // `tailseal status` lists the files being read; b.log is finished now, so only counted.
      const status = JSON.parse(cli(['status', '--config', w.configFile, '--json']).stdout) as {
        files: { path: string }[];
        finished_files: number;
      };
      assert.deepEqual(status.files.map((f) => f.path).sort(), [a, join(w.root, 'extra', 'x.log')].sort());
      assert.equal(status.finished_files, 1);
      if (unmatched === 'finish') {
        assert.equal(gaps.length, 0, 'finish reads to the end: no gap');
        assert.ok(
          burst.every((l) => stored.has(l)),
          'the lines written before the reload are read',
        );
      } else {
        assert.equal(gaps.length, 1, 'one gap record for the unread bytes');
        assert.equal(gaps[0]!.length, Buffer.byteLength(text(burst)), 'exactly the unread burst');
        assert.ok(burst.every((l) => !stored.has(l)));
      }
      assert.ok(
        lines(900, 4, 9).every((l) => stored.has(l)),
        'the added input read its file',
      );
      assert.equal(verifyStore(w).status, 0);
      w.cleanup();
    });
  }
});

describe('config changed while tailseal was stopped', () => {
  for (const unmatched of ['finish', 'drop'] as const) {
    it(`a file the new glob no longer matches is ${unmatched === 'finish' ? 'read to its end' : 'closed with an out_of_scope gap record'} at start (unmatched: ${unmatched})`, async () => {
      const w = makeWorkspace();
      const a = join(w.opaDir, 'a.log');
      const b = join(w.opaDir, 'b.log');
      writeFileSync(a, text(lines(0, 4, 21)));
      writeFileSync(b, text(lines(100, 4, 22)));
      writeFileSync(
        w.configFile,
        readFileSync(w.configFile, 'utf8').replace(
          '    poll_interval: 50ms',
          `    poll_interval: 50ms\n    unmatched: ${unmatched}`,
        ),
      );
      let d = startDaemon(w);
      try {
        await waitFor(() => storedDecisions(w.storeDir).length === 8, '8 decisions');
      } finally {
        assert.equal(await stopDaemon(d), 0);
      }
      // While stopped: b.log grows, and the glob is narrowed to a.log.
      const unread = lines(200, 6, 23);
      appendFileSync(b, text(unread));
      writeFileSync(
        w.configFile,
        readFileSync(w.configFile, 'utf8').replace(`paths: ["${join(w.opaDir, '*.log')}"]`, `paths: ["${a}"]`),
      );
      d = startDaemon(w);
      try {
        if (unmatched === 'finish') {
          await waitFor(
            () => unread.every((l) => storedDecisions(w.storeDir).includes(l)),
            'the lines b.log got while stopped',
          );
          // Read to its end and quiet for rotate_wait: finished for good.
          await waitFor(() => logsWith(d, 'Finished rotated file.').some((l) => l.path === b), 'b.log finished');
        } else
          await waitFor(
            () => storeEntries(w.storeDir).some((e) => e.kind === 'gap' && e.source === b),
            'the gap record for b.log',
          );
        await waitFor(() => logsWith(d, 'File no longer matches the input').length === 1, 'the log line');
      } finally {
        assert.equal(await stopDaemon(d), 0);
      }
      const stored = storedDecisions(w.storeDir);
      assert.equal(new Set(stored).size, stored.length, 'nothing twice');
      const gaps = storeEntries(w.storeDir)
        .filter((e) => e.kind === 'gap')
        .map((e) => ({
          source: e.source,
          offset: e.offset,
          ...(JSON.parse(Buffer.from(e.payload).toString()) as { reason: string; length: number }),
        }));
      if (unmatched === 'finish') assert.deepEqual(gaps, []);
      else {
        assert.deepEqual(
          gaps.map((g) => [g.source, g.reason, g.offset, g.length]),
          [[b, 'out_of_scope', Buffer.byteLength(text(lines(100, 4, 22))), Buffer.byteLength(text(unread))]],
        );
        assert.ok(unread.every((l) => !stored.includes(l)));
      }
      // Settled once: a further start reports nothing more.
      d = startDaemon(w);
      try {
        await waitFor(() => logsWith(d, 'tailseal running.').length > 0, 'the third start');
        await new Promise((r) => setTimeout(r, 500));
        assert.equal(logsWith(d, 'File no longer matches the input').length, 0);
      } finally {
        assert.equal(await stopDaemon(d), 0);
      }
      assert.equal(verifyStore(w).status, 0);
      w.cleanup();
    });
  }
});
