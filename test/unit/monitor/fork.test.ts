// Forks across sizes (src/monitor/alternate.ts): after a pass verified an origin, a second history
// signed with its key is written into the same prefix, cut at other sizes, at the same sizes, or
// only after a verified checkpoint: each is a fork with both checkpoints as evidence; the same
// entries cut at other sizes, an altered entry without a new signature and an untrusted key keep
// the walk's verdict.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { afterEach, describe, it } from 'node:test';
import { type PassDeps, type PassResult, runPass } from '../../../src/monitor/pass.js';
import { MonitorState } from '../../../src/store/monitor-state.js';
import { fileStoreReader } from '../../../src/sinks/file/reader.js';
import { encodeObject } from '../../../src/seal/encoder.js';
import { signHead } from '../../../src/seal/sealer.js';
import { envelopeLeafHash } from '../../../src/trail/envelope.js';
import { CompactRange } from '../../../src/trail/merkle.js';
import { DEFAULT_MAX_OBJECT_BYTES, objectLines } from '../../../src/trail/object.js';
import {
  type SealedTrail,
  type TestKey,
  decisionLine,
  editObject,
  sealTrail,
  tempDir,
  testKey,
  writeObject,
} from '../../helpers/trail.js';

const KEY_A = testKey('pod-a', 1);
const ROGUE = testKey('pod-a', 9);
const ORIGIN = 'fleet.test/pod-a/opa';
const HOUR = 3_600_000;

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

/** The verified history: 8 records in objects of 2 (sizes 2, 4, 6, 8); the first pass sees sizes 2..6. */
const original = sealTrail({ origin: 'fleet.test/pod-a', key: KEY_A, plan: [2, 2, 2, 2] });

/** A second history of the origin: records 0..n-1, those at `changed` rewritten, cut by `plan`. */
function rewrite(plan: number[], changed: number[], opts: { key?: TestKey; sameTimes?: boolean } = {}): SealedTrail {
  const n = plan.reduce((a, b) => a + b, 0);
  const records = Array.from({ length: n }, (_, i) => decisionLine(i, changed.includes(i) ? '-rewritten' : ''));
  return sealTrail({
    origin: 'fleet.test/pod-a',
    key: opts.key ?? KEY_A,
    plan,
    records,
    ...(opts.sameTimes ? {} : { t0: original.newestTime + HOUR }),
  });
}

function put(dir: string, t: SealedTrail, indexes: number[], prefix = 'pod-a'): void {
  for (const i of indexes) writeObject(dir, `${prefix}/${t.objects[i]!.name}`, t.objects[i]!.body);
}

/**
 * The original's own entries (same bytes, same leaves) cut into objects ending at `sizes` and
 * signed again with its key: a history consistent with the verified one, at other sizes.
 */
function recut(sizes: number[]): { name: string; body: Buffer }[] {
  const lines = original.objects.flatMap((o) =>
    o.body
      .toString('utf8')
      .split('\n')
      .slice(0, -2)
      .map((l) => Buffer.from(l + '\n')),
  );
  const entries = [...objectLines(Buffer.concat(lines))].map((l) => l.entry!);
  const edge = CompactRange.empty();
  const out: { name: string; body: Buffer }[] = [];
  let first = 0;
  for (const size of sizes) {
    for (const e of entries.slice(first, size)) edge.append(envelopeLeafHash(e.envelope));
    const createdAt = original.newestTime + HOUR + size;
    const head = { name: 'opa', nextSeq: size, chainHead: entries[size - 1]!.chain, edge };
    const note = signHead('fleet.test/pod-a', head, createdAt, KEY_A.signer);
    out.push(
      encodeObject({ stream: 'opa', firstSeq: first, size, createdAt, lines: lines.slice(first, size), note }, false),
    );
    first = size;
  }
  return out;
}

/** A store with the original's objects 0..2 and a monitor that verified them (status ok, size 6). */
async function verifiedStore() {
  const dir = tempDir('tailseal-fork-store-');
  const stateDir = tempDir('tailseal-fork-state-');
  const state = MonitorState.open(stateDir);
  cleanups.push(() => {
    state.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(stateDir, { recursive: true, force: true });
  });
  const pass = (over: Partial<PassDeps> = {}) =>
    runPass({
      stores: [{ name: 'fleet', reader: () => fileStoreReader(dir) }],
      state,
      keysFor: (o) => (o === ORIGIN ? [KEY_A.verifier] : []),
      maxSilenceFor: () => 100 * 24 * HOUR,
      fullEveryMs: 100 * 24 * HOUR,
      now: () => original.newestTime + 2 * HOUR,
      maxObjectBytes: DEFAULT_MAX_OBJECT_BYTES,
      ...over,
    });
  put(dir, original, [0, 1, 2]);
  const first = await pass();
  assert.equal(first.origins[0]?.status, 'ok');
  assert.equal(first.origins[0]?.newest?.size, 6);
  return { dir, pass };
}

const of = (r: PassResult) => r.origins.find((o) => o.origin === ORIGIN)!;

interface ForkCase {
  name: string;
  /** Writes the second history into the store. */
  write: (dir: string) => void;
  /** The size both trees are compared at, and the checkpoint sizes given as evidence (verified, other). */
  size: number;
  evidence?: [number, number];
}

const forks: ForkCase[] = [
  {
    name: 'a rewrite from seq 0 cut at other sizes (3, 7)',
    write: (dir) => put(dir, rewrite([3, 4], [1]), [0, 1]),
    size: 6,
    evidence: [6, 7],
  },
  {
    name: 'a shorter rewrite from seq 0 (size 3): the verified tree at 3 is recomputed from its objects',
    write: (dir) => put(dir, rewrite([3], [2]), [0]),
    size: 3,
    evidence: [4, 3],
  },
  {
    name: 'a rewrite at the same sizes (as before: two roots at size 4)',
    // Under another folder: at the same sizes the objects have the same names as the original's.
    write: (dir) => put(dir, rewrite([2, 2, 2], [3], { sameTimes: true }), [0, 1, 2], 'elsewhere/pod-a'),
    size: 4,
  },
  {
    name: 'only the tail rewritten after the verified checkpoint at size 2 (objects at 5 and 7)',
    write: (dir) => put(dir, rewrite([2, 3, 2], [2, 3, 4, 5, 6], { sameTimes: true }), [1, 2]),
    size: 6,
    evidence: [6, 7],
  },
];

describe('monitor: forks across sizes', () => {
  for (const c of forks)
    it(`fork: ${c.name}`, async () => {
      const s = await verifiedStore();
      c.write(s.dir);
      const r = await s.pass();
      const o = of(r);
      assert.equal(o.status, 'fork', JSON.stringify(o.finding));
      assert.equal(o.finding.code, 'FORK');
      assert.equal(o.finding.size, c.size);
      const roots = o.finding.roots as string[];
      assert.equal(roots.length, 2);
      assert.notEqual(roots[0], roots[1]);
      if (c.evidence) {
        const cps = o.finding.checkpoints as { size: number; root: string; object: string }[];
        assert.deepEqual(
          cps.map((x) => x.size),
          c.evidence,
        );
        assert.equal(cps[0]!.object, `pod-a/${original.objects[cps[0]!.size / 2 - 1]!.name}`);
        assert.match(cps[1]!.object, /^pod-a\//);
        assert.notEqual(cps[1]!.object, cps[0]!.object);
      }
      assert.equal(
        r.verified.some((v) => v.origin === ORIGIN),
        false,
        'a forked origin is not offered for cosigning',
      );
      // A full pass re-reads both histories and finds the same fork.
      const full = of(await s.pass({ fullEveryMs: 0 }));
      assert.equal(full.status, 'fork');
      assert.equal(full.finding.size, c.size);
    });

  const kept: { name: string; write: (dir: string) => void; status: string; code: string }[] = [
    {
      name: 'the same entries cut at other sizes (consistent: the walk verdict stands)',
      write: (dir) => recut([3, 7]).forEach((o) => writeObject(dir, `pod-a/${o.name}`, o.body)),
      status: 'broken',
      code: 'ENTRY_INSERTED',
    },
    {
      name: 'an altered entry in a new object, its checkpoint not signed again',
      write: (dir) => {
        put(dir, original, [3]);
        editObject(dir, `pod-a/${original.objects[3]!.name}`, (l) => [
          l[0]!.replace('user-6', 'user-X'),
          ...l.slice(1),
        ]);
      },
      status: 'broken',
      code: 'ENTRY_ALTERED',
    },
    {
      name: 'a rewrite from seq 0 signed with a key the monitor does not trust',
      write: (dir) => put(dir, rewrite([3, 4], [1], { key: ROGUE }), [0, 1]),
      status: 'untrusted_key',
      code: 'NO_TRUSTED_SIGNATURE',
    },
  ];
  for (const c of kept)
    it(`not a fork: ${c.name}`, async () => {
      const s = await verifiedStore();
      c.write(s.dir);
      const o = of(await s.pass());
      assert.equal(o.status, c.status, JSON.stringify(o.finding));
      assert.equal(o.finding.code, c.code);
    });
});
