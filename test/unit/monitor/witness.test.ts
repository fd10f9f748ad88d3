// The monitor's witness step over real file stores (trail and witness store) built with
// test/helpers/trail.ts and real monitor passes: it cosigns what the pass verified, re-cosigns an
// unchanged tree only after min_interval, never a broken origin, a smaller tree or another root at a
// cosigned size (refused, logged once), survives a restart (monitor.db) and a publish that failed
// after the record; and a pass reports objects verified before and removed since as broken.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { createLogger } from '../../../src/log.js';
import { type PassResult, type VerifiedCheckpoint, runPass } from '../../../src/monitor/pass.js';
import { type WitnessOutcome, WitnessStep } from '../../../src/monitor/witness.js';
import { type WitnessWriter, fileWitnessWriter } from '../../../src/sinks/witness/writer.js';
import { fileStoreReader } from '../../../src/sinks/file/reader.js';
import { MonitorState } from '../../../src/store/monitor-state.js';
import {
  generateWitnessKeyPair,
  parseWitnessSignerKey,
  parseWitnessVerifierKey,
} from '../../../src/trail/cosignature.js';
import { DEFAULT_MAX_OBJECT_BYTES } from '../../../src/trail/object.js';
import { newestWitnessed } from '../../../src/trail/witness-store.js';
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
const ORIGIN_A = 'fleet.test/pod-a/opa';
const ORIGIN_B = 'fleet.test/pod-b/opa';
const MINUTE = 60_000;
const W = generateWitnessKeyPair('witness.test/monitor', new Uint8Array(32).fill(0x33));
const SIGNER = parseWitnessSignerKey(W.signerKey);
const VERIFIER = parseWitnessVerifierKey(W.verifierKey);

const put = (dir: string, prefix: string, t: SealedTrail, indexes?: number[]) => {
  for (const [i, o] of t.objects.entries())
    if (!indexes || indexes.includes(i)) writeObject(dir, `${prefix}/${o.name}`, o.body);
};

/** Every file of the witness store, as `name` (relative, with /) and its text. */
function witnessObjects(dir: string): { name: string; note: string }[] {
  const out: { name: string; note: string }[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push({ name: relative(dir, p).split('\\').join('/'), note: readFileSync(p, 'utf8') });
    }
  };
  try {
    walk(dir);
  } catch {
    return [];
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

function fixture(fullEveryMs = 24 * 60 * MINUTE) {
  const dir = tempDir('tailseal-monwit-store-');
  const stateDir = tempDir('tailseal-monwit-state-');
  const witnessDir = tempDir('tailseal-monwit-witness-');
  const errors: string[] = [];
  const log = createLogger('silent');
  log.error = ((_o: unknown, msg: string) => void errors.push(msg)) as typeof log.error;
  const f = {
    dir,
    witnessDir,
    errors,
    clock: { now: 0 },
    state: MonitorState.open(stateDir),
    writer: fileWitnessWriter(witnessDir) as WitnessWriter,
    step: undefined as unknown as WitnessStep,
    pass: (): Promise<PassResult> =>
      runPass({
        stores: [{ name: 'fleet', reader: () => fileStoreReader(dir) }],
        state: f.state,
        keysFor: (o) => (o === ORIGIN_A ? [KEY_A.verifier] : [KEY_B.verifier]),
        maxSilenceFor: () => 24 * 60 * MINUTE,
        fullEveryMs,
        now: () => f.clock.now,
        maxObjectBytes: DEFAULT_MAX_OBJECT_BYTES,
      }),
    /** A pass, then the witness step over what it verified. */
    async cycle(): Promise<{ pass: PassResult; out: WitnessOutcome[] }> {
      const pass = await f.pass();
      return { pass, out: await f.step.run(pass.verified) };
    },
    /** A new process: monitor.db reopened, a new step (nothing kept in memory). */
    restart(): void {
      f.state.close();
      f.state = MonitorState.open(stateDir);
      f.step = newStep();
    },
  };
  const newStep = () =>
    new WitnessStep({
      state: f.state,
      signer: SIGNER,
      writer: {
        published: (o, s) => f.writer.published(o, s),
        publish: (n, t) => f.writer.publish(n, t),
        close: () => f.writer.close(),
      },
      minIntervalFor: () => 10 * MINUTE,
      now: () => f.clock.now,
      log,
    });
  f.step = newStep();
  cleanups.push(() => {
    f.state.close();
    for (const d of [dir, stateDir, witnessDir]) rmSync(d, { recursive: true, force: true });
  });
  return f;
}

const results = (out: WitnessOutcome[]) => out.map((o) => [o.origin, o.result, o.size]);

describe('monitor witness step', () => {
  it('cosigns what each pass verified; an unchanged tree again only after min_interval; a grown one at once', async () => {
    const f = fixture();
    const a = sealTrail({ origin: 'fleet.test/pod-a', key: KEY_A, plan: [2, 2, 'heartbeat', 3] });
    const b = sealTrail({ origin: 'fleet.test/pod-b', key: KEY_B, plan: [1, 1] });
    put(f.dir, 'pod-a', a, [0, 1]);
    put(f.dir, 'pod-b', b);
    f.clock.now = a.newestTime;
    const first = await f.cycle();
    assert.deepEqual(results(first.out), [
      [ORIGIN_A, 'cosigned', 4],
      [ORIGIN_B, 'cosigned', 2],
    ]);
    // What a verifier of the witness store sees: each origin's verified checkpoint with a valid cosignature.
    const seen = newestWitnessed(witnessObjects(f.witnessDir), [VERIFIER], 1).witnessed;
    assert.equal(seen.get(ORIGIN_A)?.size, 4);
    assert.equal(seen.get(ORIGIN_A)?.note.startsWith(a.objects[1]!.note.slice(0, -1)), true);
    assert.equal(seen.get(ORIGIN_B)?.size, 2);
    assert.equal(f.step.cosigned().get(ORIGIN_A)?.time, Math.floor(a.newestTime / 1000));

    f.clock.now += MINUTE;
    assert.deepEqual(results((await f.cycle()).out), [
      [ORIGIN_A, 'unchanged', 4],
      [ORIGIN_B, 'unchanged', 2],
    ]);
    assert.equal(witnessObjects(f.witnessDir).length, 2, 'nothing published within min_interval');

    f.clock.now += 10 * MINUTE;
    assert.deepEqual(results((await f.cycle()).out), [
      [ORIGIN_A, 'cosigned', 4],
      [ORIGIN_B, 'cosigned', 2],
    ]);
    assert.equal(witnessObjects(f.witnessDir).length, 4, 'a fresh cosignature of the same tree, beside the first');

    put(f.dir, 'pod-a', a, [2, 3]);
    f.clock.now += MINUTE;
    assert.deepEqual(results((await f.cycle()).out), [
      [ORIGIN_A, 'cosigned', 7],
      [ORIGIN_B, 'unchanged', 2],
    ]);
    assert.equal(newestWitnessed(witnessObjects(f.witnessDir), [VERIFIER], 1).witnessed.get(ORIGIN_A)?.size, 7);
  });

  it('never cosigns a broken origin, a smaller tree or another root at a cosigned size; logs a refusal once', async () => {
    const f = fixture();
    const a = sealTrail({ origin: 'fleet.test/pod-a', key: KEY_A, plan: [2, 2, 1] });
    put(f.dir, 'pod-a', a, [0, 1]);
    f.clock.now = a.newestTime;
    assert.deepEqual(results((await f.cycle()).out), [[ORIGIN_A, 'cosigned', 4]]);
    const files = witnessObjects(f.witnessDir).length;

    const records = [0, 1, 2, 3].map((i) => decisionLine(i, i === 1 ? '-rewritten' : ''));
    const forged = sealTrail({ origin: 'fleet.test/pod-a', key: KEY_A, plan: [2, 2], records, t0: a.newestTime });
    const at = (t: SealedTrail, i: number): VerifiedCheckpoint => ({
      store: 'fleet',
      origin: ORIGIN_A,
      size: t.objects[i]!.size,
      root: rootOf(t.objects[i]!.note),
      note: t.objects[i]!.note,
    });
    const cases: { name: string; v: VerifiedCheckpoint }[] = [
      { name: 'a smaller tree (rolled back)', v: at(a, 0) },
      { name: 'another root at the cosigned size (fork)', v: at(forged, 1) },
    ];
    for (const c of cases) {
      for (let i = 0; i < 2; i++) {
        const [o] = await f.step.run([c.v]);
        assert.equal(o?.result, 'refused', c.name);
        assert.equal((o as { code: string }).code, 'CHECKPOINT_FORK', c.name);
      }
    }
    assert.equal(f.errors.filter((m) => m.includes('REFUSED')).length, cases.length, 'each refusal logged once');
    assert.equal(f.state.origin('fleet', ORIGIN_A)?.status, 'ok', 'a refusal leaves the status as it is');

    // A restart keeps what was cosigned: the smaller tree is still refused.
    f.restart();
    assert.equal((await f.step.run([at(a, 0)]))[0]?.result, 'refused');

    // Broken: the step reads the status again, so even if offered, a broken origin is not cosigned.
    put(f.dir, 'pod-a', a, [2]);
    editObject(f.dir, `pod-a/${a.objects[2]!.name}`, (l) => [l[0]!.replace('user-4', 'user-Y'), ...l.slice(1)]);
    const broken = await f.cycle();
    assert.equal(broken.pass.origins[0]?.status, 'broken');
    assert.deepEqual(results(broken.out), []);
    assert.deepEqual(results(await f.step.run([at(a, 2)])), [[ORIGIN_A, 'skipped', 5]]);
    assert.equal(witnessObjects(f.witnessDir).length, files, 'nothing published');
  });

  it('a record written but not published (crash or store error) is published first by the next pass', async () => {
    const f = fixture();
    const a = sealTrail({ origin: 'fleet.test/pod-a', key: KEY_A, plan: [2, 2] });
    put(f.dir, 'pod-a', a, [0]);
    f.clock.now = a.objects[0]!.createdAt;
    const good = f.writer;
    f.writer = { ...good, publish: () => Promise.reject(Object.assign(new Error('disk full'), { code: 'ENOSPC' })) };
    const failed = await f.cycle();
    assert.deepEqual(
      failed.out.map((o) => [o.result, (o as { code?: string }).code]),
      [['failed', 'ENOSPC']],
    );
    const recorded = f.state.cosigned(SIGNER.verifierKey, ORIGIN_A)!;
    assert.equal(recorded.published, false);
    assert.equal(witnessObjects(f.witnessDir).length, 0);

    f.writer = good;
    f.restart();
    put(f.dir, 'pod-a', a, [1]);
    f.clock.now = a.newestTime;
    assert.deepEqual(results((await f.cycle()).out), [[ORIGIN_A, 'cosigned', 4]]);
    assert.deepEqual(
      witnessObjects(f.witnessDir).map((o) => o.name),
      [recorded.name, f.state.cosigned(SIGNER.verifierKey, ORIGIN_A)!.name],
      'the recorded cosignature of size 2 is out, then the one of size 4',
    );
    assert.equal(witnessObjects(f.witnessDir)[0]?.note, recorded.note);
    assert.equal(f.state.cosigned(SIGNER.verifierKey, ORIGIN_A)?.published, true);
  });

  for (const full of [false, true])
    it(`a pass (${full ? 'full' : 'incremental'}) reports objects removed after they were verified: broken OBJECT_REMOVED, not cosigned`, async () => {
      const f = fixture(full ? 0 : 24 * 60 * MINUTE);
      const a = sealTrail({ origin: 'fleet.test/pod-a', key: KEY_A, plan: [2, 2, 1] });
      put(f.dir, 'pod-a', a);
      f.clock.now = a.newestTime;
      assert.deepEqual(results((await f.cycle()).out), [[ORIGIN_A, 'cosigned', 5]]);
      removeObject(f.dir, `pod-a/${a.objects[2]!.name}`);
      f.clock.now += 60 * MINUTE;
      for (let i = 0; i < 2; i++) {
        const { pass, out } = await f.cycle();
        const o = pass.origins[0]!;
        assert.deepEqual(
          [o.status, o.finding.code, o.finding.object],
          ['broken', 'OBJECT_REMOVED', `pod-a/${a.objects[2]!.name}`],
        );
        assert.deepEqual(out, [], 'a broken origin is not offered to the witness');
      }
      assert.equal(witnessObjects(f.witnessDir).length, 1);
      put(f.dir, 'pod-a', a, [2]);
      assert.equal((await f.pass()).origins[0]?.status, 'ok', 'the object back: ok again');
    });
});

/** The hex root of a checkpoint note (its third line, base64). */
function rootOf(note: string): string {
  return Buffer.from(note.split('\n')[2]!, 'base64').toString('hex');
}
