// `tailseal prove --consistency --old CHECKPOINT` and `verify-proof` on it, as child processes:
// a checkpoint saved before more decisions is a prefix of the newest tree (OK); a store rewritten
// and re-signed with the same key after changing one old entry verifies on its own, but the
// saved checkpoint exposes it (PROOF_INVALID, exit 1).
import assert from 'node:assert/strict';
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CLI } from '../helpers/paths.js';
import { type BuiltTrail, buildTrail, decisionLine } from '../helpers/trail.js';

const cleanups: (() => void)[] = [];
after(() => cleanups.forEach((c) => c()));

function tailseal(...args: string[]): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000 });
}

function built(records: string[], plan: number[]): BuiltTrail {
  const t = buildTrail({ records, plan });
  cleanups.push(t.cleanup);
  return t;
}

const RECORDS = Array.from({ length: 40 }, (_, i) => decisionLine(i));

describe('tailseal prove --consistency', () => {
  it('a checkpoint saved before more decisions is a prefix of the newest: bundle written, verify-proof OK', () => {
    const t = built(RECORDS, [7, 10, 23]);
    const old = join(t.root, 'saved.note');
    writeFileSync(old, t.objects[0]!.note); // saved by the auditor when the store had 7 entries
    const out = join(t.root, 'consistency.json');
    const r = tailseal(
      'prove',
      '--consistency',
      '--old',
      old,
      '--store',
      t.dir,
      '--public-key',
      t.pubFile,
      '--out',
      out,
    );
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /7 entries are a prefix of 40/);
    const bundle = JSON.parse(readFileSync(out, 'utf8')) as { kind: string; new_checkpoint: string };
    assert.equal(bundle.kind, 'consistency');
    assert.equal(bundle.new_checkpoint, t.latestNote);
    const v = tailseal('verify-proof', out, '--public-key', t.pubFile);
    assert.equal(v.status, 0, v.stdout + v.stderr);
    assert.match(
      v.stdout,
      /^OK tailseal\.test\/trail\/opa: the tree of 7 entries .* is a prefix of the tree of 40 entries/,
    );
    // The same, the other way round, is no proof: one altered byte of the bundle is rejected.
    const text = readFileSync(out, 'utf8');
    const hash = (JSON.parse(text) as { proof: string[] }).proof[0]!;
    writeFileSync(out + '.bad', text.replace(hash, (hash.startsWith('A') ? 'B' : 'A') + hash.slice(1)));
    const bad = tailseal('verify-proof', out + '.bad', '--public-key', t.pubFile);
    assert.equal(bad.status, 1);
    assert.match(bad.stdout, /^FAIL PROOF_INVALID: /);
  });

  it('a store rewritten after one old entry changed, re-signed with the same key: verify passes, consistency fails', () => {
    const before = built(RECORDS.slice(0, 20), [7, 13]);
    const old = join(before.root, 'saved.note');
    writeFileSync(old, before.latestNote); // 20 entries, saved by the auditor
    const rewritten = [...RECORDS];
    rewritten[3] = decisionLine(3, '-rewritten');
    const after = built(rewritten, [7, 13, 20]);
    // Re-signed with the same key: the rewritten store is a valid trail on its own.
    const v = tailseal('verify', '--store', after.dir, '--public-key', after.pubFile);
    assert.equal(v.status, 0, v.stdout + v.stderr);
    const r = tailseal('prove', '--consistency', '--old', old, '--store', after.dir, '--public-key', after.pubFile);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^FAIL PROOF_INVALID: .*history was rewritten/);
    // The unchanged store proves fine with the same saved checkpoint.
    const same = built(RECORDS, [7, 13, 20]);
    const ok = tailseal('prove', '--consistency', '--old', old, '--store', same.dir, '--public-key', same.pubFile);
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);
  });

  it('refuses a saved checkpoint no trusted key signed, and a bad choice of options', () => {
    const t = built(RECORDS.slice(0, 10), [10]);
    const old = join(t.root, 'forged.note');
    const note = t.objects[0]!.note;
    const sig = note.slice(note.lastIndexOf(' ') + 1, -1);
    writeFileSync(old, note.replace(sig, sig.slice(0, 30) + (sig[30] === 'A' ? 'B' : 'A') + sig.slice(31)));
    const r = tailseal('prove', '--consistency', '--old', old, '--store', t.dir, '--public-key', t.pubFile);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^FAIL SIGNATURE_INVALID: /);
    const usage = tailseal('prove', '--consistency', '--store', t.dir, '--public-key', t.pubFile);
    assert.equal(usage.status, 2);
  });
});
