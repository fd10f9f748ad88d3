// FileTail in process, against real files in a temp dir and fakes of the registry and the consumer
// (test/helpers/source-fakes.ts), after Vector's file-watcher model tests: append, rotate and truncate the
// file, and check the batches, positions and gap records the consumer gets, and that a refused or failed
// commit never moves the offset.
import assert from 'node:assert/strict';
import {
  appendFileSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, beforeEach, describe, it } from 'node:test';
import { createLogger } from '../../../../src/log.js';
import { FileTail, type TailOptions } from '../../../../src/sources/file/tail.js';
import { FakeConsumer, FakeRegistry } from '../../../helpers/source-fakes.js';

const root = mkdtempSync(join(tmpdir(), 'tailseal-tail-'));
after(() => rmSync(root, { recursive: true, force: true }));

const decision = (id: string) =>
  `{"msg":"Decision Log","type":"openpolicyagent.org/decision_logs","decision_id":"${id}"}`;
const other = '{"level":"info","msg":"Server started"}';

const OPTS: TailOptions = {
  input: 'in',
  stream: 'main',
  maxLineBytes: 4096,
  readChunkBytes: 1024,
  format: 'json',
  longLines: 'gap',
};

let n = 0;
let file: string;
let registry: FakeRegistry;
let consumer: FakeConsumer;
const deps = () => ({ registry, consumer, log: createLogger('silent') });

beforeEach(() => {
  const dir = join(root, `case-${++n}`);
  mkdirSync(dir);
  file = join(dir, 'opa.log');
  registry = new FakeRegistry();
  consumer = new FakeConsumer(registry);
});

async function open(path = file, opts: TailOptions = OPTS): Promise<FileTail> {
  const t = await FileTail.open(path, opts, deps());
  assert.ok(t instanceof FileTail, `opened ${path}`);
  return t;
}

/** Creates the file with `text`. */
function create(text: string, path = file): void {
  writeFileSync(path, text);
}

describe('FileTail: reading', () => {
  it('commits complete lines with the offset they bring the file to; a partial line waits for its newline', async () => {
    const d1 = decision('d1');
    const d2 = decision('d2');
    create(
      `${d1}\n${other}\n${d2}\n{"msg":"Decision Log","type":"openpolicyagent.org/decision_logs","decision_id":"d3`,
    );
    const tail = await open();
    try {
      assert.equal(await tail.readAvailable(16), 'eof');
      const end2 = d1.length + other.length + d2.length + 3;
      assert.deepEqual(
        consumer.records().map((r) => [r.kind, r.offset, r.payload, r.source]),
        [
          ['decision', 0, d1, file],
          ['decision', d1.length + other.length + 2, d2, file],
        ],
      );
      const last = consumer.committed.at(-1)!;
      assert.deepEqual(last.position, { fileId: 1, offset: end2, path: file, done: false });
      assert.equal(last.counters.decisions, 2);
      assert.equal(last.counters.skipped_not_decision, 1);
      assert.equal(last.counters.bytes_read, end2);
      assert.equal(tail.position, end2);
      assert.equal(registry.rows.get(1)!.offset, end2, 'the registry holds the committed offset');

      // The rest of the partial line arrives: it is read from where the last batch ended.
      appendFileSync(file, '"}\n');
      const before = consumer.committed.length;
      assert.equal(await tail.checkTruncation(), 'more');
      assert.equal(await tail.readAvailable(16), 'eof');
      const added = consumer.committed.slice(before).flatMap((b) => b.records);
      assert.deepEqual(
        added.map((r) => [r.offset, r.payload]),
        [[end2, decision('d3')]],
      );
      assert.equal(tail.position, end2 + decision('d3').length + 1);
    } finally {
      await tail.close();
    }
  });

  it('a reopened file resumes at the committed offset (same inode and first bytes)', async () => {
    create(`${decision('a')}\n${decision('b')}\n`);
    const first = await open();
    assert.equal(await first.readAvailable(16), 'eof');
    const at = first.position;
    await first.close();
    appendFileSync(file, `${decision('c')}\n`);
    const before = consumer.records().length;
    const again = await open();
    try {
      assert.equal(again.position, at, 'resumes where the last commit left the file');
      assert.equal(await again.readAvailable(16), 'eof');
      assert.deepEqual(
        consumer
          .records()
          .slice(before)
          .map((r) => [r.offset, r.payload]),
        [[at, decision('c')]],
      );
      assert.equal(registry.rows.size, 1, 'the same generation, no new row');
    } finally {
      await again.close();
    }
  });

  it('a line over max_line_bytes becomes a line_too_long gap record; reading goes on after it', async () => {
    const long = `{"msg":"Decision Log","pad":"${'x'.repeat(300)}"}`;
    create(`${long}\n${decision('after')}\n`);
    const tail = await open(file, { ...OPTS, maxLineBytes: 100, readChunkBytes: 64 });
    try {
      let r = await tail.readAvailable(64);
      while (r === 'more') r = await tail.readAvailable(64);
      assert.equal(r, 'eof');
      const gaps = consumer.gaps();
      assert.equal(gaps.length, 1);
      assert.equal(gaps[0]!.reason, 'line_too_long');
      assert.equal(gaps[0]!.length, long.length);
      assert.equal(gaps[0]!.offset, 0);
      const decisions = consumer.records().filter((x) => x.kind === 'decision');
      assert.deepEqual(
        decisions.map((x) => [x.offset, x.payload]),
        [[long.length + 1, decision('after')]],
      );
      assert.equal(tail.position, long.length + decision('after').length + 2);
    } finally {
      await tail.close();
    }
  });
});

describe('FileTail: a consumer that does not take the batch', () => {
  it('backpressure (commit returns false) stops the tail; it resumes from the same offset', async () => {
    create(`${decision('a')}\n${decision('b')}\n`);
    const tail = await open();
    try {
      consumer.mode = 'refuse';
      assert.equal(await tail.readAvailable(16), 'blocked');
      assert.equal(consumer.refused.length, 1, 'stops at the first refused batch');
      assert.equal(tail.position, 0);
      assert.equal(registry.rows.get(1)!.offset, 0);
      // Refused again: still nothing moves, the same batch is offered.
      assert.equal(await tail.readAvailable(16), 'blocked');
      assert.deepEqual(consumer.refused[1], consumer.refused[0]);

      consumer.mode = 'accept';
      assert.equal(await tail.readAvailable(16), 'eof');
      assert.equal(consumer.committed.length, 1);
      assert.deepEqual(consumer.committed[0]!.records, consumer.refused[0]!.records, 'the same records, same offsets');
      assert.equal(tail.position, decision('a').length + decision('b').length + 2);
    } finally {
      await tail.close();
    }
  });

  it('a consumer that throws (state database failing) does not advance; the next read offers the same batch', async () => {
    create(`${decision('a')}\n`);
    const tail = await open();
    try {
      consumer.mode = 'throw';
      await assert.rejects(tail.readAvailable(16), /state database failing/);
      assert.equal(tail.position, 0);
      assert.equal(registry.rows.get(1)!.offset, 0);
      assert.equal(consumer.calls, 1);

      consumer.mode = 'accept';
      assert.equal(await tail.readAvailable(16), 'eof');
      assert.deepEqual(
        consumer.records().map((r) => [r.offset, r.payload]),
        [[0, decision('a')]],
      );
      assert.equal(tail.position, decision('a').length + 1);
    } finally {
      await tail.close();
    }
  });

  it('a refused gap record leaves the truncated file where it was (blocked), then seals it once taken', async () => {
    create(`${decision('a')}\n`);
    const tail = await open();
    try {
      assert.equal(await tail.readAvailable(16), 'eof');
      appendFileSync(file, `${decision('b')}\n`);
      assert.equal(await tail.checkTruncation(), 'more'); // grew: sees the unread bytes
      truncateSync(file, 0);
      writeFileSync(file, 'x\n');
      consumer.mode = 'refuse';
      assert.equal(await tail.checkTruncation(), 'blocked');
      assert.equal(tail.position, decision('a').length + 1, 'still at the committed offset');
      consumer.mode = 'accept';
      assert.equal(await tail.checkTruncation(), 'more');
      assert.equal(tail.position, 0);
      assert.equal(consumer.gaps().length, 1);
    } finally {
      await tail.close();
    }
  });
});

describe('FileTail: rotation and truncation', () => {
  it('renamed away, the tail reads on under its path; finish() seals a trailing fragment and marks it done', async () => {
    create(`${decision('a')}\n`);
    const tail = await open();
    try {
      assert.equal(await tail.readAvailable(16), 'eof');
      renameSync(file, `${file}.1`);
      writeFileSync(file, `${decision('new')}\n`); // the new generation is another file
      appendFileSync(`${file}.1`, `${decision('late')}\nfrag`);
      assert.equal(await tail.checkTruncation(), 'more');
      assert.equal(await tail.readAvailable(16), 'eof');
      const start = decision('a').length + 1;
      assert.deepEqual(
        consumer.records().map((r) => [r.offset, r.payload, r.source]),
        [
          [0, decision('a'), file],
          [start, decision('late'), file],
        ],
        'late writes to the old generation are read, under the path it was tailed as',
      );
      assert.equal(await tail.finish(), true);
      const gaps = consumer.gaps();
      assert.equal(gaps.length, 1);
      assert.equal(gaps[0]!.reason, 'partial_line_at_close');
      assert.equal(gaps[0]!.length, 4);
      assert.equal(gaps[0]!.offset, start + decision('late').length + 1);
      const last = consumer.committed.at(-1)!;
      assert.equal(last.position!.done, true, 'finished with the gap record, in the same commit');
      assert.equal(last.position!.offset, start + decision('late').length + 1 + 4);
      assert.equal(registry.rows.get(1)!.done, true);
    } finally {
      await tail.close();
    }
  });

  it('truncated with unread bytes seen (copytruncate): a truncated_unread gap record, then the new content from 0', async () => {
    create(`${decision('a')}\n`);
    const tail = await open();
    try {
      assert.equal(await tail.readAvailable(16), 'eof');
      const at = tail.position;
      appendFileSync(file, `${decision('unread')}\n`);
      assert.equal(await tail.checkTruncation(), 'more'); // it grew; not read yet
      truncateSync(file, 0);
      appendFileSync(file, `${decision('n')}\n`);
      assert.equal(await tail.checkTruncation(), 'more');
      const gaps = consumer.gaps();
      assert.equal(gaps.length, 1);
      assert.equal(gaps[0]!.reason, 'truncated_unread');
      assert.equal(gaps[0]!.offset, at);
      assert.equal(gaps[0]!.from, at);
      assert.equal(gaps[0]!.length, null, 'how much was lost is unknown');
      assert.equal(gaps[0]!.at_least, decision('unread').length + 1, 'at least what was seen unread');
      const gapBatch = consumer.committed.at(-1)!;
      assert.deepEqual(gapBatch.position, { fileId: 1, offset: 0, path: file, done: true });
      assert.equal(gapBatch.counters.files_truncated, 1);
      assert.equal(tail.position, 0);
      assert.equal(await tail.readAvailable(16), 'eof');
      assert.deepEqual(consumer.records().at(-1), {
        kind: 'decision',
        source: file,
        offset: 0,
        payload: decision('n'),
      });
      assert.equal(registry.rows.get(1)!.done, false, 'the next commit is the live generation again');
    } finally {
      await tail.close();
    }
  });

  it('truncated after all of it was sealed, with the copy beside it: no gap record', async () => {
    create(`${decision('a')}\n${decision('b')}\n`);
    const tail = await open();
    try {
      assert.equal(await tail.readAvailable(16), 'eof');
      copyFileSync(file, `${file}.1`);
      truncateSync(file, 0);
      appendFileSync(file, `${decision('n')}\n`);
      assert.equal(await tail.checkTruncation(), 'more');
      assert.deepEqual(consumer.gaps(), []);
      const mark = consumer.committed.at(-1)!;
      assert.deepEqual(mark.records, []);
      assert.deepEqual(mark.position, { fileId: 1, offset: 0, path: file, done: true });
      assert.equal(await tail.readAvailable(16), 'eof');
      assert.deepEqual(consumer.records().at(-1)!.payload, decision('n'));
    } finally {
      await tail.close();
    }
  });

  it('truncated after all of it was sealed, without a copy: a gap record of unknown length', async () => {
    create(`${decision('a')}\n${decision('b')}\n`);
    const tail = await open();
    try {
      assert.equal(await tail.readAvailable(16), 'eof');
      const at = tail.position;
      truncateSync(file, 0);
      appendFileSync(file, `${decision('n')}\n`);
      assert.equal(await tail.checkTruncation(), 'more');
      const gaps = consumer.gaps();
      assert.equal(gaps.length, 1);
      assert.equal(gaps[0]!.reason, 'truncated_unread');
      assert.equal(gaps[0]!.from, at);
      assert.equal(gaps[0]!.at_least, 0);
    } finally {
      await tail.close();
    }
  });

  it('truncated and regrown past the offset between the check and the read (same first KiB): caught by the read', async () => {
    // The banner keeps the first KiB (the fingerprint) the same; the new content outgrows the offset.
    const banner = JSON.stringify({ level: 'info', msg: 'Initializing server.', pad: 'b'.repeat(1500) });
    create(`${banner}\n${decision('a')}\n${decision('b')}\n`);
    const tail = await open();
    try {
      assert.equal(await tail.readAvailable(16), 'eof');
      const at = tail.position;
      assert.equal(await tail.checkTruncation(), 'more'); // unchanged: the poll goes on to read
      truncateSync(file, 0);
      const next = ['c', 'd', 'e', 'f', 'g', 'h'].map(decision);
      appendFileSync(file, `${banner}\n${next.join('\n')}\n`);
      assert.ok(statSync(file).size > at + 64, 'the new content reaches past the old offset');
      while ((await tail.readAvailable(16)) === 'more');
      const gaps = consumer.gaps();
      assert.equal(gaps.length, 1, 'one gap record for what the truncation may have destroyed');
      assert.equal(gaps[0]!.reason, 'truncated_unread');
      assert.equal(gaps[0]!.from, at);
      const payloads = consumer
        .records()
        .filter((r) => r.kind === 'decision')
        .map((r) => r.payload);
      assert.deepEqual(payloads, [decision('a'), decision('b'), ...next], 'every line whole, none skipped');
    } finally {
      await tail.close();
    }
  });

  it('shorter than its committed offset when opened again (truncated while stopped): a gap record, then from 0', async () => {
    create(`${decision('a')}\n${decision('b')}\n`);
    const first = await open();
    assert.equal(await first.readAvailable(16), 'eof');
    const at = first.position;
    await first.close();
    truncateSync(file, decision('a').length + 1); // the same first bytes, shorter than the offset
    const again = await open();
    try {
      assert.equal(again.position, 0);
      const gaps = consumer.gaps();
      assert.equal(gaps.length, 1);
      assert.equal(gaps[0]!.reason, 'truncated_unread');
      assert.equal(gaps[0]!.offset, at);
      assert.equal(registry.rows.get(1)!.offset, 0);
    } finally {
      await again.close();
    }
  });
});
