// `tailseal prove` and `tailseal verify-proof` on a real daemon's file-sink store, run from
// docs/operations.md's own commands (paths substituted): a reused decision_id gives one proof per
// entry, a real decision_id proves, and a bundle with one byte changed is rejected with its code.
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { RUN, docCommand } from '../docs/commands.js';
import {
  type DaemonProc,
  type Workspace,
  cli,
  docArgs,
  makeWorkspace,
  startDaemon,
  stopDaemon,
  storeEntries,
  storedDecisions,
  waitFor,
} from '../helpers/daemon.js';
import { decisionLine, prng } from '../helpers/opa-sample.js';

const DOC_ID = '4a3b2c1d-0001';

/** The files the proof commands in docs/operations.md name, in the workspace. */
const proofFiles = (w: Workspace, bundle: string) => ({
  'proof.json': bundle,
  'saved.checkpoint': join(w.root, 'saved.checkpoint'),
  'consistency.json': join(w.root, 'consistency.json'),
});

/** Changes the first `from` after `after` in the file to `to` (one byte when both are one character). */
function alterFile(file: string, after: string, from: string, to: string): void {
  const text = readFileSync(file, 'utf8');
  const at = text.indexOf(from, text.indexOf(after));
  assert.ok(at >= 0, `${from} in ${file}`);
  writeFileSync(file, text.slice(0, at) + to + text.slice(at + from.length));
}

describe('prove and verify-proof on a real run', () => {
  let w: Workspace | undefined;
  let d: DaemonProc | undefined;
  after(() => {
    d?.child.kill('SIGKILL');
    w?.cleanup();
  });

  it('prove a decision_id (reused by OPA: all occurrences), verify-proof OK; one altered byte is rejected', async () => {
    w = makeWorkspace();
    const ws = w;
    const rnd = prng(20);
    const lines = Array.from({ length: 60 + 10_000 }, (_, i) => decisionLine(i, rnd));
    const reuse = (i: number) => lines[i]!.replace(/"decision_id":"[^"]+"/, `"decision_id":"${DOC_ID}"`);
    lines[10] = reuse(10);
    const log = join(ws.opaDir, 'opa.log');
    appendFileSync(log, lines.slice(0, 60).join('\n') + '\n');
    d = startDaemon(ws);
    await waitFor(() => storedDecisions(ws.storeDir).length === 60, 'the first 60 decisions stored');
    // The auditor saves the newest checkpoint while the daemon runs (tailseal checkpoint).
    const saved = cli(['checkpoint', '--config', ws.configFile]);
    assert.equal(saved.status, 0, saved.stderr);
    writeFileSync(join(ws.root, 'saved.checkpoint'), saved.stdout);
    lines[100] = reuse(100);
    appendFileSync(log, lines.slice(60).join('\n') + '\n');
    await waitFor(() => storedDecisions(ws.storeDir).length === lines.length, 'all decisions stored');
    assert.equal(await stopDaemon(d), 0);
    const entries = storeEntries(ws.storeDir);
    const seqOf = (line: string) => entries.find((e) => Buffer.from(e.payload).toString('utf8') === line)!.seq;
    const stream = entries[0]!.stream;

    // The documented commands: the reused id gives two proofs, against the newest checkpoint.
    const bundle = join(ws.root, 'proof.json');
    const proved = cli(docArgs(docCommand(RUN.proveDecision), ws, proofFiles(ws, bundle)));
    assert.equal(proved.status, 0, proved.stdout + proved.stderr);
    const parsed = JSON.parse(readFileSync(bundle, 'utf8')) as {
      proofs: { stream: string; seq: number; tree_size: number; entry: string }[];
    };
    assert.deepEqual(
      parsed.proofs.map((p) => [p.stream, p.seq, p.tree_size]),
      [
        [stream, seqOf(lines[10]!), entries.length],
        [stream, seqOf(lines[100]!), entries.length],
      ],
    );
    const ok = cli(docArgs(docCommand(RUN.verifyProof), ws, proofFiles(ws, bundle)));
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);
    assert.equal(ok.stdout.match(/^OK stream /gm)?.length, 2, ok.stdout);

    // The checkpoint saved after 60 decisions is a prefix of the newest tree (10,000 more since).
    const consistent = cli(docArgs(docCommand(RUN.proveConsistency), ws, proofFiles(ws, bundle)));
    assert.equal(consistent.status, 0, consistent.stdout + consistent.stderr);
    const checked = cli(docArgs(docCommand(RUN.verifyConsistency), ws, proofFiles(ws, bundle)));
    assert.equal(checked.status, 0, checked.stdout + checked.stderr);
    assert.match(
      checked.stdout,
      new RegExp(`the tree of 60 entries .* is a prefix of the tree of ${entries.length} entries`),
    );

    // A real decision_id of the run, and the same entry by --stream/--seq: the same bundle.
    const id = /"decision_id":"([^"]+)"/.exec(lines[57]!)![1]!;
    const byId = cli(['prove', '--store', ws.storeDir, '--public-key', ws.pubFile, '--decision-id', id]);
    assert.equal(byId.status, 0, byId.stderr);
    const seq = String(seqOf(lines[57]!));
    const bySeq = cli(['prove', '--store', ws.storeDir, '--public-key', ws.pubFile, '--stream', stream, '--seq', seq]);
    assert.equal(bySeq.status, 0, bySeq.stderr);
    assert.equal(bySeq.stdout, byId.stdout);
    const single = join(ws.root, 'single.json');
    writeFileSync(single, byId.stdout);
    const json = cli(['verify-proof', single, '--public-key', ws.pubFile, '--json']);
    assert.equal(json.status, 0, json.stdout + json.stderr);
    const out = JSON.parse(json.stdout) as { ok: boolean; proofs: { seq: number; tree_size: number }[] };
    assert.deepEqual(out, { ...out, ok: true });
    assert.equal(out.proofs[0]!.seq, Number(seq));

    // One byte changed: in the entry's payload, in the audit path, in the checkpoint's signature.
    const altered: [string, (f: string) => void, string][] = [
      [
        'payload',
        (f) => alterFile(f, '"entry"', id, id.slice(0, -1) + (id.endsWith('a') ? 'b' : 'a')),
        'PROOF_INVALID',
      ],
      ['audit path', (f) => alterFile(f, '"audit_path"', '"', '"/'), 'BUNDLE_MALFORMED'],
      ['audit path hash', (f) => alterFile(f, '"audit_path": [\n        "', 'A', 'B'), 'PROOF_INVALID'],
      ['signature', (f) => alterFile(f, '\\u2014 ', '=\\n', 'A\\n'), 'SIGNATURE_INVALID'],
    ];
    for (const [what, change, code] of altered) {
      const f = join(ws.root, `altered-${what.replace(/ /g, '-')}.json`);
      writeFileSync(f, byId.stdout);
      change(f);
      assert.notEqual(readFileSync(f, 'utf8'), byId.stdout, what);
      const r = cli(['verify-proof', f, '--public-key', ws.pubFile]);
      assert.equal(r.status, 1, `${what}: ${r.stdout}${r.stderr}`);
      assert.match(r.stdout, new RegExp(`^FAIL ${code}: `), what);
      const j = cli(['verify-proof', f, '--public-key', ws.pubFile, '--json']);
      assert.equal((JSON.parse(j.stdout) as { code: string }).code, code, what);
    }

    // Not in the store: NOT_FOUND, exit 1; a bad choice of options: usage, exit 2.
    const none = cli(['prove', '--store', ws.storeDir, '--public-key', ws.pubFile, '--decision-id', 'no-such-id']);
    assert.equal(none.status, 1);
    assert.match(none.stderr, /NOT_FOUND/);
    const both = cli(['prove', '--store', ws.storeDir, '--public-key', ws.pubFile, '--decision-id', id, '--seq', '1']);
    assert.equal(both.status, 2);

    // A store changed after the fact: prove refuses it, as verify does.
    const dir = join(ws.storeDir, stream);
    const first = readdirSync(dir)
      .filter((n) => n.endsWith('.ndjson'))
      .sort()[0]!;
    alterFile(join(dir, first), '"payload"', 'POST', 'PUT!');
    const broken = cli(['prove', '--store', ws.storeDir, '--public-key', ws.pubFile, '--decision-id', id]);
    assert.equal(broken.status, 1, broken.stdout + broken.stderr);
    assert.match(broken.stdout, /^FAIL ENTRY_ALTERED: /);
  });
});
