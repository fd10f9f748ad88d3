// Witnesses as real child processes: `tailseal keygen --witness`, `tailseal cosign` over a store
// built with buildTrail, and `tailseal verify --witness-key` against the witness store it wrote.
import assert from 'node:assert/strict';
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { cosign, parseWitnessSignerKey } from '../../src/trail/cosignature.js';
import { RUN, docCommand } from '../docs/commands.js';
import { CLI } from '../helpers/paths.js';
import {
  type BuiltTrail,
  type TrailSpec,
  buildTrail,
  decisionLine,
  editObject,
  objectPath,
  removeObject,
  sealTrail,
  tempDir,
  testKey,
  writeObject,
} from '../helpers/trail.js';

const cleanups: (() => void)[] = [];
after(() => cleanups.forEach((c) => c()));

function tailseal(...args: string[]): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000 });
}

function fresh(spec: Partial<TrailSpec> = {}): BuiltTrail {
  const t = buildTrail({ plan: [3, 2, 4], ...spec });
  cleanups.push(t.cleanup);
  return t;
}

interface Witness {
  key: string;
  pub: string;
  state: string;
}

function workspace(): { dir: string; store: string; witness: (name: string) => Witness } {
  const dir = tempDir('tailseal-witness-');
  cleanups.push(() => spawnSync('rm', ['-rf', dir]));
  return {
    dir,
    store: join(dir, 'witnessed'),
    witness(name) {
      const key = join(dir, `${name}.key`);
      const r = tailseal('keygen', '--witness', '--name', `${name}.test/witness`, '--out', key);
      assert.equal(r.status, 0, r.stderr);
      assert.match(readFileSync(`${key}.pub`, 'utf8'), new RegExp(`^${name}\\.test/witness\\+[0-9a-f]{8}\\+B[A-P]`));
      return { key, pub: `${key}.pub`, state: join(dir, `${name}.state.json`) };
    },
  };
}

const cosignArgs = (t: BuiltTrail, w: Witness, store: string) => [
  'cosign',
  '--store',
  t.dir,
  '--public-key',
  t.pubFile,
  '--witness-key',
  w.key,
  '--witness-store',
  store,
  '--state',
  w.state,
];
const verifyArgs = (t: BuiltTrail, ...extra: string[]) => [
  'verify',
  '--store',
  t.dir,
  '--public-key',
  t.pubFile,
  ...extra,
];

/** The witness store's objects, as paths relative to it. */
function listed(store: string): string[] {
  try {
    return (readdirSync(store, { recursive: true }) as string[]).filter((n) => n.endsWith('.cosigned')).sort();
  } catch {
    return [];
  }
}

describe('tailseal cosign and verify --witness-key', () => {
  it('cosigns, verifies with the witness, and catches a store whose newest object was removed', () => {
    const t = fresh();
    const ws = workspace();
    const w1 = ws.witness('w1');
    const c = tailseal(...cosignArgs(t, w1, ws.store));
    assert.equal(c.status, 0, c.stdout + c.stderr);
    assert.match(c.stdout, /^COSIGNED tailseal\.test\/trail\/opa at size 9: /);
    const objs = listed(ws.store);
    assert.equal(objs.length, 1);
    assert.match(objs[0]!, /^tailseal\.test\/trail\/opa\/00000000000000000009-[0-9]+\.cosigned$/);

    const ok = tailseal(...verifyArgs(t, '--witness-key', w1.pub, '--witness-store', ws.store));
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /WITNESSED tailseal\.test\/trail\/opa: .* size 9 cosigned by w1\.test\/witness at /);
    assert.doesNotMatch(ok.stdout, /tail completeness not checked/);

    // Nothing new: nothing written.
    const again = tailseal(...cosignArgs(t, w1, ws.store));
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /^UNCHANGED .* at size 9/);
    assert.equal(listed(ws.store).length, 1);

    // The truncation hole: plain verify passes, the witnessed verify does not.
    removeObject(t.dir, t.objectNames.at(-1)!);
    assert.equal(tailseal(...verifyArgs(t)).status, 0);
    const cut = tailseal(...verifyArgs(t, '--witness-key', w1.pub, '--witness-store', ws.store, '--json'));
    assert.equal(cut.status, 1, cut.stdout + cut.stderr);
    assert.equal((JSON.parse(cut.stdout) as { code: string }).code, 'TAIL_TRUNCATED');
    // And the witness refuses to cosign the shorter tree.
    const back = tailseal(...cosignArgs(t, w1, ws.store));
    assert.equal(back.status, 1, back.stdout + back.stderr);
    assert.match(back.stdout, /^REFUSED CHECKPOINT_FORK: .*size 5, below the size 9/);
    assert.equal(listed(ws.store).length, 1);
  });

  it('cosigns a grown trail after checking its consistency proof', () => {
    const t = fresh();
    const ws = workspace();
    const w1 = ws.witness('w1');
    const last = objectPath(t.dir, t.objectNames.at(-1)!);
    renameSync(last, `${last}.later`);
    assert.match(tailseal(...cosignArgs(t, w1, ws.store)).stdout, /^COSIGNED .* at size 5: /);
    renameSync(`${last}.later`, last);
    const grown = tailseal(...cosignArgs(t, w1, ws.store));
    assert.equal(grown.status, 0, grown.stdout + grown.stderr);
    assert.match(grown.stdout, /^COSIGNED .* at size 9: /);
    assert.equal(listed(ws.store).length, 2);
    const state = JSON.parse(readFileSync(w1.state, 'utf8')) as {
      version: number;
      origins: Record<string, { size: number }>;
    };
    assert.equal(state.version, 2);
    assert.equal(state.origins['tailseal.test/trail/opa']?.size, 9);
    assert.equal(tailseal(...verifyArgs(t, '--witness-key', w1.pub, '--witness-store', ws.store)).status, 0);
  });

  it('a second run reads only the new objects, falls back to a full run, and still refuses a fork', () => {
    const t = fresh();
    const ws = workspace();
    const w1 = ws.witness('w1');
    const run = (...extra: string[]) => {
      const r = tailseal(...cosignArgs(t, w1, ws.store), '--json', ...extra);
      const out = JSON.parse(r.stdout) as {
        code?: string;
        incremental: boolean;
        objects_read: number;
        outcomes: { result: string; size: number; message?: string }[];
      };
      return { status: r.status, ...out, got: out.outcomes?.map((x) => `${x.result} ${x.size}`) };
    };
    const last = objectPath(t.dir, t.objectNames.at(-1)!);
    renameSync(last, `${last}.later`);
    const first = run();
    assert.deepEqual([first.status, first.incremental, first.objects_read, first.got], [0, false, 2, ['cosigned 5']]);
    renameSync(`${last}.later`, last);
    const grown = run();
    assert.deepEqual([grown.status, grown.incremental, grown.objects_read, grown.got], [0, true, 1, ['cosigned 9']]);
    const idle = run();
    assert.deepEqual([idle.status, idle.incremental, idle.objects_read, idle.got], [0, true, 0, ['unchanged 9']]);
    const full = run('--full');
    assert.deepEqual([full.status, full.incremental, full.objects_read, full.got], [0, false, 3, ['unchanged 9']]);
    assert.equal(tailseal(...verifyArgs(t, '--witness-key', w1.pub, '--witness-store', ws.store)).status, 0);

    // A state of version 1 (no verified part) is read, and the run is full.
    const v2 = JSON.parse(readFileSync(w1.state, 'utf8')) as Record<string, unknown>;
    writeFileSync(w1.state, JSON.stringify({ ...v2, version: 1, verified: undefined }));
    const fromV1 = run();
    assert.deepEqual([fromV1.status, fromV1.incremental, fromV1.got], [0, false, ['unchanged 9']]);
    assert.equal(run().incremental, true, 'and the next one incremental again');

    // The newest object replaced by a second history signed with the writer's key (sizes 5..10):
    // an object read before is gone, so the run is full, and the tree does not extend the cosigned one.
    const records = Array.from({ length: 10 }, (_, i) => decisionLine(i, i < 5 ? '' : 'x'));
    const forked = sealTrail({ plan: [3, 2, 5], records });
    removeObject(t.dir, t.objectNames.at(-1)!);
    writeObject(t.dir, forked.objects[2]!.name, forked.objects[2]!.body);
    const tail = run();
    assert.deepEqual([tail.status, tail.incremental, tail.got], [1, false, ['refused 10']]);
    assert.match(tail.outcomes[0]!.message!, /does not extend the tree of size 9/);

    // Back as it was, then a second history from seq 0 at other sizes added beside the first: the
    // new objects do not continue the verified trail, the full run finds the store broken.
    removeObject(t.dir, forked.objects[2]!.name);
    writeObject(t.dir, t.objects[2]!.name, t.objects[2]!.body);
    assert.equal(run().incremental, false, 'the state was left as before the refused run');
    const other = sealTrail({ plan: [4, 6], records, t0: t.newestTime + 60_000 });
    for (const o of other.objects) writeObject(t.dir, o.name, o.body);
    const broken = run();
    assert.equal(broken.status, 1);
    assert.match(broken.code!, /^ENTRY_/);
    assert.equal(listed(ws.store).length, 2, 'nothing more was cosigned');
  });

  const rewrites: [string, Partial<TrailSpec>, RegExp][] = [
    ['at the same size', { records: Array.from({ length: 9 }, (_, i) => decisionLine(i, 'x')) }, /size 9 has root/],
    [
      'at a larger size',
      { plan: [3, 2, 4, 1], records: Array.from({ length: 10 }, (_, i) => decisionLine(i, i < 3 ? '' : 'x')) },
      /does not extend the tree of size 9/,
    ],
  ];
  for (const [what, spec, message] of rewrites) {
    it(`refuses a history rewritten and re-signed with the writer's key ${what} (CHECKPOINT_FORK, exit 1)`, () => {
      const t = fresh();
      const ws = workspace();
      const w1 = ws.witness('w1');
      assert.equal(tailseal(...cosignArgs(t, w1, ws.store)).status, 0);
      const forked = fresh(spec);
      // The rewritten trail verifies on its own: only the witness's memory tells.
      assert.equal(tailseal(...verifyArgs(forked)).status, 0);
      const r = tailseal(...cosignArgs(forked, w1, ws.store));
      assert.equal(r.status, 1, r.stdout + r.stderr);
      assert.match(r.stdout, /^REFUSED CHECKPOINT_FORK: tailseal\.test\/trail\/opa: /);
      assert.match(r.stdout, message);
      assert.equal(listed(ws.store).length, 1);
      // A verifier holding the witness store refuses the rewritten trail too.
      const v = tailseal(...verifyArgs(forked, '--witness-key', w1.pub, '--witness-store', ws.store, '--json'));
      assert.equal(v.status, 1, v.stdout);
      assert.match((JSON.parse(v.stdout) as { code: string }).code, /^(ENTRY_ALTERED|TAIL_TRUNCATED|CHAIN_BROKEN)$/);
    });
  }

  it('needs --min-witnesses distinct witnesses (WITNESS_QUORUM)', () => {
    const t = fresh();
    const ws = workspace();
    const [w1, w2] = [ws.witness('w1'), ws.witness('w2')];
    assert.equal(tailseal(...cosignArgs(t, w1, ws.store)).status, 0);
    const both = ['--witness-key', w1.pub, '--witness-key', w2.pub, '--witness-store', ws.store];
    const one = tailseal(...verifyArgs(t, ...both, '--min-witnesses', '2', '--json'));
    assert.equal(one.status, 1, one.stdout + one.stderr);
    assert.deepEqual(
      (({ code, found }) => ({ code, found }))(JSON.parse(one.stdout) as { code: string; found: number }),
      { code: 'WITNESS_QUORUM', found: 1 },
    );
    assert.equal(tailseal(...cosignArgs(t, w2, ws.store)).status, 0);
    const two = tailseal(...verifyArgs(t, ...both, '--min-witnesses', '2'));
    assert.equal(two.status, 0, two.stdout + two.stderr);
    assert.match(two.stdout, /cosigned by w1\.test\/witness at .*, w2\.test\/witness at /);
    // A witness key not given does not count.
    const only2 = tailseal(
      ...verifyArgs(t, '--witness-key', w1.pub, '--witness-store', ws.store, '--min-witnesses', '2'),
    );
    assert.equal(only2.status, 1);
  });

  it('cosigns nothing over a broken store, and reports per stream in --json', () => {
    const t = fresh();
    const ws = workspace();
    const w1 = ws.witness('w1');
    editObject(t.dir, t.objectNames[1]!, (ls) => ls.map((l, i) => (i === 0 ? l.replace('user-3', 'user-X') : l)));
    const r = tailseal(...cosignArgs(t, w1, ws.store), '--json');
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.equal((JSON.parse(r.stdout) as { code: string }).code, 'ENTRY_ALTERED');
    assert.deepEqual(listed(ws.store), []);
    assert.throws(() => readFileSync(w1.state), { code: 'ENOENT' });

    const good = fresh();
    const ok = tailseal(...cosignArgs(good, w1, ws.store), '--json');
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);
    const out = JSON.parse(ok.stdout) as { ok: boolean; outcomes: { origin: string; result: string; size: number }[] };
    assert.deepEqual(
      out.outcomes.map(({ origin, result, size }) => ({ origin, result, size })),
      [{ origin: 'tailseal.test/trail/opa', result: 'cosigned', size: 9 }],
    );
    const v = tailseal(...verifyArgs(good, '--witness-key', w1.pub, '--witness-store', ws.store, '--json'));
    const vj = JSON.parse(v.stdout) as { ok: boolean; witnessed: { origin: string; size: number }[] };
    assert.equal(vj.ok, true);
    assert.deepEqual(
      vj.witnessed.map(({ origin, size }) => ({ origin, size })),
      [{ origin: 'tailseal.test/trail/opa', size: 9 }],
    );
  });

  it("ignores another writer's checkpoints in a witness store shared by a fleet", () => {
    const t = fresh();
    const other = fresh({ origin: 'other.test/trail', key: testKey('other.test/trail', 5) });
    const ws = workspace();
    const w1 = ws.witness('w1');
    assert.equal(tailseal(...cosignArgs(t, w1, ws.store)).status, 0);
    const o = tailseal(...cosignArgs(other, { ...w1, state: join(ws.dir, 'other.state.json') }, ws.store));
    assert.equal(o.status, 0, o.stdout + o.stderr);
    assert.equal(listed(ws.store).length, 2);
    const r = tailseal(...verifyArgs(t, '--witness-key', w1.pub, '--witness-store', ws.store));
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.equal(r.stdout.match(/^WITNESSED /gm)?.length, 1);
  });

  it('rejects a witness store object whose cosignature was altered (SIGNATURE_INVALID)', () => {
    const t = fresh();
    const ws = workspace();
    const w1 = ws.witness('w1');
    assert.equal(tailseal(...cosignArgs(t, w1, ws.store)).status, 0);
    const file = join(ws.store, listed(ws.store)[0]!);
    const text = readFileSync(file, 'utf8');
    const at = text.lastIndexOf(' ') + 20;
    writeFileSync(file, text.slice(0, at) + (text[at] === 'A' ? 'B' : 'A') + text.slice(at + 1));
    const r = tailseal(...verifyArgs(t, '--witness-key', w1.pub, '--witness-store', ws.store, '--json'));
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.equal((JSON.parse(r.stdout) as { code: string }).code, 'SIGNATURE_INVALID');
  });

  it("without --witness-store, checks the cosignatures on the store's own newest checkpoint", () => {
    const t = fresh();
    const ws = workspace();
    const w1 = ws.witness('w1');
    const plain = tailseal(...verifyArgs(t, '--witness-key', w1.pub, '--json'));
    assert.equal(plain.status, 1, plain.stdout);
    assert.equal((JSON.parse(plain.stdout) as { code: string }).code, 'WITNESS_QUORUM');
    // What a daemon that ships its witnesses' cosignatures with its objects would store.
    const signer = parseWitnessSignerKey(readFileSync(w1.key, 'utf8').trim());
    editObject(t.dir, t.objectNames.at(-1)!, (lines) => {
      const cp = JSON.parse(lines.at(-1)!) as { note: string };
      cp.note = cosign(cp.note, signer, Math.floor(Date.now() / 1000));
      return [...lines.slice(0, -1), JSON.stringify(cp)];
    });
    const r = tailseal(...verifyArgs(t, '--witness-key', w1.pub));
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /WITNESSED .* size 9 cosigned by w1\.test\/witness/);
  });

  it('runs the commands of docs/operations.md "Witnesses" as shown', () => {
    const t = fresh();
    const ws = workspace();
    const paths: Record<string, string> = {
      '/var/lib/tailseal/store': t.dir,
      'signer.key.pub': t.pubFile,
      'witness.key': join(ws.dir, 'witness.key'),
      'witness.key.pub': join(ws.dir, 'witness.key.pub'),
      '/var/lib/witness/cosigned': ws.store,
      '/var/lib/witness/state.json': join(ws.dir, 'state.json'),
    };
    const run = (entry: { doc: string; command: string }) =>
      tailseal(
        ...docCommand(entry)
          .split(' ')
          .slice(1)
          .map((a) => paths[a] ?? a),
      );
    assert.equal(run(RUN.witnessKeygen).status, 0);
    const c = run(RUN.witnessCosign);
    assert.equal(c.status, 0, c.stdout + c.stderr);
    assert.match(c.stdout, /^COSIGNED /);
    const v = run(RUN.witnessVerify);
    assert.equal(v.status, 0, v.stdout + v.stderr);
    assert.match(v.stdout, /WITNESSED .* cosigned by witness\.example\.com\/w1 at /);
  });

  it('refuses witness options without --witness-key, and a log key as a witness key (exit 2)', () => {
    const t = fresh();
    assert.equal(tailseal(...verifyArgs(t, '--min-witnesses', '2')).status, 2);
    const r = tailseal(...verifyArgs(t, '--witness-key', t.pubFile));
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /KEY_INVALID/);
  });
});
