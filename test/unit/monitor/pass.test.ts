// The fleet monitor's pass over real file stores built with test/helpers/trail.ts: each origin's
// status (ok, broken with the verify code, silent by the injected clock, fork, untrusted_key),
// incremental passes that read only new objects, and a restart that resumes from monitor.db.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { type PassDeps, type PassResult, runPass } from '../../../src/monitor/pass.js';
import { MonitorState } from '../../../src/store/monitor-state.js';
import { fileStoreReader } from '../../../src/sinks/file/reader.js';
import type { NoteVerifier } from '../../../src/trail/keys.js';
import { DEFAULT_MAX_OBJECT_BYTES } from '../../../src/trail/object.js';
import {
  type SealedTrail,
  decisionLine,
  editObject,
  removeObject,
  sealTrail,
  tempDir,
  testKey,
  writeObject,
} from '../../helpers/trail.js';

const KEY_A = testKey('pod-a', 1);
const KEY_B = testKey('pod-b', 2);
const ROGUE = testKey('rogue', 9);
const ORIGIN_A = 'fleet.test/pod-a/opa';
const ORIGIN_B = 'fleet.test/pod-b/opa';
const MINUTE = 60_000;

const trailA = (plan = [2, 2, 'heartbeat' as const, 3]) => sealTrail({ origin: 'fleet.test/pod-a', key: KEY_A, plan });
const trailB = () => sealTrail({ origin: 'fleet.test/pod-b', key: KEY_B, plan: [1, 1] });

/** Writes objects of a sealed trail (all, or those at `indexes`) under `prefix/` of the store. */
function put(dir: string, prefix: string, t: SealedTrail, indexes?: number[]): void {
  for (const [i, o] of t.objects.entries())
    if (!indexes || indexes.includes(i)) writeObject(dir, `${prefix}/${o.name}`, o.body);
}

interface Fixture {
  dir: string;
  stateDir: string;
  state: MonitorState;
  clock: { now: number };
  pass(over?: Partial<PassDeps>): Promise<PassResult>;
  reopen(): void;
}

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

function fixture(
  keys: Record<string, NoteVerifier[]> = { [ORIGIN_A]: [KEY_A.verifier], [ORIGIN_B]: [KEY_B.verifier] },
) {
  const dir = tempDir('tailseal-monitor-store-');
  const stateDir = tempDir('tailseal-monitor-state-');
  const f: Fixture = {
    dir,
    stateDir,
    state: MonitorState.open(stateDir),
    clock: { now: 0 },
    pass: (over = {}) =>
      runPass({
        stores: [{ name: 'fleet', reader: () => fileStoreReader(dir) }],
        state: f.state,
        keysFor: (o) => keys[o] ?? [],
        maxSilenceFor: (o) => (o === ORIGIN_B ? 30 * MINUTE : 10 * MINUTE),
        fullEveryMs: 24 * 60 * MINUTE,
        now: () => f.clock.now,
        maxObjectBytes: DEFAULT_MAX_OBJECT_BYTES,
        concurrency,
        ...over,
      }),
    reopen: () => {
      f.state.close();
      f.state = MonitorState.open(stateDir);
    },
  };
  cleanups.push(() => {
    f.state.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(stateDir, { recursive: true, force: true });
  });
  return f;
}

const statusOf = (r: PassResult, origin: string) => r.origins.find((o) => o.origin === origin);

// Every case at concurrency 1 and 4: origins verified in parallel get the same statuses.
let concurrency = 1;
for (const n of [1, 4])
  describe(`monitor pass (concurrency ${n})`, () => {
    beforeEach(() => (concurrency = n));

    it('discovers every origin, verifies each, and reads only new objects on the next pass', async () => {
      const f = fixture();
      const a = trailA();
      put(f.dir, 'pod-a', a, [0, 1]);
      put(f.dir, 'pod-b', trailB());
      f.clock.now = a.objects[1]!.createdAt + MINUTE;
      const first = await f.pass();
      assert.equal(first.full, true);
      assert.equal(first.objectsRead, 4);
      assert.deepEqual(
        first.origins.map((o) => [o.origin, o.status, o.newest?.size]),
        [
          [ORIGIN_A, 'ok', 4],
          [ORIGIN_B, 'ok', 2],
        ],
      );
      assert.equal(first.changed.length, 2, 'a new origin is a change (logged once)');
      assert.deepEqual(
        first.verified.map((v) => [v.origin, v.size, v.note === a.objects[1]!.note || v.origin === ORIGIN_B]),
        [
          [ORIGIN_A, 4, true],
          [ORIGIN_B, 2, true],
        ],
      );

      put(f.dir, 'pod-a', a, [2, 3]);
      f.clock.now = a.newestTime + MINUTE;
      const second = await f.pass();
      assert.equal(second.full, false);
      assert.equal(second.objectsRead, 2, 'only the two new objects are read');
      assert.equal(statusOf(second, ORIGIN_A)?.newest?.size, 7);
      assert.equal(statusOf(second, ORIGIN_A)?.status, 'ok');
      assert.equal(second.changed.length, 0, 'no status changed');

      // A restart (a new process: the state database reopened) resumes: nothing new, nothing read.
      f.reopen();
      const third = await f.pass();
      assert.equal(third.objectsRead, 0);
      assert.equal(statusOf(third, ORIGIN_A)?.newest?.size, 7);
    });

    it('a full pass on schedule re-reads everything and catches an object altered after it was verified', async () => {
      const f = fixture();
      const a = trailA();
      put(f.dir, 'pod-a', a);
      f.clock.now = a.newestTime;
      assert.equal(statusOf(await f.pass(), ORIGIN_A)?.status, 'ok');
      editObject(f.dir, `pod-a/${a.objects[0]!.name}`, (lines) => [
        lines[0]!.replace('user-0', 'user-X'),
        ...lines.slice(1),
      ]);
      const incremental = await f.pass();
      assert.equal(incremental.objectsRead, 0);
      assert.equal(statusOf(incremental, ORIGIN_A)?.status, 'ok', 'an incremental pass trusts what it verified');
      f.clock.now += 24 * 60 * MINUTE;
      const full = await f.pass();
      assert.equal(full.full, true);
      const o = statusOf(full, ORIGIN_A)!;
      assert.equal(o.status, 'broken');
      assert.equal(o.finding.code, 'ENTRY_ALTERED');
      assert.equal(o.finding.object, `pod-a/${a.objects[0]!.name}`);
      assert.equal(o.finding.seq, 0);
      assert.deepEqual(
        full.changed.map((c) => [c.view.origin, c.before?.status, c.view.status]),
        [[ORIGIN_A, 'ok', 'broken']],
      );
      // Broken stays broken: the next (incremental) pass reads the origin again and finds the same break.
      const next = await f.pass();
      assert.equal(next.full, false);
      assert.equal(statusOf(next, ORIGIN_A)?.finding.code, 'ENTRY_ALTERED');
      assert.equal(next.changed.length, 0, 'logged once, not every pass');
    });

    const breaks: { name: string; code: string; seq: number; tamper: (dir: string, t: SealedTrail) => void }[] = [
      {
        name: 'an entry altered',
        code: 'ENTRY_ALTERED',
        seq: 4,
        tamper: (dir, t) =>
          editObject(dir, `pod-a/${t.objects[3]!.name}`, (l) => [l[0]!.replace('user-4', 'user-Y'), ...l.slice(1)]),
      },
      {
        name: 'an entry removed',
        code: 'ENTRY_MISSING',
        seq: 4,
        tamper: (dir, t) => editObject(dir, `pod-a/${t.objects[3]!.name}`, (l) => l.slice(1)),
      },
      {
        name: 'the checkpoint line cut off',
        code: 'TAIL_TRUNCATED',
        seq: 6,
        tamper: (dir, t) => editObject(dir, `pod-a/${t.objects[3]!.name}`, (l) => l.slice(0, -1)),
      },
      {
        name: 'an object deleted before the next arrives',
        code: 'ENTRY_MISSING',
        seq: 4,
        tamper: (dir, t) => removeObject(dir, `pod-a/${t.objects[3]!.name}`),
      },
    ];
    for (const b of breaks) {
      it(`new objects that do not continue the verified trail: ${b.name} -> broken ${b.code}`, async () => {
        const f = fixture();
        const a = trailA([2, 2, 'heartbeat', 3, 1]);
        put(f.dir, 'pod-a', a, [0, 1, 2]);
        f.clock.now = a.newestTime;
        assert.equal(statusOf(await f.pass(), ORIGIN_A)?.status, 'ok');
        put(f.dir, 'pod-a', a, [3, 4]);
        b.tamper(f.dir, a);
        const r = await f.pass();
        assert.equal(r.full, false);
        const o = statusOf(r, ORIGIN_A)!;
        assert.equal(o.status, 'broken');
        assert.equal(o.finding.code, b.code);
        assert.equal(o.finding.seq, b.seq);
        assert.equal(o.newest?.size, 4, 'the last verified checkpoint is kept');
      });
    }

    it('silent: the newest checkpoint older than max_silence (per origin), ok again when one arrives', async () => {
      const f = fixture();
      const a = trailA();
      const b = trailB();
      put(f.dir, 'pod-a', a, [0, 1]);
      put(f.dir, 'pod-b', b);
      f.clock.now = a.objects[1]!.createdAt + 10 * MINUTE; // exactly max_silence: not yet
      let r = await f.pass();
      assert.equal(statusOf(r, ORIGIN_A)?.status, 'ok');
      f.clock.now += 1;
      r = await f.pass();
      const silent = statusOf(r, ORIGIN_A)!;
      assert.equal(silent.status, 'silent');
      assert.equal(silent.finding.code, 'SILENT');
      assert.equal(statusOf(r, ORIGIN_B)?.status, 'ok', "pod-b's max_silence is 30m");
      assert.deepEqual(
        r.changed.map((c) => [c.view.origin, c.view.status]),
        [[ORIGIN_A, 'silent']],
      );
      assert.equal((await f.pass()).changed.length, 0, 'silent is reported once');
      put(f.dir, 'pod-a', a, [2]); // a heartbeat 1 min after the last object
      f.clock.now = a.objects[2]!.createdAt + MINUTE;
      r = await f.pass();
      assert.equal(statusOf(r, ORIGIN_A)?.status, 'ok');
      assert.equal(
        r.verified.some((v) => v.origin === ORIGIN_A),
        true,
      );
    });

    it('fork: a second history of the origin, validly signed with its key, written beside the first', async () => {
      const f = fixture();
      const a = trailA([2, 2]);
      // The same origin and key, one entry different: every checkpoint from size 2 on has another root.
      const records = [0, 1, 2, 3].map((i) => decisionLine(i, i === 1 ? '-rewritten' : ''));
      const forged = sealTrail({ origin: 'fleet.test/pod-a', key: KEY_A, plan: [2, 2], records, t0: a.newestTime });
      put(f.dir, 'pod-a', a);
      f.clock.now = forged.newestTime;
      assert.equal(statusOf(await f.pass(), ORIGIN_A)?.status, 'ok');
      put(f.dir, 'elsewhere', forged);
      const r = await f.pass();
      const o = statusOf(r, ORIGIN_A)!;
      assert.equal(o.status, 'fork');
      assert.equal(o.finding.code, 'FORK');
      assert.equal(o.finding.size, 2);
      assert.equal(o.finding.object, `elsewhere/${forged.objects[0]!.name}`);
      assert.equal(
        r.verified.some((v) => v.origin === ORIGIN_A),
        false,
        'a forked origin is not offered for cosigning',
      );
      // Found in a first (full) pass too, when both histories are there from the start.
      const g = fixture();
      put(g.dir, 'pod-a', a);
      put(g.dir, 'elsewhere', forged);
      g.clock.now = forged.newestTime;
      assert.equal(statusOf(await g.pass(), ORIGIN_A)?.status, 'fork');
    });

    it('fork across stores: each store holds a history that verifies on its own', async () => {
      const a = trailA([2, 2]);
      const records = [0, 1, 2, 3].map((i) => decisionLine(i, i === 3 ? '-other' : ''));
      const other = sealTrail({ origin: 'fleet.test/pod-a', key: KEY_A, plan: [2, 2], records });
      const f = fixture();
      const second = tempDir('tailseal-monitor-store2-');
      cleanups.push(() => rmSync(second, { recursive: true, force: true }));
      put(f.dir, 'pod-a', a);
      put(second, 'pod-a', other);
      f.clock.now = a.newestTime;
      const r = await f.pass({
        stores: [
          { name: 'primary', reader: () => fileStoreReader(f.dir) },
          { name: 'replica', reader: () => fileStoreReader(second) },
        ],
      });
      const byStore = (store: string) => r.origins.find((o) => o.store === store && o.origin === ORIGIN_A)!;
      assert.equal(byStore('primary').status, 'ok');
      assert.equal(byStore('replica').status, 'fork');
      assert.equal(byStore('replica').finding.size, 4, 'the sizes 2 agree; size 4 has two roots');
      assert.equal(byStore('replica').newest, undefined, 'the second history is not taken as verified');
      assert.deepEqual(
        r.verified.map((v) => v.store),
        ['primary'],
      );
    });

    it('untrusted_key: an origin no key entry matches, and a trusted origin signed by another key', async () => {
      const f = fixture();
      put(f.dir, 'rogue', sealTrail({ origin: 'fleet.test/rogue', key: ROGUE, plan: [1] }));
      put(f.dir, 'pod-b', sealTrail({ origin: 'fleet.test/pod-b', key: ROGUE, plan: [1] }));
      f.clock.now = Date.now();
      const r = await f.pass();
      for (const origin of ['fleet.test/rogue/opa', ORIGIN_B]) {
        const o = statusOf(r, origin)!;
        assert.equal(o.status, 'untrusted_key', origin);
        assert.equal(o.finding.code, 'NO_TRUSTED_SIGNATURE', origin);
        assert.equal(o.newest, undefined, 'nothing of it is trusted');
      }
      assert.equal(r.verified.length, 0);
    });

    it('keeps the origins of a store it cannot list, and reports the store', async () => {
      const f = fixture();
      const a = trailA([1]);
      put(f.dir, 'pod-a', a);
      f.clock.now = a.newestTime;
      await f.pass();
      rmSync(f.dir, { recursive: true });
      const r = await f.pass();
      assert.equal(statusOf(r, ORIGIN_A)?.status, 'ok');
      assert.equal(r.problems.get('fleet')?.[0]?.code !== undefined, true);
    });
  });
