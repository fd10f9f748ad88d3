// Issue 8, case 13: the state database missing, empty or corrupt at start while the file sink
// already holds the trail. `refuse` stops with a clear error; `chain_tail` and `end_of_files`
// continue the verified chain, seal a state_reset record, and never fork the trail.
import assert from 'node:assert/strict';
import { appendFileSync, chmodSync, existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { writeKeyPair } from '../../src/seal/keyfile.js';
import {
  logsWith,
  makeWorkspace,
  startDaemon,
  stopDaemon,
  storeEntries,
  storedDecisions,
  verifyStore,
  waitFor,
  type Workspace,
} from '../helpers/daemon.js';
import { decisionLine, prng } from '../helpers/opa-sample.js';

type Policy = 'refuse' | 'chain_tail' | 'end_of_files';

function workspace(policy: Policy): Workspace {
  return makeWorkspace({ extraYaml: `recovery:\n  on_state_loss: ${policy}\n` });
}

/** Runs the daemon until `n` decisions are stored, then stops it gracefully (all shipped). */
async function runUntil(w: Workspace, n: number): Promise<void> {
  const d = startDaemon(w);
  try {
    await waitFor(() => storedDecisions(w.storeDir).length === n, `${n} decisions stored`);
  } finally {
    assert.equal(await stopDaemon(d), 0, d.logs.join('\n'));
  }
}

function lines(from: number, count: number, seed: number): string[] {
  const rnd = prng(seed);
  return Array.from({ length: count }, (_, i) => decisionLine(from + i, rnd));
}

const stateResets = (w: Workspace) =>
  storeEntries(w.storeDir)
    .filter((e) => e.kind === 'gap')
    .map(
      (e) =>
        JSON.parse(Buffer.from(e.payload).toString('utf8')) as {
          reason: string;
          cause: string;
          policy: string;
          trail_size: number;
          files: { path: string; action: string; from: number; to?: number }[];
        },
    )
    .filter((g) => g.reason === 'state_reset');

describe('lost state database (issue 8, case 13)', () => {
  it('refuse (the default): start-up stops with STATE_LOST naming the choices, and stays stopped', async () => {
    const w = workspace('refuse');
    const log = join(w.opaDir, 'opa.log');
    writeFileSync(
      log,
      lines(0, 20, 1)
        .map((l) => `${l}\n`)
        .join(''),
    );
    await runUntil(w, 20);
    const before = storeEntries(w.storeDir).length;
    rmSync(w.stateDir, { recursive: true });
    for (let attempt = 0; attempt < 2; attempt++) {
      // The second attempt finds the database the first one created: still no state, still refused.
      const d = startDaemon(w);
      assert.equal(await d.exited, 1);
      const out = d.logs.join('\n');
      assert.match(out, /STATE_LOST/);
      assert.match(out, /on_state_loss to chain_tail/);
      assert.match(out, /stream opa \(20 entries\)/);
    }
    assert.equal(storeEntries(w.storeDir).length, before, 'nothing new in the store');
    w.cleanup();
  });

  it('chain_tail: the chain continues from the verified trail, files resume after its last line, nothing twice', async () => {
    const w = workspace('chain_tail');
    const log = join(w.opaDir, 'opa.log');
    const first = lines(0, 30, 2);
    writeFileSync(log, first.map((l) => `${l}\n`).join(''));
    await runUntil(w, 30);
    rmSync(w.stateDir, { recursive: true });
    // Written while tailseal is down and its state is gone: must be read, once.
    const more = lines(100, 25, 3);
    appendFileSync(log, more.map((l) => `${l}\n`).join(''));
    const d = startDaemon(w);
    try {
      await waitFor(() => storedDecisions(w.storeDir).length >= 55, '55 decisions');
      await waitFor(
        () => logsWith(d, 'State database was lost; continuing the chain').length > 0,
        'the recovery warning',
      );
      const later = lines(200, 5, 4);
      appendFileSync(log, later.map((l) => `${l}\n`).join(''));
      await waitFor(() => storedDecisions(w.storeDir).length >= 60, '60 decisions');
    } finally {
      assert.equal(await stopDaemon(d), 0);
    }
    const stored = storedDecisions(w.storeDir);
    assert.equal(stored.length, 60, 'each line exactly once');
    assert.equal(new Set(stored).size, 60);
    const resets = stateResets(w);
    assert.equal(resets.length, 1);
    assert.equal(resets[0]!.cause, 'missing');
    assert.equal(resets[0]!.trail_size, 30);
    assert.deepEqual(
      resets[0]!.files.map((f) => [f.path, f.action]),
      [[log, 'resumed']],
    );
    const seqs = storeEntries(w.storeDir).map((e) => e.seq);
    assert.deepEqual(
      seqs,
      seqs.map((_, i) => i),
      'one chain, seq 0..n-1',
    );
    const v = verifyStore(w);
    assert.equal(v.status, 0, v.stdout + v.stderr);
    assert.match(v.stdout, /state_reset/);
    w.cleanup();
  });

  it('chain_tail: a file whose last sealed line is no longer where the trail says is read from its start', async () => {
    const w = workspace('chain_tail');
    const log = join(w.opaDir, 'opa.log');
    writeFileSync(
      log,
      lines(0, 10, 5)
        .map((l) => `${l}\n`)
        .join(''),
    );
    await runUntil(w, 10);
    rmSync(w.stateDir, { recursive: true });
    // Replaced by other content (rotated away while the state was lost).
    writeFileSync(
      log,
      lines(300, 4, 6)
        .map((l) => `${l}\n`)
        .join(''),
    );
    const d = startDaemon(w);
    try {
      await waitFor(() => storedDecisions(w.storeDir).length >= 14, '14 decisions');
    } finally {
      assert.equal(await stopDaemon(d), 0);
    }
    const resets = stateResets(w);
    assert.deepEqual(
      resets[0]!.files.map((f) => [f.action, f.from]),
      [['from_start', 0]],
    );
    assert.equal(storedDecisions(w.storeDir).length, 14);
    assert.equal(verifyStore(w).status, 0);
    w.cleanup();
  });

  it('end_of_files: what the files hold at start is skipped and the record says which bytes', async () => {
    const w = workspace('end_of_files');
    const log = join(w.opaDir, 'opa.log');
    writeFileSync(
      log,
      lines(0, 10, 7)
        .map((l) => `${l}\n`)
        .join(''),
    );
    await runUntil(w, 10);
    rmSync(w.stateDir, { recursive: true });
    const sizeBefore = readdirSync(w.opaDir).length; // one file
    const skipped = lines(400, 6, 8)
      .map((l) => `${l}\n`)
      .join('');
    const posAfterTen = Buffer.byteLength(
      lines(0, 10, 7)
        .map((l) => `${l}\n`)
        .join(''),
    );
    // OPA is half-way through writing a line when tailseal starts: that line is read whole.
    const [writing] = lines(450, 1, 10);
    appendFileSync(log, skipped + writing!.slice(0, 40));
    const d = startDaemon(w);
    try {
      await waitFor(() => logsWith(d, 'tailseal running.').length > 0, 'start');
      appendFileSync(
        log,
        writing!.slice(40) +
          '\n' +
          lines(500, 3, 9)
            .map((l) => `${l}\n`)
            .join(''),
      );
      await waitFor(() => storedDecisions(w.storeDir).length >= 14, '14 decisions');
    } finally {
      assert.equal(await stopDaemon(d), 0);
    }
    assert.equal(sizeBefore, 1);
    assert.equal(storedDecisions(w.storeDir).length, 14, 'the 6 lines present at start are not sealed');
    assert.ok(storedDecisions(w.storeDir).includes(writing!), 'the line being written at start, whole');
    const resets = stateResets(w);
    assert.deepEqual(
      resets[0]!.files.map((f) => [f.action, f.from, f.to]),
      [['skipped', posAfterTen, posAfterTen + Buffer.byteLength(skipped)]],
    );
    assert.equal(verifyStore(w).status, 0);
    w.cleanup();
  });

  it('a corrupt database: refused with STATE_CORRUPT and left untouched, or moved aside and the chain continued', async () => {
    const w = workspace('refuse');
    const log = join(w.opaDir, 'opa.log');
    writeFileSync(
      log,
      lines(0, 8, 10)
        .map((l) => `${l}\n`)
        .join(''),
    );
    await runUntil(w, 8);
    const db = join(w.stateDir, 'tailseal.db');
    writeFileSync(db, Buffer.alloc(8192, 0x5a)); // not a database any more
    const d = startDaemon(w);
    assert.equal(await d.exited, 1);
    assert.match(d.logs.join('\n'), /STATE_CORRUPT.*on_state_loss/);
    assert.ok(existsSync(db));

    writeFileSync(
      w.configFile,
      readFileSync(w.configFile, 'utf8').replace('on_state_loss: refuse', 'on_state_loss: chain_tail'),
    );
    appendFileSync(
      log,
      lines(600, 2, 11)
        .map((l) => `${l}\n`)
        .join(''),
    );
    const d2 = startDaemon(w);
    try {
      await waitFor(() => storedDecisions(w.storeDir).length >= 10, '10 decisions');
    } finally {
      assert.equal(await stopDaemon(d2), 0);
    }
    assert.ok(
      readdirSync(w.stateDir).some((f) => /^tailseal\.db\.corrupt-/.test(f)),
      'the corrupt file is kept',
    );
    assert.equal(storedDecisions(w.storeDir).length, 10);
    assert.equal(stateResets(w)[0]!.cause, 'corrupt');
    assert.equal(verifyStore(w).status, 0);
    w.cleanup();
  });

  it('a trail signed by a key it no longer trusts (rotated without verify_keys) stops start-up instead of being taken for no trail', async () => {
    const w = workspace('chain_tail');
    writeFileSync(
      join(w.opaDir, 'opa.log'),
      lines(0, 6, 13)
        .map((l) => `${l}\n`)
        .join(''),
    );
    await runUntil(w, 6);
    rmSync(w.stateDir, { recursive: true });
    rmSync(w.keyFile);
    rmSync(w.pubFile);
    writeKeyPair(w.keyFile, 'tailseal.test/it'); // a new key; the old public key is not in verify_keys
    const before = storeEntries(w.storeDir).length;
    const d = startDaemon(w);
    // Bounded: a daemon that took the trail for none would run on, sealing a second chain.
    const timer = setTimeout(() => d.child.kill('SIGKILL'), 20_000);
    const code = await d.exited;
    clearTimeout(timer);
    assert.equal(code, 1, d.logs.join('\n'));
    const out = d.logs.join('\n');
    assert.match(out, /checkpoint rejected/);
    assert.doesNotMatch(out, /starting new chains/);
    assert.equal(storeEntries(w.storeDir).length, before, 'no new chain next to the old one');
    w.cleanup();
  });

  it('chain_tail never continues a trail that does not verify: an altered object stops start-up with its break', async () => {
    const w = workspace('chain_tail');
    writeFileSync(
      join(w.opaDir, 'opa.log'),
      lines(0, 6, 12)
        .map((l) => `${l}\n`)
        .join(''),
    );
    await runUntil(w, 6);
    rmSync(w.stateDir, { recursive: true });
    const dir = join(w.storeDir, 'opa');
    const file = join(
      dir,
      readdirSync(dir).find((n) => /^\d{20}-\d{20}\.ndjson$/.test(n))!,
    );
    chmodSync(file, 0o644);
    writeFileSync(
      file,
      readFileSync(file, 'utf8').replace(/"offset":(\d+)/, (_, n: string) => `"offset":${Number(n) + 1}`),
    );
    const d = startDaemon(w);
    assert.equal(await d.exited, 1);
    assert.match(
      d.logs.join('\n'),
      /ENTRY_ALTERED: the state database holds no state .* cannot be read back .*was altered/,
    );
    w.cleanup();
  });
});
