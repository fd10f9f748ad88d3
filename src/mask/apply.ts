// Applying an input's mask rules to a source batch, before it is sealed. A masked decision is
// replaced by its new bytes, a dropped one by a tombstone gap record (or nothing, with tombstones
// off), and one the rules fail on is quarantined under state_dir and replaced by a gap record:
// nothing the rules did not accept is sealed, nothing is lost without a trace.
import type { Logger } from 'pino';
import type { SourceBatch, SourceRecord } from '../sources/source.js';
import type { Masker } from './masker.js';
import type { Quarantine } from './quarantine.js';

export function applyMask(batch: SourceBatch, masker: Masker, quarantine: Quarantine, log: Logger): SourceBatch {
  const counters = { ...batch.counters };
  const count = (k: string) => (counters[k] = (counters[k] ?? 0) + 1);
  const records: SourceRecord[] = [];
  for (const r of batch.records) {
    if (r.kind !== 'decision') {
      records.push(r);
      continue;
    }
    const out = masker.apply(r.payload);
    if (out.kind === 'keep') {
      records.push(r);
      continue;
    }
    const meta = { ...r.meta, 'mask.version': masker.version };
    if (out.kind === 'masked') {
      count('decisions_masked');
      records.push({ ...r, payload: out.payload, meta });
    } else if (out.kind === 'dropped') {
      count('decisions_dropped');
      counters.decisions = (counters.decisions ?? 0) - 1;
      if (masker.tombstones) {
        count('gap_dropped');
        records.push({ ...r, kind: 'gap', payload: Buffer.from(JSON.stringify({ reason: 'dropped', rule: out.rule, decision_id: out.decisionId ?? null })), meta });
      }
    } else {
      // Kept aside before the commit that seals its gap record; if this throws, nothing commits.
      quarantine.put(batch.input, { decision_id: out.decisionId, error: out.message, source: r.source, offset: r.offset, payload: r.payload });
      count('decisions_quarantined');
      count('gap_mask_failed');
      counters.decisions = (counters.decisions ?? 0) - 1;
      log.error({ input: batch.input, decision_id: out.decisionId, err: out.message, quarantine: quarantine.file(batch.input) }, 'Mask rules failed on a decision; it is quarantined (not sealed, not sent) and a gap record marks its place.');
      records.push({ ...r, kind: 'gap', payload: Buffer.from(JSON.stringify({ reason: 'mask_failed', decision_id: out.decisionId ?? null, error: out.message })), meta });
    }
  }
  return { ...batch, records, counters };
}
