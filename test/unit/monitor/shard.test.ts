// Shards of the fleet monitor: parsing `i/n`, the stable hash that partitions origins, two monitors
// (0/2 and 1/2) on one store that together report every origin exactly once, and the bounded pool
// that verifies origins in parallel.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { afterEach, describe, it } from 'node:test';
import { runPass } from '../../../src/monitor/pass.js';
import { forEachLimited } from '../../../src/monitor/pool.js';
import { Shard, parseShard, shardOf } from '../../../src/monitor/shard.js';
import { ValidSignatures } from '../../../src/monitor/signatures.js';
import { fileStoreReader } from '../../../src/sinks/file/reader.js';
import { MonitorState } from '../../../src/store/monitor-state.js';
import { isTailsealError } from '../../../src/errors.js';
import { DEFAULT_MAX_OBJECT_BYTES } from '../../../src/trail/object.js';
import { type TestKey, sealTrail, tempDir, testKey, writeObject } from '../../helpers/trail.js';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

describe('monitor shards', () => {
  it('parses i/n and refuses anything else with CONFIG_INVALID', () => {
    assert.deepEqual(parseShard('0/1'), { index: 0, count: 1 });
    assert.deepEqual(parseShard('2/3'), { index: 2, count: 3 });
    for (const bad of ['', '1', '3/3', '0/0', '-1/2', '1/2/3', 'a/b', '1.0/2', '1 / 2', '1234567/9999999'])
      assert.throws(
        () => parseShard(bad),
        (e: unknown) => isTailsealError(e) && e.code === 'CONFIG_INVALID',
        `"${bad}" is refused`,
      );
  });

  it('the shard is the first 8 bytes of SHA-256 of the origin, big-endian, mod n', () => {
    // SHA-256("a") = ca978112ca1bbdca...; 0xca978112ca1bbdca mod 7 = 14598919286213066186 mod 7.
    assert.equal(shardOf('a', 7), Number(0xca978112ca1bbdcan % 7n));
    assert.equal(shardOf('a', 1), 0);
  });

  it('every origin is in exactly one shard, for every n', () => {
    const origins = Array.from({ length: 500 }, (_, i) => `opa.example.com/ns/pod-${i}/opa`);
    for (const n of [1, 2, 3, 5, 16]) {
      const shards = Array.from({ length: n }, (_, i) => new Shard({ index: i, count: n }));
      const sizes = new Array<number>(n).fill(0);
      for (const o of origins) {
        const owners = shards.filter((s) => s.owns(o));
        assert.equal(owners.length, 1, `${o} has one owner of ${n}`);
        sizes[owners[0]!.spec.index]!++;
      }
      assert.ok(
        sizes.every((c) => c > 0),
        `no empty shard of ${n}: ${sizes.join(',')}`,
      );
    }
  });

  it('monitors 0/2 and 1/2 on one store together report every origin once, and skip the other shard', async () => {
    const dir = tempDir('tailseal-shard-store-');
    const keys = new Map<string, TestKey>();
    for (let i = 0; i < 6; i++) {
      const key = testKey(`pod-${i}`, i + 1);
      const t = sealTrail({ origin: `fleet.test/pod-${i}`, key, plan: [2, 1] });
      keys.set(`${t.origin}/${t.stream}`, key);
      for (const o of t.objects) writeObject(dir, `pod-${i}/${o.name}`, o.body);
    }
    const all = [...keys.keys()].sort();
    const reported: string[][] = [];
    for (const index of [0, 1]) {
      const stateDir = tempDir('tailseal-shard-state-');
      const state = MonitorState.open(stateDir);
      cleanups.push(() => {
        state.close();
        rmSync(stateDir, { recursive: true, force: true });
      });
      const deps = {
        stores: [{ name: 'fleet', reader: () => fileStoreReader(dir) }],
        state,
        keysFor: (o: string) => (keys.has(o) ? [keys.get(o)!.verifier] : []),
        maxSilenceFor: () => Number.MAX_SAFE_INTEGER,
        fullEveryMs: Number.MAX_SAFE_INTEGER,
        now: () => 0,
        maxObjectBytes: DEFAULT_MAX_OBJECT_BYTES,
        concurrency: 3,
        shard: new Shard({ index, count: 2 }),
        onActive: (n: number) => (maxActive = Math.max(maxActive, n)),
      };
      let maxActive = 0;
      const first = await runPass(deps);
      assert.equal(first.objectsRead, 12, 'the first pass reads every object once to learn its origin');
      assert.deepEqual(first.problems.get('fleet'), [], "the other shard's objects are no problem");
      assert.ok(first.origins.length > 0, `shard ${index} of 2 owns some of the 6 origins`);
      for (const o of first.origins) {
        assert.equal(shardOf(o.origin, 2), index);
        assert.equal(o.status, 'ok');
      }
      assert.deepEqual(
        first.verified.map((v) => v.origin),
        first.origins.map((o) => o.origin),
        'it cosigns only its own',
      );
      assert.equal(maxActive, 3, 'the in-flight gauge reached the concurrency, never more');
      reported.push(first.origins.map((o) => o.origin));
      const second = await runPass(deps);
      assert.equal(second.objectsRead, 0, "the next pass reads neither its verified objects nor the other shard's");
    }
    assert.deepEqual([...reported[0]!, ...reported[1]!].sort(), all, 'each origin reported by exactly one monitor');
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('forEachLimited', () => {
  it('runs at most `limit` at once, every item once', async () => {
    for (const limit of [1, 3, 10]) {
      let max = 0;
      const done: number[] = [];
      await forEachLimited(
        Array.from({ length: 7 }, (_, i) => i),
        limit,
        async (i) => {
          await new Promise((r) => setImmediate(r));
          done.push(i);
        },
        (n) => (max = Math.max(max, n)),
      );
      assert.deepEqual(
        done.sort((a, b) => a - b),
        [0, 1, 2, 3, 4, 5, 6],
      );
      assert.equal(max, Math.min(limit, 7));
    }
  });

  it('a failure stops taking items, waits for those in progress, then is rethrown', async () => {
    const finished: number[] = [];
    let active = -1;
    await assert.rejects(
      forEachLimited(
        [0, 1, 2, 3, 4, 5],
        2,
        async (i) => {
          if (i === 0) throw new Error('boom');
          await new Promise((r) => setTimeout(r, 5));
          finished.push(i);
        },
        (n) => (active = n),
      ),
      /boom/,
    );
    assert.deepEqual(finished, [1], 'item 1 was in progress and finished; none started after the failure');
    assert.equal(active, 0, 'nothing still running when it rethrows');
  });
});

describe('ValidSignatures', () => {
  it('a signature found valid once is not verified again; an invalid one always is', () => {
    const key = testKey('sig.test', 5);
    const msg = new TextEncoder().encode('sig.test/opa\n1\nroot\n');
    const sig = key.signer.sign(msg);
    let calls = 0;
    const counted = {
      name: key.verifier.name,
      keyId: key.verifier.keyId,
      verify: (m: Uint8Array, s: Uint8Array) => {
        calls++;
        return key.verifier.verify(m, s);
      },
    };
    const memo = new ValidSignatures();
    const bad = Uint8Array.from(sig, (b, i) => (i === 0 ? b ^ 1 : b));
    assert.equal(memo.recording([counted])[0]!.verify(msg, sig), true);
    assert.equal(memo.recording([counted])[0]!.verify(msg, bad), false);
    assert.equal(calls, 2);
    const trusting = memo.trusting([counted])[0]!;
    assert.equal(trusting.verify(msg, sig), true);
    assert.equal(calls, 2, 'the valid one is remembered');
    assert.equal(trusting.verify(msg, bad), false);
    assert.equal(trusting.verify(new TextEncoder().encode('other\n'), sig), false);
    assert.equal(calls, 4, 'an invalid signature, or another message, is verified again');
    assert.equal(new ValidSignatures().trusting([counted])[0]!.verify(msg, sig), true);
    assert.equal(calls, 5, 'another pass remembers nothing');
  });
});
