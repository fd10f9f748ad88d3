// Issue 8, case 10: a line over max_line_bytes is a gap record (default) or, with
// `long_lines: truncate`, a gap record that also keeps the line's first max_line_bytes bytes,
// flagged `truncated`; the lines after it are read and the file is never abandoned.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { utf8Prefix } from '../../src/sources/file/gap.js';
import {
  makeWorkspace,
  startDaemon,
  stopDaemon,
  storeEntries,
  storedDecisions,
  verifyStore,
  waitFor,
} from '../helpers/daemon.js';
import { decisionLine, prng } from '../helpers/opa-sample.js';

describe('over-long lines (issue 8, case 10)', () => {
  for (const mode of ['gap', 'truncate'] as const) {
    it(`long_lines: ${mode}`, async () => {
      const w = makeWorkspace({ maxLineBytes: '4KiB', readChunkBytes: '4KiB' });
      writeFileSync(
        w.configFile,
        readFileSync(w.configFile, 'utf8').replace(
          '    max_line_bytes: 4KiB',
          `    max_line_bytes: 4KiB\n    long_lines: ${mode}`,
        ),
      );
      const rnd = prng(71);
      // 3-byte characters, so 4096 bytes end inside one: the head must stop before it.
      const long = `{"decision_id":"long","input":{"note":"${'東'.repeat(6000)}"}}`;
      const before = decisionLine(1, rnd);
      const after = [decisionLine(2, rnd), decisionLine(3, rnd)];
      const log = join(w.opaDir, 'opa.log');
      writeFileSync(log, [before, long, ...after].map((l) => `${l}\n`).join(''));
      const d = startDaemon(w);
      try {
        await waitFor(() => storedDecisions(w.storeDir).length === 3, 'the 3 decisions around the long line');
      } finally {
        assert.equal(await stopDaemon(d), 0);
      }
      assert.deepEqual(storedDecisions(w.storeDir), [before, ...after]);
      const gaps = storeEntries(w.storeDir).filter((e) => e.kind === 'gap');
      assert.equal(gaps.length, 1);
      const g = JSON.parse(Buffer.from(gaps[0]!.payload).toString('utf8')) as {
        reason: string;
        length: number;
        truncated?: boolean;
        head?: string;
      };
      assert.equal(gaps[0]!.offset, Buffer.byteLength(before) + 1);
      assert.equal(g.reason, 'line_too_long');
      assert.equal(g.length, Buffer.byteLength(long));
      if (mode === 'gap') assert.equal(g.head, undefined);
      else {
        assert.equal(g.truncated, true);
        const want = Buffer.from(long).subarray(0, 4096);
        assert.equal(g.head, utf8Prefix(want));
        assert.ok(long.startsWith(g.head!), "the head is the line's beginning, byte for byte");
        assert.ok(
          Buffer.byteLength(g.head!) > 4090 && Buffer.byteLength(g.head!) <= 4096,
          'cut at the last whole character',
        );
      }
      assert.equal(verifyStore(w).status, 0);
      w.cleanup();
    });
  }

  it('utf8Prefix never ends inside a character', () => {
    const cases: [string, number, string][] = [
      ['abc', 2, 'ab'],
      ['a東', 2, 'a'], // cut after the first byte of a 3-byte character
      ['a東', 3, 'a'],
      ['a東', 4, 'a東'],
      ['🔒x', 3, ''], // inside a 4-byte character
      ['🔒x', 4, '🔒'],
      ['zoë', 3, 'zo'],
    ];
    for (const [text, n, want] of cases)
      assert.equal(utf8Prefix(Buffer.from(text).subarray(0, n)), want, `${text} cut at ${n}`);
  });
});
