// The checkpointer in process, over a real state store: a checkpoint is signed after
// checkpoint.entries entries (also inside one batch), after max_bytes, on its timer once
// checkpoint.interval has passed, and at a forced tick (stop); never while a stream is sealed in slices.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { parseCheckpoint } from '../../../src/trail/checkpoint.js';
import { noteText } from '../../helpers/trail.js';
import { waitFor } from '../../helpers/daemon.js';
import { ORIGIN, type Rig, batch, decision, rig } from '../../helpers/runtime.js';

const sizes = (r: Rig) => r.objects().map((o) => [o.firstSeq, o.size]);
const many = (from: number, n: number) => Array.from({ length: n }, (_, i) => decision(from + i));

describe('checkpointer', () => {
  let r: Rig;
  afterEach(() => r.close());

  it('signs a checkpoint once checkpoint.entries entries are pending, and not before', () => {
    r = rig({ checkpoint: { entries: 10, interval: '1h', heartbeat: '1h' } });
    for (let i = 0; i < 3; i++) assert.equal(r.committer.commit(batch(many(3 * i, 3))), true);
    assert.deepEqual(sizes(r), []);
    assert.equal(r.calls.notify, 0);
    assert.equal(r.committer.commit(batch(many(9, 1))), true);
    assert.deepEqual(sizes(r), [[0, 10]]);
    assert.equal(r.calls.notify, 1);
    const head = r.checkpointer.heads.get('opa')!;
    assert.equal(head.checkpointedSize, 10);
    assert.equal(head.spoolBytes, 0);
    // The note is a checkpoint of this origin and stream at size 10, signed by the configured key.
    const cp = parseCheckpoint(noteText(head.lastNote!));
    assert.equal(cp.origin, `${ORIGIN}/opa`);
    assert.equal(cp.size, 10);
  });

  it('cuts one batch that brings more than checkpoint.entries into objects of at most that many entries', () => {
    r = rig({ checkpoint: { entries: 10, interval: '1h', heartbeat: '1h' } });
    assert.equal(r.committer.commit(batch(many(0, 4))), true);
    assert.equal(r.committer.commit(batch(many(4, 25))), true);
    assert.deepEqual(sizes(r), [
      [0, 10],
      [10, 20],
    ]);
    assert.equal(r.checkpointer.heads.get('opa')!.checkpointedSize, 20);
    r.checkpointer.tick(true);
    assert.deepEqual(sizes(r).at(-1), [20, 29]);
  });

  it('signs once checkpoint.max_bytes of entries are pending', () => {
    r = rig({ checkpoint: { entries: 100_000, max_bytes: '4KiB', interval: '1h', heartbeat: '1h' } });
    const wide = (i: number) => decision(i, { pad: 'p'.repeat(500) });
    let n = 0;
    while (sizes(r).length === 0 && n < 20) assert.equal(r.committer.commit(batch([wide(n++)])), true);
    assert.ok(n > 1 && n < 20, `signed after ${n} entries`);
    assert.deepEqual(sizes(r), [[0, n]]);
  });

  it('signs on its timer once checkpoint.interval has passed with entries pending', async () => {
    r = rig({ checkpoint: { entries: 100_000, interval: '300ms', heartbeat: '1h' } });
    // A stream never signed is due at once: sign it, so the interval runs from now.
    assert.equal(r.committer.commit(batch(many(0, 1))), true);
    r.checkpointer.tick();
    assert.deepEqual(sizes(r), [[0, 1]]);
    const started = Date.now();
    assert.equal(r.committer.commit(batch(many(1, 3))), true);
    // Not due yet: a tick signs nothing.
    r.checkpointer.tick();
    assert.equal(sizes(r).length, 1);
    r.checkpointer.start();
    try {
      await waitFor(() => sizes(r).length > 1, 'the timer signs the checkpoint', 5000);
    } finally {
      r.checkpointer.stop();
    }
    assert.ok(Date.now() - started >= 250, 'not before the interval');
    assert.deepEqual(sizes(r), [
      [0, 1],
      [1, 4],
    ]);
  });

  it('a forced tick (stop) signs every stream with unsigned entries, skipping one being sealed in slices', async () => {
    r = rig({ checkpoint: { entries: 100_000, interval: '1h', heartbeat: '1h' } });
    assert.equal(r.committer.commit(batch(many(0, 2))), true);
    assert.equal(r.committer.commit(batch(many(0, 5), { stream: 'other' })), true);
    r.checkpointer.tick(true);
    assert.deepEqual(sizes(r).sort(), [
      [0, 2],
      [0, 5],
    ]);
    // Nothing new: a forced tick signs nothing more.
    r.checkpointer.tick(true);
    assert.equal(sizes(r).length, 2);
    assert.equal(r.committer.commit(batch(many(2, 1))), true);
    const sliced = r.committer.commitSliced(batch(many(3, 2000)), 0);
    r.checkpointer.tick(true);
    assert.equal(sizes(r).length, 2);
    assert.equal(await sliced, true);
    r.checkpointer.tick(true);
    assert.deepEqual(sizes(r).at(-1), [2, 2003]);
  });

  it('a checkpoint that cannot be stored does not fail the committed batch, and a later tick signs it', () => {
    r = rig({ checkpoint: { entries: 5, interval: '1h', heartbeat: '1h' } });
    assert.equal(r.committer.commit(batch(many(0, 4))), true);
    // The checkpoint moves the stream's row: make exactly that fail, after the batch committed.
    const commitCheckpoint = r.store.commitCheckpoint.bind(r.store);
    r.store.commitCheckpoint = () => {
      throw new Error('disk full');
    };
    assert.equal(r.committer.commit(batch(many(4, 1))), true);
    assert.equal(r.store.streams.loadStream('opa').nextSeq, 5);
    assert.deepEqual(sizes(r), []);
    r.store.commitCheckpoint = commitCheckpoint;
    r.checkpointer.tick(true);
    assert.deepEqual(sizes(r), [[0, 5]]);
  });
});
