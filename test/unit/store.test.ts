// The state database: migrations, atomic seal commits, the outbox and sink cursors.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { TailsealError } from '../../src/errors.js';
import { CHAIN_START } from '../../src/seal/envelope.js';
import { parseSignerKey, generateKeyPair } from '../../src/seal/keys.js';
import { type CheckpointPolicy, checkpointDue, sealRecords, signHead } from '../../src/seal/sealer.js';
import { SCHEMA_VERSION, openDatabase } from '../../src/store/db.js';
import { StateStore } from '../../src/store/state.js';

const rec = (s: string, offset = 0) => ({ kind: 'decision' as const, source: '/x.log', offset, payload: Buffer.from(s) });

describe('state store', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tailseal-store-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const signer = parseSignerKey(generateKeyPair('tailseal.test/store', new Uint8Array(32).fill(7)).signerKey);

  it('creates the schema and records its version in PRAGMA user_version', () => {
    const db = openDatabase(join(dir, 'a', 'state.db'));
    assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    db.close();
  });

  it('refuses a database from a newer tailseal', () => {
    const f = join(dir, 'newer.db');
    const db = openDatabase(f);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    assert.throws(() => openDatabase(f), (e: TailsealError) => e.code === 'STATE_VERSION');
  });

  it('a file that is not a database is STATE_CORRUPT with advice', () => {
    const f = join(dir, 'garbage.db');
    writeFileSync(f, 'this is not sqlite, just some text that is long enough to have a header '.repeat(20));
    assert.throws(() => openDatabase(f), (e: TailsealError) => e.code === 'STATE_CORRUPT' && /move it aside/.test(e.message));
  });

  it('sealRecords does not touch the head it is given; commits move offset, head and outbox together', () => {
    const store = new StateStore(openDatabase(join(dir, 'b.db')));
    const head = store.loadStream('opa');
    assert.equal(head.nextSeq, 0);
    assert.deepEqual(head.chainHead, CHAIN_START);
    const fileId = store.upsertFile({ input: 'opa', ident: '1:2', path: '/x.log', fingerprint: new Uint8Array(32), fpLen: 0, offset: 0 });
    const sealed = sealRecords(head, [rec('a'), rec('b', 2)], 1000);
    assert.equal(head.nextSeq, 0, 'input head unchanged');
    assert.equal(head.edge.size, 0);
    store.commitSealed({ stream: sealed.head, before: 0, entries: sealed.entries, file: { id: fileId, offset: 4, path: '/x.log' }, counters: { decisions: 2 } });
    const after1 = store.loadStream('opa');
    assert.equal(after1.nextSeq, 2);
    assert.deepEqual(after1.edge.root(), sealed.head.edge.root());
    assert.equal(store.findFile('1:2')!.offset, 4);
    assert.equal(store.counter('decisions'), 2);
    assert.equal(store.outboxBytes(), sealed.entries.reduce((n, e) => n + e.line.length, 0));

    // A stale writer (wrong `before`) changes nothing at all: not the offset, not the outbox.
    const again = sealRecords(head, [rec('c', 4)], 2000);
    assert.throws(() => store.commitSealed({ stream: again.head, before: 0, entries: again.entries, file: { id: fileId, offset: 6, path: '/x.log' } }), (e: TailsealError) => e.code === 'STATE_CORRUPT');
    assert.equal(store.findFile('1:2')!.offset, 4, 'offset not advanced by the failed commit');
    assert.equal(store.loadStream('opa').nextSeq, 2);
    assert.equal(store.entryLines('opa', 0, 10).length, 2, 'no entry from the failed commit');
    store.close();
  });

  it('checkpoints become objects; acks by every sink free the outbox', () => {
    const store = new StateStore(openDatabase(join(dir, 'c.db')));
    const head = store.loadStream('opa');
    const sealed = sealRecords(head, [rec('a'), rec('b'), rec('c')], 1000);
    store.commitSealed({ stream: sealed.head, before: 0, entries: sealed.entries });
    const note = signHead('tailseal.test', sealed.head, 1500, signer);
    const obj = store.commitCheckpoint('opa', 0, 3, note, 1500);
    assert.equal(store.loadStream('opa').checkpointedSize, 3);
    assert.equal(store.loadStream('opa').lastNote, note);
    const sinks = ['a', 'b'];
    assert.equal(store.nextObject(store.cursor('a'))!.id, obj.id);
    store.ackObject('a', obj.id, sinks);
    assert.equal(store.nextObject(store.cursor('a')), undefined, 'sink a is done');
    assert.equal(store.entryLines('opa', 0, 3).length, 3, 'kept until sink b has it too');
    store.ackObject('b', obj.id, sinks);
    assert.equal(store.entryLines('opa', 0, 3).length, 0, 'deleted once every sink has it');
    assert.equal(store.outboxBytes(), 0);
    store.close();
  });
});

describe('checkpoint policy', () => {
  const p: CheckpointPolicy = { entries: 100, maxBytes: 10_000, intervalMs: 1000, heartbeatMs: 60_000 };
  const cases: [string, { nextSeq: number; checkpointedSize: number; checkpointedAt: number }, number, boolean][] = [
    ['N entries pending', { nextSeq: 100, checkpointedSize: 0, checkpointedAt: 0 }, 1, true],
    ['few pending, interval not passed', { nextSeq: 5, checkpointedSize: 0, checkpointedAt: 1000 }, 1500, false],
    ['few pending, interval passed', { nextSeq: 5, checkpointedSize: 0, checkpointedAt: 1000 }, 2000, true],
    ['idle, heartbeat not due', { nextSeq: 5, checkpointedSize: 5, checkpointedAt: 1000 }, 30_000, false],
    ['idle, heartbeat due', { nextSeq: 5, checkpointedSize: 5, checkpointedAt: 1000 }, 61_000, true],
  ];
  for (const [desc, s, now, want] of cases) it(desc, () => assert.equal(checkpointDue(s, now, p), want));
  it('pending bytes over max_bytes, interval not passed', () => assert.equal(checkpointDue({ nextSeq: 5, checkpointedSize: 0, checkpointedAt: 1000 }, 1100, p, 10_000), true));
  it('pending bytes under max_bytes, interval not passed', () => assert.equal(checkpointDue({ nextSeq: 5, checkpointedSize: 0, checkpointedAt: 1000 }, 1100, p, 9_999), false));
});
