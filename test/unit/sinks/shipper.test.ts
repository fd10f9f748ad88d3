// The shipper: concurrent uploads, a cursor that only advances over a contiguous prefix,
// Retry-After holding back the whole sink, and parking. Real SQLite state; the sink is a small
// in-process implementation of the Sink interface whose puts the test completes at will.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { TailsealError } from '../../../src/errors.js';
import { createLogger } from '../../../src/log.js';
import { generateKeyPair, parseSignerKey } from '../../../src/trail/keys.js';
import { sealRecords, signHead } from '../../../src/seal/sealer.js';
import { Shipper } from '../../../src/sinks/shipper.js';
import type { PutResult, Sink, TrailObject } from '../../../src/sinks/sink.js';
import { openDatabase } from '../../../src/store/db.js';
import { StateStore } from '../../../src/store/state.js';
import { waitFor } from '../../helpers/daemon.js';

const signer = parseSignerKey(generateKeyPair('tailseal.test/shipper', new Uint8Array(32).fill(3)).signerKey);
const log = createLogger('silent');

/** A state store holding `n` objects of one entry each, object i in stream streams[i % streams.length]. */
function storeWith(dir: string, n: number, streams = ['opa']): StateStore {
  const store = new StateStore(openDatabase(join(dir, `s${Math.random()}.db`)));
  for (let i = 0; i < n; i++) {
    const stream = streams[i % streams.length]!;
    const head = store.streams.loadStream(stream);
    const sealed = sealRecords(
      head,
      [{ kind: 'decision', source: '/x', offset: i, payload: Buffer.from(`{"i":${i}}`) }],
      1000 + i,
    );
    store.commitSealed({ stream: sealed.head, before: head.nextSeq, data: sealed.data });
    store.commitCheckpoint(
      stream,
      head.nextSeq,
      sealed.head.nextSeq,
      signHead('t', sealed.head, 1000 + i, signer),
      1000 + i,
    );
  }
  return store;
}

/** A sink whose puts wait until the test settles them. */
class ManualSink implements Sink {
  readonly type = 'manual';
  readonly name = 'm';
  readonly pending = new Map<number, { resolve: (r: PutResult) => void; reject: (e: unknown) => void }>();
  readonly calls: { id: number; at: number }[] = [];
  async start(): Promise<void> {}
  async close(): Promise<void> {}
  put(obj: TrailObject): Promise<PutResult> {
    this.calls.push({ id: obj.id, at: Date.now() });
    return new Promise((resolve, reject) => this.pending.set(obj.id, { resolve, reject }));
  }
  settle(id: number, outcome: PutResult | Error): void {
    const p = this.pending.get(id)!;
    this.pending.delete(id);
    if (outcome instanceof Error) p.reject(outcome);
    else p.resolve(outcome);
  }
}

describe('shipper', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tailseal-shipper-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('uploads up to in_flight objects at once; the cursor advances only over a contiguous prefix', async () => {
    const store = storeWith(dir, 6);
    const sink = new ManualSink();
    const sh = new Shipper(sink, store.outbox, ['m'], log, () => undefined, {
      backoff: { baseMs: 5, maxMs: 20 },
      inFlight: 3,
      started: true,
    });
    sh.start();
    await waitFor(() => sink.pending.size === 3, 'three uploads in flight');
    assert.deepEqual([...sink.pending.keys()], [1, 2, 3]);
    sink.settle(3, 'stored');
    sink.settle(2, 'stored');
    await waitFor(() => sink.pending.size === 3, 'two more dispatched');
    assert.equal(store.outbox.cursor('m'), 0, 'objects 2 and 3 are stored, but 1 is not: the cursor stays');
    sink.settle(1, 'stored');
    await waitFor(() => store.outbox.cursor('m') === 3, 'the cursor jumps over 1..3 once 1 is stored');
    for (const id of [6, 5, 4]) {
      await waitFor(() => sink.pending.has(id), `object ${id} in flight`);
      sink.settle(id, 'existed');
    }
    await waitFor(() => store.outbox.cursor('m') === 6, 'all acknowledged');
    assert.equal(store.outbox.bytes(), 0, 'the outbox is empty');
    await sh.stop();
    store.close();
  });

  it('a sink with `streams` gets only their objects; the cursor passes the others', async () => {
    const store = storeWith(dir, 6, ['ops', 'compliance']);
    const sink = new ManualSink();
    const sh = new Shipper(sink, store.outbox, ['m'], log, () => undefined, {
      backoff: { baseMs: 5, maxMs: 20 },
      inFlight: 1,
      started: true,
      streams: new Set(['compliance']),
    });
    sh.start();
    for (const id of [2, 4, 6]) {
      await waitFor(() => sink.pending.has(id), `object ${id} in flight`);
      sink.settle(id, 'stored');
    }
    await waitFor(() => store.outbox.cursor('m') === 6, 'the cursor passes every object');
    assert.deepEqual(
      sink.calls.map((c) => c.id),
      [2, 4, 6],
      'only the compliance objects were put',
    );
    await sh.stop();
    store.close();
  });

  it('a trail sink passes an object by only when it is kept elsewhere, and marks what it stored as kept', async () => {
    const store = storeWith(dir, 6, ['ops', 'compliance']);
    const sink = new ManualSink();
    // Another sink ('other') has acknowledged nothing, so the objects stay in the outbox to be looked at.
    const sh = new Shipper(sink, store.outbox, ['m', 'other'], log, () => undefined, {
      backoff: { baseMs: 5, maxMs: 20 },
      inFlight: 1,
      started: true,
      streams: new Set(['compliance']),
      keepsTrail: true,
      // Object 3 (an ops object) would be kept by no other sink: this sink must store it after all.
      mayPass: (o) => o.id !== 3,
    });
    sh.start();
    for (const id of [2, 3, 4, 6]) {
      await waitFor(() => sink.pending.has(id), `object ${id} in flight`);
      sink.settle(id, 'stored');
    }
    await waitFor(() => store.outbox.cursor('m') === 6, 'the cursor passes every object');
    assert.deepEqual(
      sink.calls.map((c) => c.id),
      [2, 3, 4, 6],
    );
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6].map((id) => store.outbox.kept(id)),
      [false, true, true, true, false, true],
      'what it stored is recorded as kept, what it passed by is not',
    );
    await sh.stop();
    store.close();
  });

  it('a Retry-After holds back every upload to the sink, not just the one it answered', async () => {
    const store = storeWith(dir, 2);
    const sink = new ManualSink();
    const sh = new Shipper(sink, store.outbox, ['m'], log, () => undefined, {
      backoff: { baseMs: 1, maxMs: 5 },
      inFlight: 2,
      started: true,
    });
    sh.start();
    await waitFor(() => sink.pending.size === 2, 'both in flight');
    const throttled = Date.now();
    sink.settle(1, new TailsealError('SINK_RETRYABLE', '429', { details: { status: 429, retryAfterMs: 400 } }));
    await new Promise((r) => setTimeout(r, 20));
    sink.settle(2, new TailsealError('SINK_RETRYABLE', '503', { details: { status: 503 } })); // would retry in ~1 ms
    await waitFor(() => sink.pending.size === 2, 'both retried');
    const retries = sink.calls.slice(2);
    assert.ok(
      retries.every((c) => c.at - throttled >= 390),
      `no retry before the Retry-After: ${retries.map((c) => c.at - throttled).join(', ')}`,
    );
    sink.settle(1, 'stored');
    sink.settle(2, 'stored');
    await waitFor(() => store.outbox.cursor('m') === 2, 'delivered');
    await sh.stop();
    store.close();
  });

  it('a permanent refusal parks the object until it is re-queued; nothing after it is acknowledged', async () => {
    const store = storeWith(dir, 2);
    const sink = new ManualSink();
    const sh = new Shipper(sink, store.outbox, ['m'], log, () => undefined, {
      backoff: { baseMs: 1, maxMs: 5 },
      inFlight: 1,
      started: true,
    });
    sh.start();
    await waitFor(() => sink.pending.has(1), 'object 1 in flight');
    sink.settle(1, new TailsealError('SINK_PERMANENT', 'HTTP 403', { details: { status: 403 } }));
    await waitFor(() => store.outbox.isParked('m', 1), 'object 1 parked');
    assert.deepEqual(
      store.outbox.listParked().map((p) => [p.sink, p.objectId, p.code]),
      [['m', 1, 'SINK_PERMANENT']],
    );
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(sink.pending.size, 0, 'no retry while parked');
    assert.equal(store.outbox.cursor('m'), 0);
    assert.equal(store.outbox.unpark('m'), 1);
    await waitFor(() => sink.pending.has(1), 're-queued object retried');
    sink.settle(1, 'stored');
    await waitFor(() => sink.pending.has(2), 'then object 2');
    sink.settle(2, 'stored');
    await waitFor(() => store.outbox.cursor('m') === 2, 'both delivered');
    await sh.stop();
    store.close();
  });

  // Issue 16 item 17c: any success used to reset "failing since", so with in_flight > 1 a sink
  // with a parked object never showed as failing on /readyz.
  it('with in_flight > 1, a parked object keeps the sink failing while other objects are stored', async () => {
    const store = storeWith(dir, 3);
    const sink = new ManualSink();
    let delivered = 0;
    const observer = { delivered: () => void delivered++, failed: () => undefined, parked: () => undefined };
    const opts = { backoff: { baseMs: 1, maxMs: 5 }, inFlight: 3, started: true, observer };
    const sh = new Shipper(sink, store.outbox, ['m'], log, () => undefined, opts);
    sh.start();
    await waitFor(() => sink.pending.size === 3, 'three in flight');
    const refused = Date.now();
    sink.settle(1, new TailsealError('SINK_PERMANENT', 'HTTP 403', { details: { status: 403 } }));
    await waitFor(() => store.outbox.isParked('m', 1), 'object 1 parked');
    sink.settle(2, 'stored');
    sink.settle(3, 'stored');
    await waitFor(() => delivered === 2, 'objects 2 and 3 stored');
    const later = Date.now() + 600_000;
    assert.ok(sh.failingForMs(later) >= later - refused - 50, `failing for ${sh.failingForMs(later)} ms`);
    assert.equal(store.outbox.unpark('m'), 1);
    await waitFor(() => sink.pending.has(1), 're-queued object retried');
    sink.settle(1, 'stored');
    await waitFor(() => store.outbox.cursor('m') === 3, 'all delivered');
    assert.equal(sh.failingForMs(later), 0, 'failing no more once the parked object is stored');
    await sh.stop();
    store.close();
  });
});
