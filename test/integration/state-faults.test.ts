// Faults under the tailer: the state database locked by another writer (SQLITE_BUSY past the
// busy timeout) while committing, and lines whose bytes (CRLF, multi-byte UTF-8) straddle
// read-buffer boundaries. Nothing is read ahead of what is committed; reading resumes by itself.
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { appendFileSync, writeFileSync } from 'node:fs';
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
import { decisionLine, prng } from '../helpers/opa-sample.js';

describe('tailer under state faults', () => {
  it('a state database locked past its busy timeout pauses reading, logs it, and resumes when freed', async () => {
    const w = makeWorkspace();
    const rnd = prng(31);
    const log = join(w.opaDir, 'opa.log');
    const first = Array.from({ length: 10 }, (_, i) => decisionLine(i, rnd));
    writeFileSync(log, first.map((l) => `${l}\n`).join(''));
    const d = startDaemon(w);
    try {
      await waitFor(() => storedDecisions(w.storeDir).length === 10, 'the first 10');
      // Another process takes the write lock and holds it past the daemon's 5 s busy timeout.
      const other = new Database(join(w.stateDir, 'tailseal.db'));
      other.exec('BEGIN IMMEDIATE');
      const more = Array.from({ length: 25 }, (_, i) => decisionLine(100 + i, rnd));
      appendFileSync(log, more.map((l) => `${l}\n`).join(''));
      await waitFor(() => logsWith(d, 'Reading paused').length > 0, 'reading paused', 20_000);
      const paused = logsWith(d, 'Reading paused')[0]!;
      assert.match(String(paused.err), /locked|busy/i);
      assert.equal(storedDecisions(w.storeDir).length, 10, 'nothing sealed while the database is locked');
      other.exec('ROLLBACK');
      other.close();
      await waitFor(() => storedDecisions(w.storeDir).length === 35, 'all 35 after the lock is gone', 20_000);
      await waitFor(() => logsWith(d, 'Reading resumed').length > 0, 'reading resumed');
    } finally {
      assert.equal(await stopDaemon(d), 0);
    }
    const stored = storedDecisions(w.storeDir);
    assert.equal(new Set(stored).size, 35, 'each line once');
    assert.equal(verifyStore(w).status, 0);
    w.cleanup();
  });

  it('CRLF and multi-byte UTF-8 split across 4 KiB reads are kept byte for byte', async () => {
    const w = makeWorkspace({ readChunkBytes: '4KiB' });
    const rnd = prng(32);
    // ~1.3 KiB lines of 2-, 3- and 4-byte characters, CRLF-terminated: read boundaries land
    // inside characters and between "\r" and "\n".
    const decisions = Array.from(
      { length: 40 },
      (_, i) =>
        decisionLine(i, rnd).replace('"input":{', `"input":{"note":"${'zoë—東京🔒'.repeat(60 + (i % 7))}",`) + '\r',
    );
    writeFileSync(join(w.opaDir, 'opa.log'), decisions.map((l) => `${l}\n`).join(''));
    const d = startDaemon(w);
    try {
      await waitFor(() => storedDecisions(w.storeDir).length === 40, '40 decisions');
    } finally {
      assert.equal(await stopDaemon(d), 0);
    }
    assert.deepEqual(storedDecisions(w.storeDir), decisions, 'each line exactly as written, its "\\r" kept');
    assert.equal(storeEntries(w.storeDir).filter((e) => e.kind === 'gap').length, 0);
    w.cleanup();
  });
});
