// Issue 15, item 7: links in the watched directory to tailseal's own files. With `long_lines:
// truncate` and max_line_bytes 64, a link to the signing key shipped most of the key seed in a
// gap record's `head`; a link to the state database's WAL made tailseal read its own writes. Now
// what is opened is compared (device and inode of the descriptor, and of the directories above
// it) with the key, the state directory, the outbox and the sink directories: never read, one
// log line per file, nothing of them in the trail.
import assert from 'node:assert/strict';
import { appendFileSync, linkSync, readFileSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  logsWith,
  makeWorkspace,
  startDaemon,
  stopDaemon,
  storeEntries,
  storedDecisions,
  verifyStore,
  waitFor,
} from '../helpers/daemon.js';

describe("links to tailseal's own files (issue 15, item 7)", () => {
  it('the key, state database, WAL, outbox and sink directory are never read through any link', async () => {
    const w = makeWorkspace({ maxLineBytes: '64' });
    const config = readFileSync(w.configFile, 'utf8');
    writeFileSync(w.configFile, config.replace('max_line_bytes: 64', 'max_line_bytes: 64\n    long_lines: truncate'));
    // Short decisions (under 64 bytes), so that any gap record would be one of the linked files.
    const line = (i: number) => JSON.stringify({ msg: 'Decision Log', decision_id: `d${i}` });
    const log = join(w.opaDir, 'a.log');
    writeFileSync(log, `${line(1)}\n`);
    const fromLog = () => storeEntries(w.storeDir).filter((e) => e.kind === 'decision' && e.source === log).length;
    const d = startDaemon(w);
    const links: Record<string, string> = {};
    try {
      await waitFor(() => fromLog() === 1, 'a.log read');
      // Files planted in the protected directories: only their directory says they are ours.
      const planted = {
        state: join(w.stateDir, 'planted.txt'),
        outbox: join(w.stateDir, 'tailseal.db-outbox', 'planted.txt'),
        sink: join(w.storeDir, 'planted.txt'),
      };
      for (const p of Object.values(planted)) writeFileSync(p, `${'x'.repeat(100)}\n${line(99)}\n`);
      const db = join(w.stateDir, 'tailseal.db');
      const targets = { key: w.keyFile, db, wal: `${db}-wal`, ...planted };
      for (const [name, target] of Object.entries(targets)) {
        links[name] = join(w.opaDir, `${name}.log`);
        symlinkSync(target, links[name]);
      }
      // A hard link to the key: another name, the same inode.
      links.hard = join(w.opaDir, 'hard.log');
      linkSync(w.keyFile, links.hard);
      // Reading goes on (and the WAL keeps changing under its link).
      for (let i = 2; i <= 20; i++) appendFileSync(log, `${line(i)}\n`);
      await waitFor(() => fromLog() === 20, "a.log's later lines read");
      // Each link refused (logged); before the fix, they were read: the first gap record ends the wait.
      const reported = (l: string) => logsWith(d, 'A file matching').some((x) => x.path === l);
      const gapSealed = () => storeEntries(w.storeDir).some((e) => e.kind === 'gap');
      await waitFor(() => Object.values(links).every(reported) || gapSealed(), 'every link refused');
      // Removing the links says nothing either (no deleted_unread gap record for what was never to be read).
      for (const l of Object.values(links)) unlinkSync(l);
      for (let i = 21; i <= 30; i++) appendFileSync(log, `${line(i)}\n`);
      await waitFor(() => fromLog() === 30, 'more lines read after the links were reported');
    } finally {
      assert.equal(await stopDaemon(d), 0);
    }
    const entries = storeEntries(w.storeDir);
    const gaps = entries.filter((e) => e.kind === 'gap').map((e) => Buffer.from(e.payload).toString('utf8'));
    assert.deepEqual(gaps, [], 'no gap record');
    for (const [name, l] of Object.entries(links)) {
      const lines = logsWith(d, 'A file matching').filter((x) => x.path === l);
      assert.equal(lines.length, 1, `one log line for ${name}`);
      assert.equal(lines[0]!.code, 'FILE_PROTECTED', name);
    }
    assert.deepEqual(
      storedDecisions(w.storeDir),
      Array.from({ length: 30 }, (_, i) => line(i + 1)),
    );
    assert.ok(
      entries.every((e) => e.source === log),
      'every entry comes from a.log',
    );
    const seed = readFileSync(w.keyFile, 'utf8').trim().split('+').pop()!;
    const trail = entries.map((e) => Buffer.from(e.payload).toString('utf8')).join('\n');
    for (let i = 0; i + 8 <= seed.length; i++) {
      assert.ok(!trail.includes(seed.slice(i, i + 8)), 'no 8 characters of the key seed in the trail');
    }
    assert.equal(verifyStore(w).status, 0);
    w.cleanup();
  });
});
