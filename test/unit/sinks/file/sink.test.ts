// The file sink writes each object once, whole, read-only, and never overwrites.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { TailsealError } from '../../../../src/errors.js';
import { createLogger } from '../../../../src/log.js';
import { encodeObject } from '../../../../src/seal/encoder.js';
import { parseObject } from '../../../../src/seal/gzip.js';
import { FileSink } from '../../../../src/sinks/file/sink.js';
import { classifyError } from '../../../../src/sinks/retry.js';
import type { TrailObject } from '../../../../src/sinks/sink.js';

const obj = (note = 'n\n'): TrailObject => ({
  id: 1,
  stream: 'opa',
  firstSeq: 0,
  size: 1,
  createdAt: 5,
  lines: [Buffer.from('{"v":1}\n')],
  note,
});
const log = createLogger('silent');
const retry = { baseMs: 1, maxMs: 1 };

describe('file sink', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tailseal-sink-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('stores an object read-only under its deterministic name and leaves no temp file', async () => {
    const sink = new FileSink(
      { name: 's', type: 'file', dir, gzip: false, retry, in_flight: 1 },
      { log, stateDir: tmpdir() },
    );
    await sink.start();
    assert.equal(await sink.put(obj()), 'stored');
    const f = join(dir, 'opa', '00000000000000000000-00000000000000000000.ndjson');
    assert.equal(statSync(f).mode & 0o777, 0o440);
    assert.deepEqual(readdirSync(join(dir, 'opa')), ['00000000000000000000-00000000000000000000.ndjson']);
    assert.equal(readFileSync(f, 'utf8'), '{"v":1}\n{"v":1,"kind":"checkpoint","stream":"opa","note":"n\\n"}\n');
  });

  it('a retry with identical bytes is acknowledged as existed', async () => {
    const sink = new FileSink(
      { name: 's', type: 'file', dir, gzip: false, retry, in_flight: 1 },
      { log, stateDir: tmpdir() },
    );
    assert.equal(await sink.put(obj()), 'existed');
  });

  it('different bytes under the same name: SINK_CONFLICT, the stored object is untouched', async () => {
    const sink = new FileSink(
      { name: 's', type: 'file', dir, gzip: false, retry, in_flight: 1 },
      { log, stateDir: tmpdir() },
    );
    const f = join(dir, 'opa', '00000000000000000000-00000000000000000000.ndjson');
    const before = readFileSync(f);
    await assert.rejects(
      sink.put(obj('other\n')),
      (e: TailsealError) =>
        e.code === 'SINK_CONFLICT' && e.details.object === 'opa/00000000000000000000-00000000000000000000.ndjson',
    );
    assert.deepEqual(readFileSync(f), before);
  });

  it('gzip objects end in .ndjson.gz and parse back', async () => {
    const gz = join(dir, 'gz');
    const sink = new FileSink(
      { name: 's', type: 'file', dir: gz, gzip: true, retry, in_flight: 1 },
      { log, stateDir: tmpdir() },
    );
    await sink.start();
    await sink.put({ ...obj(), lines: [], size: 0 });
    const names = readdirSync(join(gz, 'opa'));
    assert.deepEqual(names, ['heartbeat-00000000000000000000-5.ndjson.gz']);
    assert.equal(parseObject(readFileSync(join(gz, 'opa', names[0]!))).note, 'n\n');
  });

  it('copies the lines from the outbox segment file when one is given, cut to the object length', async () => {
    const store = join(dir, 'copy');
    const seg = join(dir, 'segment.ndjson');
    // Two committed lines, then bytes a failed commit left behind: never part of the object.
    writeFileSync(seg, '{"v":1,"n":0}\n{"v":1,"n":1}\nUNCOMMITTED');
    const bytes = '{"v":1,"n":0}\n{"v":1,"n":1}\n'.length;
    const sink = new FileSink(
      { name: 's', type: 'file', dir: store, gzip: false, retry, in_flight: 1 },
      { log, stateDir: tmpdir() },
    );
    await sink.start();
    const unread: TrailObject = {
      id: 1,
      stream: 'opa',
      firstSeq: 0,
      size: 2,
      createdAt: 5,
      note: 'n\n',
      linesFile: { path: seg, bytes },
      get lines(): Buffer[] {
        throw new Error('lines read although the segment file was given');
      },
    };
    assert.equal(await sink.put(unread), 'stored');
    const f = join(store, 'opa', '00000000000000000000-00000000000000000001.ndjson');
    assert.equal(
      readFileSync(f, 'utf8'),
      '{"v":1,"n":0}\n{"v":1,"n":1}\n{"v":1,"kind":"checkpoint","stream":"opa","note":"n\\n"}\n',
    );
    assert.equal(statSync(f).mode & 0o777, 0o440);
    assert.deepEqual(
      readdirSync(join(store, 'opa')),
      ['00000000000000000000-00000000000000000001.ndjson'],
      'no temporary file left',
    );
  });

  it('a segment shorter than the object is a retryable error and leaves nothing behind', async () => {
    const store = join(dir, 'short');
    const seg = join(dir, 'short.ndjson');
    writeFileSync(seg, '{"v":1}\n');
    const sink = new FileSink(
      { name: 's', type: 'file', dir: store, gzip: false, retry, in_flight: 1 },
      { log, stateDir: tmpdir() },
    );
    await sink.start();
    await assert.rejects(
      sink.put({ ...obj(), linesFile: { path: seg, bytes: 100 } }),
      (e: TailsealError) => e.code === 'SINK_RETRYABLE' && e.message.includes(seg),
    );
    assert.deepEqual(readdirSync(join(store, 'opa')), []);
  });

  it('gzip: compresses the segment as it streams (encoder bytes, lines never read); a short one fails', async () => {
    const store = join(dir, 'gzip-stream');
    const seg = join(dir, 'gzip-segment.ndjson');
    const line = (i: number) => `{"v":1,"n":${i},"p":"${'x'.repeat(100 + (i % 29))}"}\n`;
    const lines = Buffer.from(Array.from({ length: 20_000 }, (_, i) => line(i)).join(''));
    writeFileSync(seg, Buffer.concat([lines, Buffer.from('UNCOMMITTED')]));
    const sink = new FileSink(
      { name: 's', type: 'file', dir: store, gzip: true, retry, in_flight: 1 },
      { log, stateDir: tmpdir() },
    );
    await sink.start();
    const base = { id: 1, stream: 'opa', firstSeq: 0, size: 20_000, createdAt: 5, note: 'n\n' };
    const unread = (bytes: number): TrailObject => ({
      ...base,
      linesFile: { path: seg, bytes },
      get lines(): Buffer[] {
        throw new Error('lines read although the segment file was given');
      },
    });
    await assert.rejects(sink.put(unread(lines.length + 100)), (e: TailsealError) => e.code === 'SINK_RETRYABLE');
    assert.deepEqual(readdirSync(join(store, 'opa')), [], 'nothing stored, no temporary file');
    assert.equal(await sink.put(unread(lines.length)), 'stored');
    const name = '00000000000000000000-00000000000000019999.ndjson.gz';
    assert.deepEqual(readdirSync(join(store, 'opa')), [name]);
    assert.ok(readFileSync(join(store, 'opa', name)).equals(encodeObject({ ...base, lines: [lines] }, true).body));
  });

  it('start() on an unusable directory is SINK_PERMANENT naming the directory', async () => {
    const blocker = join(dir, 'blocker');
    writeFileSync(blocker, 'x');
    chmodSync(blocker, 0o444);
    const sink = new FileSink(
      { name: 's', type: 'file', dir: join(blocker, 'store'), gzip: false, retry, in_flight: 1 },
      { log, stateDir: tmpdir() },
    );
    await assert.rejects(
      sink.start(),
      (e: TailsealError) => e.code === 'SINK_PERMANENT' && e.message.includes(join(blocker, 'store')),
    );
  });

  it('a FIFO planted at the object name: STORE_UNSAFE (permanent), not a hang on reading it', async () => {
    const d = join(dir, 'fifo');
    mkdirSync(join(d, 'opa'), { recursive: true });
    assert.equal(spawnSync('mkfifo', [join(d, 'opa', '00000000000000000000-00000000000000000000.ndjson')]).status, 0);
    const sink = new FileSink(
      { name: 's', type: 'file', dir: d, gzip: false, retry, in_flight: 1 },
      { log, stateDir: tmpdir() },
    );
    const isFifo = (e: TailsealError) => e.code === 'STORE_UNSAFE' && /is a FIFO/.test(e.message);
    await assert.rejects(sink.put(obj()), isFifo);
    assert.equal(classifyError(new TailsealError('STORE_UNSAFE', 'x')), 'permanent');
  });

  it('a symlinked stream folder (before or after the first write): STORE_UNSAFE, nothing lands outside', async () => {
    const d = join(dir, 'linked');
    const outside = join(dir, 'outside');
    mkdirSync(outside);
    const sink = new FileSink(
      { name: 's', type: 'file', dir: d, gzip: false, retry, in_flight: 1 },
      { log, stateDir: tmpdir() },
    );
    await sink.start();
    symlinkSync(outside, join(d, 'opa'));
    const unsafe = (e: TailsealError) => e.code === 'STORE_UNSAFE' && e.details.path === join(d, 'opa');
    await assert.rejects(sink.put(obj()), unsafe);
    rmSync(join(d, 'opa'));
    assert.equal(await sink.put(obj()), 'stored'); // the sink remembers the folder it made ...
    rmSync(join(d, 'opa'), { recursive: true, force: true });
    symlinkSync(outside, join(d, 'opa')); // ... and still checks it at every write
    await assert.rejects(sink.put({ ...obj(), firstSeq: 1, size: 2 }), (e: TailsealError) => e.code === 'STORE_UNSAFE');
    assert.deepEqual(readdirSync(outside), []);
  });
});
