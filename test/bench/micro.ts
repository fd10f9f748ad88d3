// Per-stage figures, in process, so a regression points at its stage: split, classify,
// envelope + hash, SQLite commit, checkpoint signing, sink write.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../src/log.js';
import { generateKeyPair, parseSignerKey } from '../../src/trail/keys.js';
import { type SealRecord, sealRecords, signHead } from '../../src/seal/sealer.js';
import { FileSink } from '../../src/sinks/file/sink.js';
import { classifyLine } from '../../src/sources/file/classify.js';
import { openDatabase } from '../../src/store/db.js';
import { StateStore } from '../../src/store/state.js';
import { corpusLine } from './corpus.js';
import { prng } from '../helpers/opa-sample.js';

function time<T>(fn: () => T): { ms: number; value: T } {
  const t0 = performance.now();
  const value = fn();
  return { ms: performance.now() - t0, value };
}

export async function microBenchmarks(): Promise<Record<string, string>[]> {
  const rnd = prng(5);
  const lines = Array.from({ length: 50_000 }, (_, i) => corpusLine(i, rnd).line);
  const buf = Buffer.from(lines.join('\n') + '\n');
  const mb = buf.length / 1e6;
  const out: Record<string, string>[] = [];
  const add = (stage: string, figure: string) => out.push({ stage, figure });

  const split = time(() => {
    const parts: Buffer[] = [];
    for (let p = 0, nl = buf.indexOf(10); nl >= 0; p = nl + 1, nl = buf.indexOf(10, p)) parts.push(buf.subarray(p, nl));
    return parts;
  });
  add(
    'split lines (Buffer indexOf)',
    `${(mb / (split.ms / 1000)).toFixed(0)} MB/s, ${Math.round(split.value.length / (split.ms / 1000))} lines/s`,
  );

  const cls = time(() => split.value.map((l) => classifyLine(l).cls));
  add(
    'classify (JSON scan in place; decode + JSON.parse only when unsure)',
    `${Math.round(split.value.length / (cls.ms / 1000))} lines/s`,
  );

  const records: SealRecord[] = split.value.map((l, i) => ({
    kind: 'decision',
    source: '/var/log/opa/opa.log',
    offset: i * 600,
    payload: Buffer.from(l),
  }));
  const dir = mkdtempSync(join(tmpdir(), 'tailseal-micro-'));
  try {
    const store = new StateStore(openDatabase(join(dir, 'state.db')));
    let head = store.streams.loadStream('opa');
    // Once untimed first, so the figure is of optimised code (the daemon's steady state).
    sealRecords(head, records.slice(0, 5000), Date.now());
    const seal = time(() => {
      let h = head;
      for (let i = 0; i < records.length; i += 1000)
        h = { ...h, ...sealRecords(h, records.slice(i, i + 1000), Date.now()).head };
      return h;
    });
    add('envelope + leaf/chain hash + tree', `${Math.round(records.length / (seal.ms / 1000))} entries/s`);

    let commits = 0;
    const lines10k: Buffer[] = [];
    const commit = time(() => {
      for (let i = 0; i < records.length; i += 1000, commits++) {
        const s = sealRecords(head, records.slice(i, i + 1000), Date.now());
        store.commitSealed({ stream: s.head, before: head.nextSeq, data: s.data });
        if (i < 10_000) lines10k.push(s.data);
        head = { ...head, ...s.head };
      }
    });
    add(
      'seal + commit (1000 entries per batch: outbox segment + SQLite, both fsynced)',
      `${(commit.ms / commits).toFixed(1)} ms per batch, ${Math.round(records.length / (commit.ms / 1000))} entries/s`,
    );

    const signer = parseSignerKey(generateKeyPair('bench.tailseal/x', new Uint8Array(32).fill(1)).signerKey);
    const sign = time(() => {
      for (let i = 0; i < 200; i++) signHead('bench.tailseal/x', head, Date.now(), signer);
    });
    add('sign a checkpoint (Ed25519, @noble)', `${(sign.ms / 200).toFixed(2)} ms each`);

    const sink = new FileSink(
      { name: 'm', type: 'file', dir: join(dir, 'store'), gzip: false, retry: { baseMs: 1, maxMs: 1 }, in_flight: 1 },
      { log: createLogger('silent'), stateDir: tmpdir() },
    );
    await sink.start();
    const bytes = lines10k.reduce((n, l) => n + l.length, 0);
    const t0 = performance.now();
    await sink.put({
      id: 1,
      stream: 'opa',
      firstSeq: 0,
      size: 10_000,
      createdAt: Date.now(),
      lines: lines10k,
      note: 'n\n',
    });
    const ms = performance.now() - t0;
    add(
      'file sink write (10,000-entry object, fsync)',
      `${ms.toFixed(0)} ms, ${(bytes / 1e6 / (ms / 1000)).toFixed(0)} MB/s`,
    );
    store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}
