// Mask and drop rules in a running daemon: what reaches the store is the masked decision (the
// original never does), drops leave tombstones, a decision the rules fail on is quarantined
// under state_dir with a gap record in its place, and the trail verifies.
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { makeWorkspace, startDaemon, stopDaemon, storeEntries, verifyStore, waitFor } from '../helpers/daemon.js';
import { decisionLine, prng } from '../helpers/opa-sample.js';

const HMAC_KEY = 'mask-key-5d1e9c3a7b20-secret';

describe('mask rules in the daemon', () => {
  it('seals masked decisions, tombstones for drops, quarantines what the rules fail on', async () => {
    const w = makeWorkspace();
    writeFileSync(
      w.configFile,
      readFileSync(w.configFile, 'utf8').replace(
        '    read_chunk_bytes: 1MiB\n',
        `    read_chunk_bytes: 1MiB
    mask:
      version: rules-2026-11
      hmac_key: ${HMAC_KEY}
      rules:
        - { drop: /path, equals: "health/live" }
        - { erase: /input/password }
        - { hmac: /input/account }
`,
      ),
    );
    const rnd = prng(21);
    const secretLine = (i: number) =>
      decisionLine(i, rnd).replace('"input":{', `"input":{"password":"hunter2-${i}","account":"alice",`);
    const health = decisionLine(2, rnd).replace(/"path":"[^"]*"/, '"path":"health/live"');
    const untouched = decisionLine(3, rnd);
    const bigInt = secretLine(4).replace('"input":{', '"input":{"n":18446744073709551615,');
    const lines = [secretLine(1), health, untouched, bigInt];
    writeFileSync(join(w.opaDir, 'opa.log'), `${lines.join('\n')}\n`);
    const d = startDaemon(w);
    try {
      await waitFor(() => storeEntries(w.storeDir).length === 4, 'four entries');
    } finally {
      assert.equal(await stopDaemon(d), 0);
    }
    const entries = storeEntries(w.storeDir);
    const text = entries.map((e) => Buffer.from(e.payload).toString('utf8'));
    assert.deepEqual(
      entries.map((e) => e.kind),
      ['decision', 'gap', 'decision', 'gap'],
    );
    // 1: masked: no password, the user an HMAC, the pointers recorded as OPA does, the rule set named.
    const masked = JSON.parse(text[0]!) as { input: Record<string, unknown>; erased: string[]; masked: string[] };
    assert.equal(masked.input.password, undefined);
    assert.match(String(masked.input.account), /^[0-9a-f]{64}$/);
    assert.deepEqual([masked.erased, masked.masked], [['/input/password'], ['/input/account']]);
    assert.equal(entries[0]!.meta?.['mask.version'], 'rules-2026-11');
    // 2: dropped: a tombstone naming the rule and the decision.
    const health_id = (JSON.parse(health) as { decision_id: string }).decision_id;
    assert.deepEqual(JSON.parse(text[1]!), { reason: 'dropped', rule: 0, decision_id: health_id });
    // 3: untouched by every rule: OPA's exact bytes, no metadata.
    assert.equal(text[2], untouched);
    assert.equal(entries[2]!.meta, undefined);
    // 4: the rules could not rewrite it exactly: quarantined, a gap in its place.
    const gap = JSON.parse(text[3]!) as { reason: string; error: string };
    assert.equal(gap.reason, 'mask_failed');
    assert.match(gap.error, /cannot be rewritten exactly/);
    const q = join(w.stateDir, 'quarantine', 'opa.ndjson');
    assert.equal(statSync(q).mode & 0o777, 0o600);
    assert.equal((JSON.parse(readFileSync(q, 'utf8').trim()) as { payload: string }).payload, bigInt);
    // The originals' secrets reached neither the store nor the logs; the trail verifies.
    assert.ok(!text.some((t) => t.includes('hunter2') || t.includes('"alice"')));
    assert.ok(!d.logs.some((l) => l.includes('hunter2') || l.includes(HMAC_KEY)), 'secrets in the logs');
    assert.ok(d.logs.some((l) => l.includes('quarantined')));
    const v = verifyStore(w);
    assert.equal(v.status, 0, v.stdout + v.stderr);
    assert.match(v.stdout, /2 gap records?/);
    w.cleanup();
  });
});
