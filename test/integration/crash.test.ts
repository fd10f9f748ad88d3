// kill -9 at random points while OPA keeps writing and files rotate: after restarts the trail
// verifies and holds every decision line exactly once.
import assert from 'node:assert/strict';
import { appendFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  type DaemonProc,
  type Workspace,
  killDaemon,
  makeWorkspace,
  startDaemon,
  stopDaemon,
  storeEntries,
  storedDecisions,
  verifyStore,
  waitFor,
} from '../helpers/daemon.js';
import { decisionLine, otherLine, prng } from '../helpers/opa-sample.js';

const ROUNDS = 8;

describe('crash safety', () => {
  let w: Workspace;
  let d: DaemonProc | undefined;
  after(() => {
    d?.child.kill('SIGKILL');
    w?.cleanup();
  });

  it(`kill -9 at ${ROUNDS} random points, with rotations, loses and duplicates nothing`, async () => {
    w = makeWorkspace({ glob: '*.log*' });
    const rnd = prng(Number(process.env.TAILSEAL_CRASH_SEED ?? 4242));
    const log = join(w.opaDir, 'opa.log');
    const written: string[] = [];
    let i = 0;
    const writeBurst = () => {
      const ls: string[] = [];
      const count = 20 + Math.floor(rnd() * 200);
      for (let k = 0; k < count; k++, i++) {
        const line = decisionLine(i, rnd);
        written.push(line);
        ls.push(otherLine(i), line);
      }
      appendFileSync(log, ls.join('\n') + '\n');
    };
    let rotations = 0;
    for (let round = 0; round < ROUNDS; round++) {
      d = startDaemon(w);
      // Write while the daemon runs, then kill it without warning at a random moment.
      const lifetime = 150 + Math.floor(rnd() * 600);
      const until = Date.now() + lifetime;
      while (Date.now() < until) {
        writeBurst();
        // Rotate by rename now and then (always in rounds 2 and 5), mid-write.
        if (rnd() < 0.05 || ((round === 2 || round === 5) && rotations < round)) {
          renameSync(log, join(w.opaDir, `opa.log.${++rotations}`));
        }
        await new Promise((r) => setTimeout(r, 10 + Math.floor(rnd() * 40)));
      }
      await killDaemon(d);
      // Sometimes more lines arrive while tailseal is down.
      if (rnd() < 0.5) writeBurst();
    }
    d = startDaemon(w);
    await waitFor(
      () => storedDecisions(w.storeDir).length >= written.length,
      `${written.length} decisions in the store`,
      60_000,
    );
    assert.equal(await stopDaemon(d), 0);
    d = undefined;

    const stored = storedDecisions(w.storeDir);
    assert.equal(stored.length, written.length, 'entries in the store = decision lines written');
    const ids = stored.map((l) => (JSON.parse(l) as { decision_id: string }).decision_id);
    assert.equal(new Set(ids).size, ids.length, 'no decision sealed twice');
    assert.deepEqual([...stored].sort(), [...written].sort(), 'every written decision, byte for byte');
    const seqs = storeEntries(w.storeDir).map((e) => e.seq);
    assert.deepEqual(
      seqs,
      seqs.map((_, k) => k),
      'one gap-free chain',
    );
    const v = verifyStore(w);
    assert.equal(v.status, 0, v.stdout + v.stderr);
  });
});
