// `node dist/test/bench/hot.js [lines]`: the in-process hot path of a file backlog without I/O
// (split, classify, envelope + hashes + tree, entry lines into a batch), timed with
// process.cpuUsage so GC and helper threads count. Stable to a few percent run to run, unlike the
// end-to-end figures, so it is what to watch while changing one of these stages.
import { sealRecords, type SealRecord, type StreamHead } from '../../src/seal/sealer.js';
import { LineBatch } from '../../src/seal/encoder.js';
import { CompactRange } from '../../src/trail/merkle.js';
import { CHAIN_START } from '../../src/trail/envelope.js';
import { classifyLine } from '../../src/sources/file/classify.js';
import { corpusLine } from './corpus.js';
import { prng } from '../helpers/opa-sample.js';

const N = Number(process.argv[2] ?? 100_000);
const rnd = prng(42);
const text = Array.from({ length: N }, (_, i) => corpusLine(i, rnd).line).join('\n') + '\n';
const buf = Buffer.from(text);

function cpuUs(fn: () => void): number {
  const c0 = process.cpuUsage();
  fn();
  const c = process.cpuUsage(c0);
  return c.user + c.system;
}

function pass(stage: 'classify' | 'all'): number {
  let head: StreamHead = { name: 'opa', nextSeq: 0, chainHead: CHAIN_START, edge: CompactRange.empty() };
  const batch = new LineBatch();
  let decisions = 0;
  const us = cpuUs(() => {
    let records: SealRecord[] = [];
    for (let p = 0, nl = buf.indexOf(10); nl >= 0; p = nl + 1, nl = buf.indexOf(10, p)) {
      const line = buf.subarray(p, nl);
      if (classifyLine(line).cls !== 'decision') continue;
      decisions++;
      if (stage === 'classify') continue;
      records.push({ kind: 'decision', source: '/var/log/opa/opa.log', offset: p, payload: line });
      if (records.length === 1000) {
        head = sealRecords(head, records, 1764400000000, batch).head;
        records = [];
      }
    }
    if (records.length) head = sealRecords(head, records, 1764400000000, batch).head;
  });
  return us / decisions;
}

for (let r = 0; r < 4; r++) {
  const c = pass('classify');
  const a = pass('all');
  console.log(`classify ${c.toFixed(2)} µs/decision, all ${a.toFixed(2)} µs/decision (seal ${(a - c).toFixed(2)})`);
}
