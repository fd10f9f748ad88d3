// The committer (the daemon's BatchConsumer) in process, over a real state store: one transaction
// per batch, backpressure, dedupe, masking before sealing, and commitSliced's all-or-nothing.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { TailsealError } from '../../../src/errors.js';
import { maskSchema } from '../../../src/mask/config.js';
import { type Rig, batch, decision, rig } from '../../helpers/runtime.js';

const payloads = (r: Rig) => r.objects().flatMap((o) => o.entries.map((e) => JSON.parse(e.payload as string)));
const ids = (r: Rig) => payloads(r).map((p: { decision_id: string }) => p.decision_id);
/** Registers a file generation of input "opa" and returns its id. */
const file = (r: Rig) =>
  r.store.files.upsertFile({
    input: 'opa',
    ident: '1:2',
    path: '/var/log/opa/opa.log',
    fingerprint: new Uint8Array(8),
    fpLen: 8,
    offset: 0,
  });

describe('committer', () => {
  let r: Rig;
  afterEach(() => r.close());

  it('commits a batch: its records are sealed and its file position moves in the same transaction', () => {
    r = rig();
    const fileId = file(r);
    const position = { fileId, offset: 300, path: '/var/log/opa/opa.log' };
    assert.equal(r.committer.commit(batch([decision(1), decision(2)], { position })), true);
    assert.equal(r.store.streams.loadStream('opa').nextSeq, 2);
    assert.equal(r.store.files.listFiles()[0]!.offset, 300);
    assert.equal(r.checkpointer.heads.get('opa')!.nextSeq, 2);
    assert.equal(r.committer.commitError, null);
    assert.deepEqual(r.calls.committed, [{ input: 'opa', stream: 'opa', counters: { decisions: 2 } }]);
    r.checkpointer.tick(true);
    assert.deepEqual(ids(r), ['d-1', 'd-2']);
  });

  it('commits nothing when the store fails inside the transaction: no entries, no offset, the head stays', () => {
    r = rig();
    const fileId = file(r);
    assert.equal(r.committer.commit(batch([decision(1)], { position: { fileId, offset: 100, path: '/p' } })), true);
    const before = r.store.outbox.bytes();
    // The file offset is the transaction's last write: its failure must undo the entries and head before it.
    r.failUpdates('files');
    const failing = batch([decision(2), decision(3)], { position: { fileId, offset: 300, path: '/p' } });
    assert.throws(() => r.committer.commit(failing), /injected failure/);
    assert.match(r.committer.commitError!, /injected failure/);
    assert.equal(r.store.streams.loadStream('opa').nextSeq, 1);
    assert.equal(r.checkpointer.heads.get('opa')!.nextSeq, 1);
    assert.equal(r.store.files.listFiles()[0]!.offset, 100);
    assert.equal(r.store.outbox.bytes(), before);
    assert.equal(r.calls.committed.length, 1);
    // Retried once the store works: the same records get the same seqs, the chain has no gap.
    r.heal();
    assert.equal(r.committer.commit(failing), true);
    assert.equal(r.committer.commitError, null);
    r.checkpointer.tick(true);
    assert.deepEqual(ids(r), ['d-1', 'd-2', 'd-3']);
    assert.deepEqual(
      r.objects()[0]!.entries.map((e) => e.seq),
      [0, 1, 2],
    );
  });

  it('outbox full: commit returns false and commits nothing, and the sources are woken once there is room', () => {
    r = rig({ outbox: { max_bytes: '64KiB' } });
    const big = (from: number) =>
      batch(Array.from({ length: 200 }, (_, i) => decision(from + i, { pad: 'x'.repeat(300) })));
    // An empty outbox always takes one batch, even past the limit.
    assert.equal(r.committer.commit(big(0)), true);
    assert.ok(r.store.outbox.bytes() > 64 * 1024);
    assert.equal(r.committer.commit(big(1000)), false);
    assert.equal(r.committer.backpressure, true);
    assert.equal(r.store.streams.loadStream('opa').nextSeq, 200);
    assert.equal(r.committer.admit(0), 'full');
    assert.equal(r.committer.admit(1024 * 1024), 'never');
    // An ack that leaves the outbox full wakes nobody.
    r.committer.onAck();
    assert.equal(r.calls.wake, 0);
    // The sink takes everything: reading resumes, and the sources are told.
    r.checkpointer.tick(true);
    for (let o = r.store.outbox.nextObject(0); o; o = r.store.outbox.nextObject(o.id))
      r.store.outbox.ackObject('local', o.id, ['local']);
    assert.equal(r.store.outbox.bytes(), 0);
    r.committer.onAck();
    assert.equal(r.calls.wake, 1);
    assert.equal(r.committer.backpressure, false);
    assert.equal(r.committer.admit(1000), 'ok');
    assert.equal(r.committer.commit(big(1000)), true);
    assert.equal(r.store.streams.loadStream('opa').nextSeq, 400);
  });

  it('dedupe: a dedupeKey sealed within the window (or repeated in the batch) is skipped and counted', () => {
    r = rig();
    const dedupe = { windowMs: 60_000, maxIds: 1000 };
    const keyed = (i: number) => decision(i, {}, `k-${i}`);
    assert.equal(r.committer.commit(batch([keyed(1), keyed(2)], { dedupe })), true);
    assert.equal(r.committer.commit(batch([keyed(2), keyed(3), keyed(3)], { dedupe })), true);
    r.checkpointer.tick(true);
    assert.deepEqual(ids(r), ['d-1', 'd-2', 'd-3']);
    assert.deepEqual(r.calls.committed[1]!.counters, { decisions: 1, decisions_duplicate: 2 });
    // Without the batch's dedupe settings the keys are not looked at.
    assert.equal(r.committer.commit(batch([keyed(1)])), true);
    assert.equal(r.store.streams.loadStream('opa').nextSeq, 4);
  });

  it("applies the input's mask rules before sealing, and only that input's", () => {
    r = rig();
    r.committer.setMask('opa', maskSchema.parse({ rules: [{ erase: '/input/password' }] }));
    const secret = { input: { user: 'alice', password: 'hunter2' } };
    assert.equal(r.committer.commit(batch([decision(1, secret)])), true);
    assert.equal(r.committer.commit(batch([decision(2, secret)], { input: 'other' })), true);
    r.checkpointer.tick(true);
    const [masked, plain] = payloads(r);
    assert.deepEqual(masked.input, { user: 'alice' });
    assert.equal(masked.decision_id, 'd-1');
    assert.equal(plain.input.password, 'hunter2');
    // Removed rules stop applying.
    r.committer.setMask('opa', undefined);
    assert.equal(r.committer.commit(batch([decision(3, secret)])), true);
    r.checkpointer.tick(true);
    assert.equal(payloads(r)[2].input.password, 'hunter2');
  });

  it('commitSliced commits every record or none: a store failure leaves nothing, a retry commits all', async () => {
    r = rig();
    const records = Array.from({ length: 2000 }, (_, i) => decision(i, { pad: 'y'.repeat(200) }));
    r.failUpdates('streams');
    await assert.rejects(r.committer.commitSliced(batch(records), 0), /injected failure/);
    assert.equal(r.store.streams.loadStream('opa').nextSeq, 0);
    assert.equal(r.store.outbox.bytes(), 0);
    assert.equal(r.committer.sealing('opa'), false);
    r.heal();
    assert.equal(await r.committer.commitSliced(batch(records), 0), true);
    assert.equal(r.store.streams.loadStream('opa').nextSeq, 2000);
    r.checkpointer.tick(true);
    assert.deepEqual(
      ids(r),
      records.map((_, i) => `d-${i}`),
    );
  });

  it('commitSliced locks its stream: commit() of it is turned away meanwhile and its sources woken after', async () => {
    r = rig();
    const records = Array.from({ length: 3000 }, (_, i) => decision(i, { pad: 'z'.repeat(200) }));
    const sliced = r.committer.commitSliced(batch(records), 0);
    assert.equal(r.committer.sealing('opa'), true);
    assert.equal(r.committer.commit(batch([decision(99_999)])), false);
    // Another stream is not locked.
    assert.equal(r.committer.commit(batch([decision(5)], { stream: 'other' })), true);
    assert.equal(r.calls.wake, 0);
    assert.equal(await sliced, true);
    assert.equal(r.calls.wake, 1);
    assert.equal(r.committer.commit(batch([decision(99_999)])), true);
    assert.equal(r.store.streams.loadStream('opa').nextSeq, 3001);
  });

  it('commitSliced gives up without committing when the daemon halts meanwhile', async () => {
    r = rig();
    const records = Array.from({ length: 3000 }, (_, i) => decision(i, { pad: 'z'.repeat(200) }));
    const sliced = r.committer.commitSliced(batch(records), 0);
    r.committer.halt();
    await assert.rejects(sliced, (e: TailsealError) => e.code === 'STATE_UNAVAILABLE');
    await r.committer.idle();
    assert.equal(r.store.streams.loadStream('opa').nextSeq, 0);
    assert.equal(r.store.outbox.bytes(), 0);
  });
});
