// The witness sink (sinks/witness/) against the monitor's add-checkpoint server
// (monitor/witness-server.ts) in process, over real HTTP on 127.0.0.1, with objects sealed by
// test/helpers/trail.ts: each checkpoint is cosigned with a proof from the size cosigned before;
// the cosigned notes land in both witness stores and verify; a restart resumes from the sink's
// state file; a lost state file is answered 409 and, where no proof can be made, parked saying why;
// and the server refuses what the protocol says it must (table).
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { createLogger } from '../../../../src/log.js';
import { WitnessServer } from '../../../../src/monitor/witness-server.js';
import { SUBMITTED } from '../../../../src/monitor/add-checkpoint.js';
import type { TrailObject } from '../../../../src/sinks/sink.js';
import { witnessSinkSchema } from '../../../../src/sinks/witness/config.js';
import { WitnessSink, leafHashes } from '../../../../src/sinks/witness/sink.js';
import { witnessStatePath } from '../../../../src/sinks/witness/state.js';
import { fileWitnessWriter } from '../../../../src/sinks/witness/writer.js';
import { MonitorState } from '../../../../src/store/monitor-state.js';
import {
  generateWitnessKeyPair,
  parseWitnessSignerKey,
  parseWitnessVerifierKey,
  verifyCosignatures,
} from '../../../../src/trail/cosignature.js';
import { formatAddCheckpoint } from '../../../../src/trail/witness-protocol.js';
import { consistencyProof } from '../../../../src/trail/proofs.js';
import { type SealedTrail, noteText, outboxObjects, sealTrail, tempDir, testKey } from '../../../helpers/trail.js';

const log = createLogger('silent');
const KEY = testKey('pod-a', 1);
const OTHER = testKey('pod-b', 2);
const ORIGIN = 'fleet.test/pod-a';
const W = generateWitnessKeyPair('witness.test/w1', new Uint8Array(32).fill(0x44));
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** The outbox's view of object `i` of `t`. */
const trailObject = (t: SealedTrail, i: number): TrailObject => outboxObjects(t)[i]!;

async function witness(keys = [KEY]) {
  const root = tempDir('tailseal-witness-sink-');
  const state = MonitorState.open(join(root, 'monitor'));
  const signer = parseWitnessSignerKey(W.signerKey);
  const published = join(root, 'monitor-published');
  const server = new WitnessServer(
    { host: '127.0.0.1', port: 0 },
    {
      state,
      signer,
      writer: fileWitnessWriter(published),
      keysFor: (origin) => (origin.startsWith(`${ORIGIN}/`) ? keys.map((k) => k.verifier) : []),
      now: Date.now,
      log,
    },
    log,
  );
  await server.start();
  const pub = join(root, 'witness.pub');
  writeFileSync(pub, `${W.verifierKey}\n`);
  cleanups.push(async () => {
    await server.close();
    state.close();
    rmSync(root, { recursive: true, force: true });
  });
  const url = `http://127.0.0.1:${server.port}`;
  const sink = async (name = 'w1') => {
    const s = new WitnessSink(
      witnessSinkSchema.parse({ name, type: 'witness', url, key_file: pub, store: join(root, 'shipped') }),
      { log, stateDir: join(root, 'daemon') },
    );
    await s.start();
    cleanups.push(() => s.close());
    return s;
  };
  const post = async (body: string) => {
    const res = await fetch(`${url}/add-checkpoint`, { method: 'POST', body });
    return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
  };
  return {
    root,
    state,
    signer,
    published,
    sink,
    post,
    url,
    stateFile: (n = 'w1') => witnessStatePath(join(root, 'daemon'), n),
  };
}

const cosigned = (dir: string) =>
  (readdirSync(dir, { recursive: true }) as string[]).filter((n) => n.endsWith('.cosigned')).sort();

describe('witness sink -> add-checkpoint', () => {
  it('cosigns every checkpoint with a proof from the one before; both stores get notes that verify', async () => {
    const w = await witness();
    const t = sealTrail({ origin: ORIGIN, key: KEY, plan: [3, 5, 'heartbeat', 1, 8], t0: Date.now() - 60_000 });
    const s = await w.sink();
    for (let i = 0; i < t.objects.length; i++) assert.equal(await s.put(trailObject(t, i)), 'stored');
    const rec = w.state.cosigned(parseWitnessSignerKey(W.signerKey).verifierKey, `${ORIGIN}/opa`);
    assert.equal(rec?.size, 17);
    assert.equal(rec?.store, SUBMITTED);
    const shipped = cosigned(join(w.root, 'shipped'));
    assert.ok(shipped.length >= 4, shipped.join());
    const newest = readFileSync(join(w.root, 'shipped', shipped.at(-1)!), 'utf8');
    assert.ok(newest.startsWith(noteText(t.latestNote)));
    assert.equal(verifyCosignatures(newest, [parseWitnessVerifierKey(W.verifierKey)]).length, 1);
    assert.ok(cosigned(w.published).length >= 4);
    // Offered again (a crash before the acknowledgement): nothing is submitted twice.
    assert.equal(await s.put(trailObject(t, 1)), 'existed');
    const state = JSON.parse(readFileSync(w.stateFile(), 'utf8')) as { streams: Record<string, { size: number }> };
    assert.equal(state.streams.opa?.size, 17);
  });

  it('a restart resumes from the state file; a lost one gets 409 and is parked where no proof can be made', async () => {
    const w = await witness();
    const t = sealTrail({ origin: ORIGIN, key: KEY, plan: [4, 4, 4, 4], t0: Date.now() - 60_000 });
    const first = await w.sink();
    assert.equal(await first.put(trailObject(t, 0)), 'stored');
    assert.equal(await first.put(trailObject(t, 1)), 'stored');
    await first.close();
    const again = await w.sink();
    assert.equal(await again.put(trailObject(t, 2)), 'stored', 'proof from size 8, from the state file');
    await again.close();
    rmSync(w.stateFile());
    const lost = await w.sink();
    await assert.rejects(lost.put(trailObject(t, 3)), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'SINK_PERMANENT');
      assert.match(err.message, /cosigned fleet\.test\/pod-a\/opa up to size 12.*cannot prove/);
      return true;
    });
  });

  it('a second history of the origin, signed with its key, is refused 422 (a fork) and parked', async () => {
    const w = await witness();
    const t = sealTrail({ origin: ORIGIN, key: KEY, plan: [4, 4], t0: Date.now() - 60_000 });
    const s = await w.sink();
    assert.equal(await s.put(trailObject(t, 0)), 'stored');
    const fork = sealTrail({
      origin: ORIGIN,
      key: KEY,
      plan: [4, 4],
      records: Array.from({ length: 8 }, (_, i) => `{"decision_id":"forged-${i}"}`),
      t0: Date.now() - 60_000,
    });
    const other = await w.sink('w2');
    await assert.rejects(other.put(trailObject(fork, 0)), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'SINK_PERMANENT');
      assert.match(err.message, /HTTP 422: it found the checkpoint of size 4 inconsistent/);
      return true;
    });
  });

  it('refuses what the protocol says (404, 403, 400, 409, 422, 405, 413)', async () => {
    const w = await witness([KEY]);
    const t = sealTrail({ origin: ORIGIN, key: KEY, plan: [2, 3], t0: Date.now() - 60_000 });
    const untrusted = sealTrail({ origin: ORIGIN, key: OTHER, plan: [2], t0: Date.now() - 60_000 });
    const stranger = sealTrail({ origin: 'elsewhere.test/x', key: KEY, plan: [2], t0: Date.now() - 60_000 });
    const leaves = (n: number) => Array.from({ length: n }, (_, i) => new Uint8Array(32).fill(i));
    const add = (old: number, note: string, proof: Uint8Array[] = []) =>
      w.post(formatAddCheckpoint({ oldSize: old, proof, checkpoint: note }));
    assert.equal((await add(0, stranger.objects[0]!.note)).status, 404);
    assert.equal((await add(0, untrusted.objects[0]!.note)).status, 403);
    const tampered = t.objects[0]!.note.replace(/\n2\n/, '\n3\n');
    assert.equal((await add(0, tampered)).status, 403, 'a signature of a trusted key that does not verify');
    assert.equal((await add(9, t.objects[0]!.note)).status, 400, 'old above the size');
    assert.equal((await w.post('hello\n')).status, 400);
    assert.equal((await add(0, t.objects[0]!.note, leaves(1))).status, 422, 'a proof from 0');
    // Two submissions at once from size 0: the check and the record are one step, so one only passes.
    const both = await Promise.all([add(0, t.objects[0]!.note), add(0, t.objects[0]!.note)]);
    assert.deepEqual(both.map((r) => r.status).sort(), [200, 409]);
    const conflict = await add(0, t.objects[1]!.note);
    assert.deepEqual([conflict.status, conflict.type, conflict.text], [409, 'text/x.tlog.size', '2\n']);
    assert.equal((await add(2, t.objects[1]!.note, leaves(2))).status, 422, 'a proof that does not verify');
    const ok = await add(2, t.objects[1]!.note, consistencyProofOf(t, 2, 5));
    assert.equal(ok.status, 200, ok.text);
    assert.match(ok.text, /^\u2014 witness\.test\/w1 [A-Za-z0-9+/=]+\n$/);
    assert.equal((await fetch(`${w.url}/add-checkpoint`)).status, 405);
    assert.equal((await fetch(`${w.url}/other`, { method: 'POST', body: 'x' })).status, 404);
    const big = await fetch(`${w.url}/add-checkpoint`, { method: 'POST', body: 'x'.repeat(200_000) });
    assert.equal(big.status, 413);
  });
});

/** The proof from `m` to `n` of trail `t`, from all its leaves (as a log keeping every leaf makes it). */
function consistencyProofOf(t: SealedTrail, m: number, n: number): Uint8Array[] {
  const all = t.objects.flatMap((_, i) => leafHashes(trailObject(t, i)));
  return consistencyProof(m, all.slice(0, n));
}
