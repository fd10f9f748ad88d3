// Many matching files, few active: the input holds at most max_open_files descriptors (idle
// files are closed and reopened when they change), and every line is still read exactly once.
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { makeWorkspace, startDaemon, stopDaemon, storedDecisions, verifyStore, waitFor } from '../helpers/daemon.js';
import { decisionLine, prng } from '../helpers/opa-sample.js';

/** Descriptors of the process that are open files under `dir`. */
function openUnder(pid: number, dir: string): number {
  let n = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith(dir)) n++;
    } catch {
      // closed meanwhile
    }
  }
  return n;
}

describe('many files', () => {
  it('200 files with max_open_files 20: never more than 20 open, every line once', async () => {
    const w = makeWorkspace();
    writeFileSync(
      w.configFile,
      readFileSync(w.configFile, 'utf8').replace(
        '    poll_interval: 50ms\n',
        '    poll_interval: 50ms\n    max_open_files: 20\n    scan_interval: 200ms\n',
      ),
    );
    const rnd = prng(51);
    let n = 0;
    const written: string[] = [];
    const add = (file: string) => {
      const l = decisionLine(n++, rnd);
      written.push(l);
      appendFileSync(join(w.opaDir, file), `${l}\n`);
    };
    for (let i = 0; i < 200; i++) add(`f${i}.log`);
    const d = startDaemon(w);
    let peak = 0;
    const sampler = setInterval(() => {
      try {
        peak = Math.max(peak, openUnder(d.child.pid!, w.opaDir));
      } catch {
        // the process is gone
      }
    }, 20);
    try {
      await waitFor(() => storedDecisions(w.storeDir).length === 200, 'one line from each of 200 files', 60_000).catch(
        (err: Error) => {
          // Say how far it got and what the daemon complained about (a rare failure seen once).
          throw new Error(
            `${err.message}: have ${storedDecisions(w.storeDir).length}; warnings: ${d.logs
              .filter((l) => /"level":[45]0/.test(l))
              .slice(-3)
              .join(' | ')}`,
          );
        },
      );
      // A few of them (most now closed) get more lines: they are reopened where they stopped.
      for (const i of [3, 57, 111, 199, 3]) add(`f${i}.log`);
      await waitFor(() => storedDecisions(w.storeDir).length === 205, 'the 5 new lines', 30_000);
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      clearInterval(sampler);
      assert.equal(await stopDaemon(d), 0);
    }
    assert.ok(peak <= 20, `at most 20 files open at once (saw ${peak})`);
    assert.ok(peak > 0, 'the sampler saw open files');
    const stored = storedDecisions(w.storeDir);
    assert.equal(stored.length, written.length);
    assert.deepEqual([...stored].sort(), [...written].sort());
    assert.equal(verifyStore(w).status, 0);
    w.cleanup();
  });
});
