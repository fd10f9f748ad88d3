// The upload wiring with a real OPA 1.8.0: OPA's decision_logs.service posting to an opa_service
// input (docs/operations.md "Feeding OPA's decisions to tailseal"), OPA's mask policy and tailseal's own mask
// rules on. tailseal is killed with SIGKILL at a moment of the test's choosing and once right
// after committing an upload before answering it (OPA then re-sends a chunk already sealed),
// and OPA is restarted (SIGTERM: it uploads what it holds first). Every decision_id OPA issued
// is sealed exactly once (or, dropped by a rule, leaves exactly one tombstone); counters exact.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  type DaemonProc,
  freePort,
  killDaemon,
  makeWorkspace,
  receiversListening,
  startDaemon,
  stopDaemon,
  storeEntries,
  verifyStore,
  waitFor,
} from '../helpers/daemon.js';
import { NO_OPA, OPA_BIN, askInput, decideMany, startOpa, stopOpa } from '../helpers/real-opa.js';
import { assertSealedOnce, statusCounters } from '../helpers/real-opa-checks.js';

const TOKEN = 'real-opa-upload-4b1d9e0c7a2f';

function inputYaml(port: number): string {
  // POSTs (askInput: every third decision) are dropped with a tombstone; the rest get a field.
  return `  - name: upload
    type: opa_service
    listen: 127.0.0.1:${port}
    token: ${TOKEN}
    mask:
      rules:
        - { drop: /input/method, equals: "POST" }
        - { upsert: /input/tenant, value: "t1" }`;
}

function opaConfig(port: number): string {
  return `services:
  tailseal:
    url: http://127.0.0.1:${port}
    credentials: { bearer: { token: "${TOKEN}" } }
decision_logs:
  service: tailseal
  reporting: { min_delay_seconds: 1, max_delay_seconds: 2 }
`;
}

interface Sealed {
  decisions: Record<string, any>[];
  tombstones: Record<string, any>[];
}

function sealed(storeDir: string): Sealed {
  const entries = storeEntries(storeDir).filter((e) => e.stream === 'upload');
  const parse = (p: Uint8Array) => JSON.parse(Buffer.from(p).toString('utf8')) as Record<string, any>;
  return {
    decisions: entries.filter((e) => e.kind === 'decision').map((e) => parse(e.payload)),
    tombstones: entries
      .filter((e) => e.kind === 'gap')
      .map((e) => parse(e.payload))
      .filter((g) => g.reason === 'dropped'),
  };
}

describe('real OPA, upload route (decision_logs.service -> opa_service)', () => {
  const title = 'each issued decision_id sealed once, masked: kill -9 in uploads, a retried chunk, OPA restarted';
  it(title, { timeout: 90_000 }, async (t) => {
    if (!OPA_BIN) return t.skip(NO_OPA);
    const port = await freePort();
    const w = makeWorkspace({ inputsYaml: inputYaml(port) });
    const opaDir = join(w.root, 'opa-run');
    const procs: DaemonProc[] = [];
    const daemon = (env: NodeJS.ProcessEnv = {}) => (procs.push(startDaemon(w, env)), procs.at(-1)!);
    let d = daemon();
    await receiversListening(d);
    let opa = await startOpa(opaDir, opaConfig(port));
    try {
      let killed = false;
      const ids = await decideMany(opa, 0, 300, askInput, {
        during: async (done) => {
          if (done < 100 || killed) return;
          killed = true;
          await killDaemon(d);
          // This one kills itself right after committing its first upload, before answering.
          d = daemon({ TAILSEAL_FAULT: 'kill-after-commit' });
        },
      });
      await waitFor(() => d.child.exitCode !== null || d.child.signalCode !== null, 'the kill after a commit', 30_000);
      d = daemon();
      await receiversListening(d);
      for (const [id, i] of await decideMany(opa, 300, 200, askInput)) ids.set(id, i);
      await stopOpa(opa); // uploads what it holds before exiting
      opa = await startOpa(opaDir, opaConfig(port));
      for (const [id, i] of await decideMany(opa, 500, 200, askInput)) ids.set(id, i);
      await stopOpa(opa);
      assert.equal(ids.size, 700);

      const posts = new Map([...ids].filter(([, i]) => i % 3 === 0));
      const gets = new Map([...ids].filter(([, i]) => i % 3 !== 0));
      await waitFor(
        () => {
          const s = sealed(w.storeDir);
          return s.decisions.length + s.tombstones.length >= ids.size;
        },
        'every decision in the store',
        40_000,
      );
      assert.equal(await stopDaemon(d), 0, d.logs.slice(-20).join('\n'));

      const s = sealed(w.storeDir);
      assertSealedOnce(s.decisions, gets);
      for (const e of s.decisions) assert.equal(e.input.tenant, 't1', "tailseal's upsert rule");
      const dropped = s.tombstones.map((g) => g.decision_id as string).sort();
      assert.deepEqual(dropped, [...posts.keys()].sort(), 'one tombstone per dropped decision');
      assert.equal(verifyStore(w).status, 0);
      const c = statusCounters(w.configFile);
      const counts = JSON.stringify(c);
      assert.ok((c.decisions_duplicate ?? 0) >= 1, `OPA re-sent the chunk committed before the kill: ${counts}`);
      assert.equal(c.decisions, gets.size, counts);
      assert.equal(c.decisions_dropped, posts.size, counts);
      const errors = procs.flatMap((p) => p.logs).filter((l) => /not possible to decrease/.test(l));
      assert.deepEqual(errors, [], 'metrics updated for every batch');
    } finally {
      await stopOpa(opa, 'SIGKILL');
      for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) await killDaemon(p);
      w.cleanup();
    }
  });
});
