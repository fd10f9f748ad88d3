// The state database: migrations, atomic seal commits, the outbox and sink cursors.
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { TailsealError } from '../../../src/errors.js';
import { CHAIN_START } from '../../../src/trail/envelope.js';
import { parseSignerKey, generateKeyPair } from '../../../src/trail/keys.js';
import { type CheckpointPolicy, checkpointDue, sealRecords, signHead } from '../../../src/seal/sealer.js';
import { SCHEMA_VERSION, openDatabase, probeState } from '../../../src/store/db.js';
import { CompactRange } from '../../../src/trail/merkle.js';
import { MIGRATIONS } from '../../../src/store/sql.js';
import { StateStore } from '../../../src/store/state.js';
import { finishedGenerationGone } from '../../../src/sources/file/recover.js';

const rec = (s: string, offset = 0) => ({
  kind: 'decision' as const,
  source: '/x.log',
  offset,
  payload: Buffer.from(s),
});

describe('state store', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tailseal-store-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const signer = parseSignerKey(generateKeyPair('tailseal.test/store', new Uint8Array(32).fill(7)).signerKey);
  /** The outbox segment file of stream "opa" starting at `firstSeq`, beside database `db`. */
  const segment = (db: string, firstSeq: number) =>
    join(dir, `${db}-outbox`, 'opa', `${String(firstSeq).padStart(20, '0')}.ndjson`);

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
    assert.throws(
      () => openDatabase(f),
      (e: TailsealError) => e.code === 'STATE_VERSION',
    );
  });

  it('a file that is not a database is STATE_CORRUPT with advice', () => {
    const f = join(dir, 'garbage.db');
    writeFileSync(f, 'this is not sqlite, just some text that is long enough to have a header '.repeat(20));
    assert.throws(
      () => openDatabase(f),
      (e: TailsealError) => e.code === 'STATE_CORRUPT' && /move it aside/.test(e.message),
    );
  });

  it('sealRecords does not touch the head it is given; commits move offset, head and outbox together', () => {
    const store = new StateStore(openDatabase(join(dir, 'b.db')));
    const head = store.streams.loadStream('opa');
    assert.equal(head.nextSeq, 0);
    assert.deepEqual(head.chainHead, CHAIN_START);
    const fileId = store.files.upsertFile({
      input: 'opa',
      ident: '1:2',
      path: '/x.log',
      fingerprint: new Uint8Array(32),
      fpLen: 0,
      offset: 0,
    });
    const sealed = sealRecords(head, [rec('a'), rec('b', 2)], 1000);
    assert.equal(head.nextSeq, 0, 'input head unchanged');
    assert.equal(head.edge.size, 0);
    store.commitSealed({
      stream: sealed.head,
      before: 0,
      data: sealed.data,
      file: { id: fileId, offset: 4, path: '/x.log' },
      counters: { decisions: 2 },
    });
    const after1 = store.streams.loadStream('opa');
    assert.equal(after1.nextSeq, 2);
    assert.deepEqual(after1.edge.root(), sealed.head.edge.root());
    assert.equal(store.files.findFile('1:2')!.offset, 4);
    assert.equal(store.counters.get('decisions'), 2);
    assert.equal(
      store.outbox.bytes(),
      sealed.entries.reduce((n, e) => n + e.line.length, 0),
    );

    // A stale writer (wrong `before`) changes nothing at all: not the offset, not the outbox.
    const again = sealRecords(head, [rec('c', 4)], 2000);
    assert.throws(
      () =>
        store.commitSealed({
          stream: again.head,
          before: 0,
          data: again.data,
          file: { id: fileId, offset: 6, path: '/x.log' },
        }),
      (e: TailsealError) => e.code === 'STATE_CORRUPT',
    );
    assert.equal(store.files.findFile('1:2')!.offset, 4, 'offset not advanced by the failed commit');
    assert.equal(store.streams.loadStream('opa').nextSeq, 2);
    assert.equal(store.streams.loadStream('opa').spoolBytes, sealed.data.length, 'no entry from the failed commit');
    assert.equal(
      statSync(segment('b.db', 0)).size,
      sealed.data.length,
      'the segment holds exactly the committed lines',
    );
    store.close();
  });

  it('checkpoints become objects; acks by every sink free the outbox', async () => {
    const store = new StateStore(openDatabase(join(dir, 'c.db')));
    const head = store.streams.loadStream('opa');
    const sealed = sealRecords(head, [rec('a'), rec('b'), rec('c')], 1000);
    store.commitSealed({ stream: sealed.head, before: 0, data: sealed.data });
    const note = signHead('tailseal.test', sealed.head, 1500, signer);
    const obj = store.commitCheckpoint('opa', 0, 3, note, 1500);
    assert.equal(store.streams.loadStream('opa').checkpointedSize, 3);
    assert.equal(store.streams.loadStream('opa').lastNote, note);
    const sinks = ['a', 'b'];
    assert.equal(store.outbox.nextObject(store.outbox.cursor('a'))!.id, obj.id);
    store.outbox.ackObject('a', obj.id, sinks);
    assert.equal(store.outbox.nextObject(store.outbox.cursor('a')), undefined, 'sink a is done');
    assert.deepEqual(Buffer.concat(store.outbox.objectLines(obj)), sealed.data, 'kept until sink b has it too');
    store.outbox.ackObject('b', obj.id, sinks);
    await store.outbox.segmentsRemoved();
    assert.equal(existsSync(segment('c.db', 0)), false, 'deleted once every sink has it');
    assert.equal(store.outbox.bytes(), 0);
    store.close();
  });
});

describe('outbox segments (crash recovery)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tailseal-spool-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const signer = parseSignerKey(generateKeyPair('tailseal.test/store', new Uint8Array(32).fill(7)).signerKey);
  const segDir = (db: string) => join(dir, `${db}-outbox`, 'opa');
  const segment = (db: string, firstSeq: number) => join(segDir(db), `${String(firstSeq).padStart(20, '0')}.ndjson`);
  const open = (db: string) => {
    const store = new StateStore(openDatabase(join(dir, db)));
    store.outbox.recoverOutbox();
    return store;
  };
  /** Seals and commits `n` records after the stored head; returns the committed lines. */
  const commit = (store: StateStore, n: number, tag: string): Buffer => {
    const head = store.streams.loadStream('opa');
    const sealed = sealRecords(
      head,
      Array.from({ length: n }, (_, i) => rec(`${tag}${i}`, i)),
      1000,
    );
    store.commitSealed({ stream: sealed.head, before: head.nextSeq, data: sealed.data });
    return Buffer.from(sealed.data);
  };
  const checkpoint = (store: StateStore) => {
    const s = store.streams.loadStream('opa');
    return store.commitCheckpoint(
      'opa',
      s.checkpointedSize,
      s.nextSeq,
      signHead('tailseal.test', s, 1500, signer),
      1500,
    );
  };

  it('cuts bytes a crash left past the committed length, and deletes orphan segments', () => {
    let store = open('cut.db');
    const first = commit(store, 2, 'a');
    store.close();
    // A crash after the append but before COMMIT, and one after an ack's COMMIT but before its unlink.
    appendFileSync(segment('cut.db', 0), 'torn line without its commit');
    writeFileSync(segment('cut.db', 99), 'an object every sink already has');
    store = open('cut.db');
    assert.equal(statSync(segment('cut.db', 0)).size, first.length);
    assert.deepEqual(readdirSync(segDir('cut.db')), [`${'0'.repeat(20)}.ndjson`]);
    const second = commit(store, 1, 'b');
    const obj = checkpoint(store);
    assert.deepEqual(Buffer.concat(store.outbox.objectLines(obj)), Buffer.concat([first, second]));
    store.close();
  });

  it('a commit that fails after writing its lines leaves the segment at the committed length', () => {
    const store = open('fail.db');
    const first = commit(store, 2, 'a');
    const head = store.streams.loadStream('opa');
    const sealed = sealRecords(head, [rec('x')], 1000);
    // A NULL counter value breaks the transaction after the lines were appended.
    assert.throws(() =>
      store.commitSealed({
        stream: sealed.head,
        before: head.nextSeq,
        data: sealed.data,
        counters: { broken: null as unknown as number },
      }),
    );
    assert.equal(statSync(segment('fail.db', 0)).size, first.length);
    assert.equal(store.streams.loadStream('opa').nextSeq, 2);
    const obj = checkpoint(store);
    assert.deepEqual(Buffer.concat(store.outbox.objectLines(obj)), first);
    store.close();
  });

  it('reports an acknowledged segment it cannot delete (freed in the background)', async () => {
    const failed: string[] = [];
    const store = new StateStore(openDatabase(join(dir, 'unlink.db')), (file) => failed.push(file));
    store.outbox.recoverOutbox();
    commit(store, 2, 'a');
    const o1 = checkpoint(store);
    // A directory by the segment's name cannot be removed without recursion: the unlink fails.
    rmSync(segment('unlink.db', 0));
    mkdirSync(join(segment('unlink.db', 0), 'x'), { recursive: true });
    store.outbox.ackObject('s', o1.id, ['s']);
    await store.outbox.segmentsRemoved();
    assert.deepEqual(failed, [segment('unlink.db', 0)]);
    assert.equal(store.outbox.bytes(), 0, 'the object is still acknowledged and forgotten');
    store.close();
  });

  it('acknowledging a heartbeat keeps the segment of the entries after it', async () => {
    const store = open('hb.db');
    commit(store, 2, 'a');
    const o1 = checkpoint(store);
    const hb = checkpoint(store); // nothing new: a heartbeat [2, 2)
    const lines = commit(store, 3, 'b');
    store.outbox.ackObject('s', o1.id, ['s']);
    store.outbox.ackObject('s', hb.id, ['s']);
    await store.outbox.segmentsRemoved();
    assert.equal(existsSync(segment('hb.db', 0)), false, 'the acknowledged object is freed');
    assert.equal(statSync(segment('hb.db', 2)).size, lines.length, 'the open segment at 2 is kept');
    const o3 = checkpoint(store);
    assert.deepEqual(Buffer.concat(store.outbox.objectLines(o3)), lines);
    store.close();
  });

  it('a committed segment missing at start is STATE_CORRUPT', () => {
    let store = open('gone.db');
    commit(store, 1, 'a');
    store.close();
    rmSync(segment('gone.db', 0));
    store = new StateStore(openDatabase(join(dir, 'gone.db')));
    assert.throws(
      () => store.outbox.recoverOutbox(),
      (e: TailsealError) => e.code === 'STATE_CORRUPT' && e.message.includes(segment('gone.db', 0)),
    );
    store.close();
  });

  it('moves a schema v2 outbox (entry rows in SQLite) into segment files', () => {
    const file = join(dir, 'v2.db');
    const raw = new Database(file);
    raw.exec(MIGRATIONS[0]!);
    raw.exec(MIGRATIONS[1]!);
    raw.pragma('user_version = 2');
    const sealed = sealRecords(
      new StateStore(openDatabase(join(dir, 'scratch.db'))).streams.loadStream('opa'),
      [rec('a'), rec('b'), rec('c')],
      1000,
    );
    const lines = sealed.entries.map((e) => Buffer.from(e.line));
    raw
      .prepare(
        'INSERT INTO streams (name, next_seq, chain_head, tree_edge, checkpointed_size, checkpointed_at, ' +
          'last_note) VALUES (?, 3, ?, ?, 2, 1500, ?)',
      )
      .run('opa', Buffer.from(sealed.head.chainHead), Buffer.from(sealed.head.edge.serialize()), 'note');
    lines.forEach((l, seq) =>
      raw.prepare('INSERT INTO entries (stream, seq, line) VALUES (?, ?, ?)').run('opa', seq, l),
    );
    raw
      .prepare('INSERT INTO objects (stream, first_seq, size, note, bytes, created_at) VALUES (?, 0, 2, ?, ?, 1500)')
      .run('opa', 'note', lines[0]!.length + lines[1]!.length);
    raw.close();

    const store = open('v2.db');
    assert.equal(
      store.streams.loadStream('opa').spoolBytes,
      lines[2]!.length,
      'the unsigned entry is the open segment',
    );
    const obj = store.outbox.nextObject(0)!;
    assert.deepEqual(Buffer.concat(store.outbox.objectLines(obj)), Buffer.concat([lines[0]!, lines[1]!]));
    assert.deepEqual(readFileSync(segment('v2.db', 2)), lines[2]);
    const db = new Database(file, { readonly: true });
    assert.equal((db.prepare('SELECT COUNT(*) AS n FROM entries').get() as { n: number }).n, 0, 'the rows are gone');
    db.close();
    store.close();
  });

  it('moves a schema v4 "done:" path prefix into the files.done column', () => {
    const file = join(dir, 'v4.db');
    const raw = new Database(file);
    for (const m of MIGRATIONS.slice(0, 4)) raw.exec(m);
    raw.pragma('user_version = 4');
    const insert = raw.prepare(
      'INSERT INTO files (input, ident, path, fingerprint, fp_len, offset, updated_at) VALUES (?, ?, ?, ?, 0, ?, 1)',
    );
    insert.run('logs', '1:1', 'done:/l/a.log', Buffer.alloc(32), 10); // finished (rotated away, read to its end)
    insert.run('logs', '1:2', '/l/b.log', Buffer.alloc(32), 20); // being read
    raw.close();

    const store = open('v4.db');
    assert.deepEqual(
      store.files.listFiles().map((f) => [f.ident, f.path, f.done, f.offset]),
      [
        ['1:1', '/l/a.log', true, 10],
        ['1:2', '/l/b.log', false, 20],
      ],
    );
    assert.deepEqual([store.files.findFile('1:1')?.done, store.files.findFile('1:2')?.done], [true, false]);
    assert.deepEqual(
      store.files.finishedFilesBefore(2).map((f) => f.path),
      ['/l/a.log'],
    );
    store.close();
    const db = new Database(file, { readonly: true });
    assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    db.close();
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
  it('pending bytes over max_bytes, interval not passed', () =>
    assert.equal(checkpointDue({ nextSeq: 5, checkpointedSize: 0, checkpointedAt: 1000 }, 1100, p, 10_000), true));
  it('pending bytes under max_bytes, interval not passed', () =>
    assert.equal(checkpointDue({ nextSeq: 5, checkpointedSize: 0, checkpointedAt: 1000 }, 1100, p, 9_999), false));
});

describe('finished file records expire', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tailseal-expire-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  it('only finished generations, last updated before the cutoff, whose file no longer exists', () => {
    const store = new StateStore(openDatabase(join(dir, 'e.db')));
    const fp = new Uint8Array(32);
    const add = (ident: string, path: string) =>
      store.files.upsertFile({ input: 'opa', ident, path, fingerprint: fp, fpLen: 0, offset: 0 });
    // Finished the way a generation's last commit (or its gap record) finishes it: with the commit.
    const finish = (id: number, path: string) => {
      const head = store.streams.loadStream('opa');
      const sealed = sealRecords(head, [rec('last')], 1000);
      store.commitSealed({
        stream: sealed.head,
        before: head.nextSeq,
        data: sealed.data,
        file: { id, offset: 5, path, done: true },
      });
    };
    finish(add('1:1', '/l/a.log'), '/l/a.log'); // finished, gone          -> expires
    finish(add('1:2', '/l/b.log'), '/l/b.log'); // finished, still on disk -> kept (else it would be read again)
    add('1:3', '/l/c.log'); //                     being read              -> kept
    assert.deepEqual(
      store.files.listFiles().map((f) => f.done),
      [true, true, false],
    );
    // The file source judges which finished files are gone (recover.ts finishedGenerationGone); here '1:2' is on disk.
    const expire = (cutoff: number) => {
      const gone = store.files
        .finishedFilesBefore(cutoff)
        .filter((f) => f.ident !== '1:2')
        .map((f) => f.id);
      store.files.deleteFiles(gone);
      return gone.length;
    };
    assert.equal(expire(Date.now() - 60_000), 0, 'nothing is old enough yet');
    assert.equal(expire(Date.now() + 1), 1);
    assert.deepEqual(
      store.files.listFiles().map((f) => f.ident),
      ['1:2', '1:3'],
    );
    store.close();
  });

  it('a finished file is gone only when no file beside its last path has its (device, inode), and a directory that cannot be read decides nothing', async () => {
    const d = mkdtempSync(join(dir, 'files-'));
    const identOf = (p: string) => {
      const st = statSync(p, { bigint: true });
      return `${st.dev}:${st.ino}`;
    };
    writeFileSync(join(d, 'here.log'), 'x\n');
    writeFileSync(join(d, 'rotated.log'), 'x\n');
    const rotated = identOf(join(d, 'rotated.log'));
    renameSync(join(d, 'rotated.log'), join(d, 'rotated.log.1'));
    writeFileSync(join(d, 'deleted.log'), 'x\n');
    const deleted = identOf(join(d, 'deleted.log'));
    rmSync(join(d, 'deleted.log'));
    const gone = (ident: string, path: string) => finishedGenerationGone({ ident, path });
    assert.equal(await gone(identOf(join(d, 'here.log')), join(d, 'here.log')), false, 'still at its path');
    assert.equal(await gone(rotated, join(d, 'rotated.log')), false, 'renamed beside it');
    assert.equal(await gone(deleted, join(d, 'deleted.log')), true, 'deleted');
    assert.equal(await gone(deleted, join(d, 'no-such-dir', 'a.log')), true, 'its directory is gone');
    // A directory that cannot be listed (here: the "directory" is a file, ENOTDIR) keeps the record.
    assert.equal(await gone(deleted, join(d, 'here.log', 'a.log')), false, 'unreadable directory');
  });
});

describe('probing the state database at start', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tailseal-probe-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  it('missing, empty (0 bytes, or never sealed), corrupt, or holding state', () => {
    assert.equal(probeState(join(dir, 'none.db'))?.cause, 'missing');
    writeFileSync(join(dir, 'zero.db'), '');
    assert.equal(probeState(join(dir, 'zero.db'))?.cause, 'empty');
    const fresh = new StateStore(openDatabase(join(dir, 'fresh.db')));
    fresh.streams.loadStream('opa'); // a stream row, nothing sealed: a first start killed early
    fresh.close();
    assert.equal(probeState(join(dir, 'fresh.db'))?.cause, 'empty');
    writeFileSync(join(dir, 'junk.db'), 'not a database '.repeat(400));
    assert.equal(probeState(join(dir, 'junk.db'))?.cause, 'corrupt');
    const used = new StateStore(openDatabase(join(dir, 'used.db')));
    used.streams.restoreStream('opa', {
      size: 3,
      chainHead: new Uint8Array(32),
      edge: CompactRange.empty(),
      note: 'n',
      signedAt: 1,
    });
    used.close();
    assert.equal(probeState(join(dir, 'used.db')), null);
  });
  it('a new database gives freed pages back (auto_vacuum incremental) and vacuumStep runs', () => {
    const f = join(dir, 'vac.db');
    const store = new StateStore(openDatabase(f));
    store.vacuumStep();
    store.close();
    const db = new Database(f, { readonly: true });
    assert.equal(db.pragma('auto_vacuum', { simple: true }), 2);
    db.close();
  });
});
