// Issue 23 (first part), sinks per stream: a real daemon with two inputs writing two streams
// (`opa` and `compliance`) and two file sinks, each taking one stream (`streams`), as a 90-day
// bucket and a long-retention one would. Each store holds exactly its stream, every decision once,
// and verifies on its own; the outbox drains (each sink passes the other stream's objects by).
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  type DaemonProc,
  type Workspace,
  cli,
  decisionText,
  killDaemon,
  makeWorkspace,
  startDaemon,
  stopDaemon,
  storeEntries,
  waitFor,
} from '../helpers/daemon.js';
import { tempDir } from '../helpers/trail.js';

describe('sinks per stream (streams:)', () => {
  const root = tempDir('tailseal-streams-it-');
  const [ops, compliance, pciDir] = [join(root, 'ops'), join(root, 'compliance'), join(root, 'pci')];
  let w: Workspace | undefined;
  let d: DaemonProc | undefined;
  after(async () => {
    if (d && d.child.exitCode === null && d.child.signalCode === null) await killDaemon(d);
    w?.cleanup();
  });

  it('each sink gets only its stream; both verify; nothing is left in the outbox', async () => {
    mkdirSync(pciDir, { recursive: true });
    w = makeWorkspace({
      inputsYaml: `  - name: opa
    type: file
    paths: ["${root}/opa/*.log"]
    poll_interval: 50ms
  - name: pci
    type: file
    stream: compliance
    paths: ["${pciDir}/*.log"]
    poll_interval: 50ms`,
      sinksYaml: `  - name: ops
    type: file
    dir: ${ops}
    streams: [opa]
  - name: compliance
    type: file
    dir: ${compliance}
    streams: [compliance]`,
    });
    mkdirSync(join(root, 'opa'), { recursive: true });
    appendFileSync(join(root, 'opa', 'decisions.log'), decisionText(1)(120));
    appendFileSync(join(pciDir, 'decisions.log'), decisionText(2)(80));
    d = startDaemon(w);
    await waitFor(
      () => storeEntries(ops).length === 120 && storeEntries(compliance).length === 80,
      '120 decisions in the ops store and 80 in the compliance store',
    );
    assert.equal(await stopDaemon(d), 0);
    assert.deepEqual([...new Set(storeEntries(ops).map((e) => e.stream))], ['opa']);
    assert.deepEqual([...new Set(storeEntries(compliance).map((e) => e.stream))], ['compliance']);
    assert.deepEqual(
      storeEntries(compliance).map((e) => e.seq),
      Array.from({ length: 80 }, (_, i) => i),
      'every compliance decision once, in order',
    );
    for (const [store, n] of [
      [ops, 120],
      [compliance, 80],
    ] as const) {
      const v = cli(['verify', '--store', store, '--public-key', w.pubFile]);
      assert.equal(v.status, 0, v.stdout + v.stderr);
      assert.match(v.stdout, new RegExp(`: ${n} entries in `));
    }
    const st = cli(['status', '--config', w.configFile, '--json']);
    assert.equal(st.status, 0, st.stderr);
    assert.equal((JSON.parse(st.stdout) as { outbox_bytes: number }).outbox_bytes, 0, 'the outbox is empty');
  });
});
