// The console wiring with a real OPA 1.8.0: OPA's stderr appended to a file that a file input
// tails (docs/operations.md "Feeding OPA's decisions to tailseal"). Decisions are asked through OPA's REST
// API and their decision_ids kept from the answers; tailseal is killed with SIGKILL while OPA
// writes, and OPA is restarted. Every decision_id OPA issued is sealed exactly once, as OPA's
// mask policy left it, and the persisted counters account for every line of the file.
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  killDaemon,
  logsWith,
  makeWorkspace,
  startDaemon,
  stopDaemon,
  storedDecisions,
  verifyStore,
  waitFor,
} from '../helpers/daemon.js';
import { NO_OPA, OPA_BIN, askInput, decideMany, startOpa, stopOpa } from '../helpers/real-opa.js';
import { assertSealedOnce, statusCounters } from '../helpers/real-opa-checks.js';

const CONSOLE_CONFIG = 'decision_logs:\n  console: true\n';

describe('real OPA, console route (stderr file tailed by a file input)', () => {
  const title = 'every issued decision_id sealed once and masked, across kill -9 of tailseal and an OPA restart';
  it(title, { timeout: 90_000 }, async (t) => {
    if (!OPA_BIN) return t.skip(NO_OPA);
    const w = makeWorkspace();
    const log = join(w.opaDir, 'opa.log');
    const opaDir = join(w.root, 'opa-run');
    let d = startDaemon(w);
    let opa = await startOpa(opaDir, CONSOLE_CONFIG, { stderrFile: log });
    try {
      await waitFor(() => logsWith(d, 'tailseal running.').length === 1, 'tailseal running');
      let killed = false;
      const ids = await decideMany(opa, 0, 400, askInput, {
        // Midway, tailseal dies without a chance to clean up and starts again; OPA keeps writing.
        during: async (done) => {
          if (done < 150 || killed) return;
          killed = true;
          await killDaemon(d);
          d = startDaemon(w);
        },
      });
      await stopOpa(opa);
      opa = await startOpa(opaDir, CONSOLE_CONFIG, { stderrFile: log });
      for (const [id, i] of await decideMany(opa, 400, 400, askInput)) ids.set(id, i);
      await stopOpa(opa);
      assert.equal(ids.size, 800);
      await waitFor(() => storedDecisions(w.storeDir).length >= ids.size, 'every decision in the store', 40_000);
      assert.equal(await stopDaemon(d), 0, d.logs.slice(-20).join('\n'));

      const events = storedDecisions(w.storeDir).map((p) => JSON.parse(p) as Record<string, any>);
      assertSealedOnce(events, ids);
      for (const e of events) assert.equal(e.type, 'openpolicyagent.org/decision_logs', 'only decision lines');
      assert.equal(verifyStore(w).status, 0);
      // Counters persist with the offsets: exact across the kill. Every line OPA wrote is read
      // once: decisions are sealed, its other lines (start-up, requests) skipped.
      const lines = readFileSync(log, 'utf8')
        .split('\n')
        .filter((l) => l !== '');
      const c = statusCounters(w.configFile);
      assert.equal(c.decisions, 800, JSON.stringify(c));
      assert.equal(c.lines_read, lines.length, JSON.stringify(c));
      assert.equal(c.bytes_read, statSync(log).size, JSON.stringify(c));
      const skipped = Object.entries(c)
        .filter(([k]) => k.startsWith('skipped_'))
        .reduce((n, [, v]) => n + v, 0);
      assert.equal(skipped, lines.length - 800, JSON.stringify(c));
      assert.deepEqual(
        Object.keys(c).filter((k) => k.startsWith('gap_')),
        [],
        'no gap: nothing was lost',
      );
    } finally {
      await stopOpa(opa, 'SIGKILL');
      if (d.child.exitCode === null) await killDaemon(d);
      w.cleanup();
    }
  });
});
