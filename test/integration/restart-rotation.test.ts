// Rotations while tailseal is stopped, one at a time, with a glob that matches only the live
// file: a generation it had not finished is found under its new name and read to its end, or,
// when it is gone, one gap record says so (and is not repeated at the next start).
import assert from 'node:assert/strict';
import { appendFileSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import {
  type DaemonProc,
  type Workspace,
  cli,
  makeWorkspace,
  startDaemon,
  stopDaemon,
  storeEntries,
  storedDecisions,
  verifyStore,
  waitFor,
} from '../helpers/daemon.js';
import type { GapPayload } from '../helpers/coverage.js';
import { decisionLine, prng } from '../helpers/opa-sample.js';

const rnd = prng(88);
let n = 0;
function lines(count: number): string[] {
  return Array.from({ length: count }, () => decisionLine(n++, rnd));
}
const text = (ls: string[]) => ls.map((l) => `${l}\n`).join('');

function gaps(w: Workspace): (GapPayload & { source: string; offset: number })[] {
  return storeEntries(w.storeDir)
    .filter((e) => e.kind === 'gap')
    .map((e) => ({
      ...(JSON.parse(Buffer.from(e.payload).toString('utf8')) as GapPayload),
      source: e.source,
      offset: e.offset,
    }));
}

function counters(w: Workspace): Record<string, number> {
  return (
    JSON.parse(cli(['status', '--config', w.configFile, '--json']).stdout) as { counters: Record<string, number> }
  ).counters;
}

describe('rotation while tailseal is stopped (glob matches the live file only)', () => {
  let w: Workspace;
  let d: DaemonProc | undefined;
  afterEach(() => {
    d?.child.kill('SIGKILL');
    d = undefined;
    w?.cleanup();
  });

  /** Starts the daemon, waits until `count` decisions are stored, stops it cleanly. */
  async function runUntil(count: number, what: string): Promise<void> {
    const daemon = startDaemon(w);
    d = daemon;
    await waitFor(() => daemon.logs.some((l) => l.includes('tailseal running.')), 'start-up');
    await waitFor(() => storedDecisions(w.storeDir).length >= count, what);
    // Anything it would still seal (a gap record) is sealed and shipped before the stop returns.
    assert.equal(await stopDaemon(daemon), 0);
    d = undefined;
  }

  it('a file renamed to a name the glob does not match is found beside it and read from its offset', async () => {
    w = makeWorkspace({ glob: 'opa.log' });
    const log = join(w.opaDir, 'opa.log');
    const first = lines(10);
    writeFileSync(log, text(first));
    await runUntil(10, 'the first 10');
    const late = lines(6); // written before the rotation, never read
    appendFileSync(log, text(late));
    renameSync(log, `${log}.1`);
    const fresh = lines(4);
    writeFileSync(log, text(fresh));
    await runUntil(20, 'all 20');
    const stored = storedDecisions(w.storeDir);
    assert.deepEqual([...stored].sort(), [...first, ...late, ...fresh].sort(), 'each line once');
    const rotated = storeEntries(w.storeDir).filter((e) => late.includes(Buffer.from(e.payload).toString('utf8')));
    assert.ok(
      rotated.every((e) => e.source === log),
      'sealed under the name it was tailed under, as for a rotation seen live',
    );
    assert.deepEqual(gaps(w), []);
    assert.equal(verifyStore(w).status, 0);
  });

  it('a file rotated away and removed leaves one rotated_unread gap record, stated with unknown length', async () => {
    w = makeWorkspace({ glob: 'opa.log' });
    const log = join(w.opaDir, 'opa.log');
    writeFileSync(log, text(lines(10)));
    await runUntil(10, 'the first 10');
    const offset = Buffer.byteLength(text(storedDecisions(w.storeDir)));
    appendFileSync(log, text(lines(5))); // lost with the file
    renameSync(log, `${log}.1`);
    writeFileSync(log, text(lines(3))); // created before the removal: it cannot get the old inode
    rmSync(`${log}.1`);
    await runUntil(13, 'the new file');
    let g = gaps(w);
    assert.equal(g.length, 1);
    assert.equal(g[0]!.reason, 'rotated_unread');
    assert.equal(g[0]!.source, log);
    assert.equal(g[0]!.offset, offset);
    assert.equal(g[0]!.length, null, 'how much was lost is not known');
    assert.equal(g[0]!.from, offset);
    assert.match(g[0]!.file!, /^\d+:\d+$/);
    assert.equal(g[0]!.fp_len, 1024);
    assert.equal(counters(w).gap_rotated_unread, 1);
    // Reported once: the next start does not look for it again.
    await runUntil(13, 'a restart');
    g = gaps(w);
    assert.equal(g.length, 1, 'not reported again');
    assert.equal(verifyStore(w).status, 0);
  });

  it('a file deleted with nothing in its place leaves a deleted_unread gap record', async () => {
    w = makeWorkspace({ glob: 'opa.log' });
    const log = join(w.opaDir, 'opa.log');
    writeFileSync(log, text(lines(4)));
    await runUntil(4, 'the first 4');
    rmSync(log);
    d = startDaemon(w);
    await waitFor(() => gaps(w).length === 1, 'the gap record');
    assert.equal(await stopDaemon(d), 0);
    d = undefined;
    assert.equal(gaps(w)[0]!.reason, 'deleted_unread');
    assert.equal(counters(w).gap_deleted_unread, 1);
  });

  it('a rotated file read to its end while running and removed while stopped is not reported', async () => {
    w = makeWorkspace({ glob: 'opa.log', rotateWait: '100ms' });
    const log = join(w.opaDir, 'opa.log');
    writeFileSync(log, text(lines(5)));
    d = startDaemon(w);
    await waitFor(() => storedDecisions(w.storeDir).length === 5, 'the first 5');
    renameSync(log, `${log}.1`);
    writeFileSync(log, text(lines(2)));
    await waitFor(() => d!.logs.some((l) => l.includes('Finished rotated file.')), 'the rotated file to be finished');
    await waitFor(() => storedDecisions(w.storeDir).length === 7, 'all 7');
    assert.equal(await stopDaemon(d), 0);
    d = undefined;
    rmSync(`${log}.1`);
    await runUntil(7, 'a restart');
    assert.deepEqual(gaps(w), [], 'finished: nothing was left unread');
  });

  it('copytruncate while stopped, shorter than the offset with the same first KiB: truncated_unread, then read from 0', async () => {
    w = makeWorkspace({ glob: 'opa.log' });
    const log = join(w.opaDir, 'opa.log');
    // OPA's start-up line, over the 1 KiB fingerprint: the new content starts the same way.
    const banner = `${JSON.stringify({ level: 'info', msg: 'Initializing server.', pad: 'b'.repeat(1500) })}\n`;
    const first = lines(8);
    writeFileSync(log, banner + text(first));
    await runUntil(8, 'the first 8');
    const offset = Buffer.byteLength(banner + text(first));
    appendFileSync(log, text(lines(3))); // destroyed by the truncation, never read
    truncateSync(log, 0);
    const next = lines(2);
    writeFileSync(log, banner + text(next)); // shorter than the offset
    await runUntil(10, 'the new content');
    const g = gaps(w);
    assert.equal(g.length, 1);
    assert.deepEqual(
      { reason: g[0]!.reason, length: g[0]!.length, from: g[0]!.from, offset: g[0]!.offset },
      { reason: 'truncated_unread', length: null, from: offset, offset },
    );
    assert.deepEqual(storedDecisions(w.storeDir).slice(8), next, 'the new content from its start');
    assert.equal(counters(w).gap_truncated_unread, 1);
  });

  it('copytruncate while stopped, same size but other first bytes: truncated_unread, then read from 0', async () => {
    w = makeWorkspace({ glob: 'opa.log' });
    const log = join(w.opaDir, 'opa.log');
    const first = lines(6);
    writeFileSync(log, text(first));
    await runUntil(6, 'the first 6');
    const offset = Buffer.byteLength(text(first));
    truncateSync(log, 0);
    // New lines of exactly the old size: neither size nor offset shows it, the first bytes do.
    let next = lines(6);
    while (Buffer.byteLength(text(next)) < offset) next = [...next, ...lines(1)];
    const body = text(next).slice(0, offset);
    const whole = body.slice(0, body.lastIndexOf('\n') + 1);
    // A blank line pads it to the size.
    writeFileSync(log, whole + ' '.repeat(offset - Buffer.byteLength(whole) - 1) + '\n');
    await runUntil(6 + whole.split('\n').length - 1, 'the new content');
    const g = gaps(w);
    assert.equal(g.length, 1);
    assert.deepEqual(
      { reason: g[0]!.reason, length: g[0]!.length, from: g[0]!.from },
      { reason: 'truncated_unread', length: null, from: offset },
    );
    assert.equal(
      storedDecisions(w.storeDir).length,
      6 + whole.split('\n').length - 1,
      'the new content from its start',
    );
  });
});
