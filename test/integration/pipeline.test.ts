// End to end through the real daemon process: OPA lines mixed with other and malformed lines
// are tailed, sealed, shipped to the file sink and verified; counters report what was skipped.
import assert from 'node:assert/strict';
import { appendFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  type DaemonProc,
  type Workspace,
  cli,
  killDaemon,
  logsWith,
  makeWorkspace,
  startDaemon,
  stopDaemon,
  storeEntries,
  storedDecisions,
  verifyStore,
  waitFor,
} from '../helpers/daemon.js';
import { decisionLine, otherLine, prng } from '../helpers/opa-sample.js';

describe('pipeline: tail -> seal -> file sink -> verify', () => {
  let w: Workspace;
  let d: DaemonProc;
  const rnd = prng(7);
  const decisions: string[] = [];
  const file = () => join(w.opaDir, 'opa.log');

  before(() => {
    w = makeWorkspace({ maxLineBytes: '4KiB' });
  });
  after(() => {
    d?.child.kill('SIGKILL');
    w.cleanup();
  });

  it('seals exactly the decision lines, byte for byte, and skips the rest with counts', async () => {
    const parts: Buffer[] = [];
    const push = (s: string | Buffer, isDecision = false) => {
      const b = typeof s === 'string' ? Buffer.from(s) : s;
      parts.push(b, Buffer.from('\n'));
      if (isDecision) decisions.push(b.toString('utf8'));
    };
    for (let i = 0; i < 20; i++) {
      push(otherLine(i));
      push(decisionLine(i, rnd), true);
    }
    push('this is not json');
    push('{"decision_id":"x","msg":"Decision Log","type":"openpolicyagent.org/decision_logs"'); // truncated JSON
    push(Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0xff, 0xfe, 0x7d])); // invalid UTF-8
    const huge = decisionLine(99, rnd).replace('"path":"http', `"pad":"${'x'.repeat(10_000)}","path":"http`);
    push(huge); // over max_line_bytes (4 KiB): a gap record, not a decision
    push(decisionLine(100, rnd).replace('alice', 'ålîçé ✓ 🚀') + '\r', true); // CRLF and multi-byte UTF-8
    writeFileSync(file(), Buffer.concat(parts));
    // A partial last line: not sealed until its newline arrives.
    const partial = decisionLine(101, rnd);
    appendFileSync(file(), partial.slice(0, 100));

    d = startDaemon(w);
    await waitFor(() => storedDecisions(w.storeDir).length === 21, '21 decisions in the store');
    const entries = storeEntries(w.storeDir);
    const gaps = entries.filter((e) => e.kind === 'gap');
    assert.equal(gaps.length, 1, 'one gap record for the over-long line');
    const gap = JSON.parse(Buffer.from(gaps[0]!.payload).toString()) as Record<string, unknown>;
    assert.deepEqual(
      { reason: gap.reason, length: gap.length },
      { reason: 'line_too_long', length: Buffer.byteLength(huge) },
    );
    assert.match(gap.file as string, /^\d+:\d+$/, 'the file it is in, by inode');
    assert.equal(gap.fp_len, 1024, 'and its first KiB, by fingerprint');
    assert.deepEqual(storedDecisions(w.storeDir), decisions, 'payloads are the lines exactly as written, in order');
    assert.deepEqual(
      entries.map((e) => e.seq),
      entries.map((_, i) => i),
      'seq 0, 1, 2 ... without gaps',
    );

    appendFileSync(file(), partial.slice(100) + '\n');
    decisions.push(partial);
    await waitFor(() => storedDecisions(w.storeDir).length === 22, 'the completed partial line');
    assert.equal(storedDecisions(w.storeDir)[21], partial, 'the partial line is sealed once, whole');

    assert.equal(await stopDaemon(d), 0, 'SIGTERM exits 0');
    const stopped = logsWith(d, 'tailseal stopped')[0];
    assert.ok(stopped, 'a final log line with counters');
    const c = stopped.counters as Record<string, number>;
    assert.equal(c.decisions, 22);
    assert.equal(c.skipped_not_decision, 20);
    assert.equal(c.skipped_not_json, 2);
    assert.equal(c.skipped_invalid_utf8, 1);
    assert.equal(c.gap_line_too_long, 1);
    assert.equal(logsWith(d, 'Skipping a malformed line').length, 3, 'each malformed line is reported');

    const v = verifyStore(w);
    assert.equal(v.status, 0, v.stdout + v.stderr);
    assert.match(v.stdout, /OK stream opa .*: 23 entries/);
    assert.match(v.stdout, /1 gap record/);
  });

  it('resumes after a restart without re-sealing anything', async () => {
    // If the first case failed midway, its daemon may still run: never two on one state.
    if (d && d.child.exitCode === null && d.child.signalCode === null) await killDaemon(d);
    appendFileSync(file(), decisionLine(200, rnd) + '\n');
    d = startDaemon(w);
    await waitFor(() => storedDecisions(w.storeDir).length === 23, 'the new decision after restart');
    assert.equal(await stopDaemon(d), 0);
    const seqs = storeEntries(w.storeDir).map((e) => e.seq);
    assert.deepEqual(
      seqs,
      seqs.map((_, i) => i),
      'no duplicate and no gap across the restart',
    );
    assert.equal(verifyStore(w).status, 0);
  });

  it('`tailseal checkpoint` gives the newest checkpoint; with it verify detects a removed last object', () => {
    const cp = cli(['checkpoint', '--config', w.configFile]);
    assert.equal(cp.status, 0, cp.stderr);
    assert.match(cp.stdout, /^tailseal\.test\/it\/opa\n24\n/, 'origin/stream and tree size 24 (23 decisions + 1 gap)');
    const latest = join(w.root, 'latest.checkpoint');
    writeFileSync(latest, cp.stdout);
    assert.equal(verifyStore(w, ['--latest', latest]).status, 0);

    const objects = readdirSync(join(w.storeDir, 'opa'))
      .filter((n) => !n.startsWith('heartbeat'))
      .sort();
    rmSync(join(w.storeDir, 'opa', objects[objects.length - 1]!));
    assert.equal(verifyStore(w).status, 0, 'without --latest a removed tail cannot be seen');
    const v = verifyStore(w, ['--latest', latest]);
    assert.equal(v.status, 1);
    assert.match(
      v.stdout,
      /^FAIL TAIL_TRUNCATED: stream opa: the trusted latest checkpoint has 24 entries but the store ends at \d+: seq \d+\.\.23 missing/,
    );
  });
});
