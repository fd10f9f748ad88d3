// Applying an input's mask rules to a record, before it is sealed. A masked decision is
// replaced by its new bytes, a dropped one by a tombstone gap record (or nothing, with tombstones
// off), and one the rules fail on is quarantined under state_dir and replaced by a gap record:
// nothing the rules did not accept is sealed, nothing is lost without a trace.
import type { Logger } from 'pino';
import type { RecordKind } from '../trail/envelope.js';
import type { Masker } from './masker.js';
import type { Quarantine } from './quarantine.js';

/** What masking reads of a record and replaces (structurally sources/source.ts SourceRecord). */
export interface MaskableRecord {
  kind: RecordKind;
  source: string;
  offset: number;
  payload: Uint8Array;
  meta?: Readonly<Record<string, string>> | undefined;
}

/**
 * What `r` (of input `input`) becomes under the rules: itself, its masked form, a gap record, or
 * nothing. Adds to `counters` (decisions_masked, decisions_dropped ...; `decisions` goes down by
 * one for a decision that is not sealed as one). The daemon calls it once per decision that is
 * not a duplicate, so a retried upload is neither masked, quarantined nor counted twice.
 */
export function maskRecord<R extends MaskableRecord>(
  input: string,
  r: R,
  rules: { masker: Masker; quarantine: Quarantine; log: Logger },
  counters: Record<string, number>,
): R | undefined {
  if (r.kind !== 'decision') return r;
  const { masker, quarantine, log } = rules;
  const count = (k: string, n = 1) => (counters[k] = (counters[k] ?? 0) + n);
  const out = masker.apply(r.payload);
  if (out.kind === 'keep') return r;
  const meta = { ...r.meta, 'mask.version': masker.version };
  if (out.kind === 'masked') {
    count('decisions_masked');
    return { ...r, payload: out.payload, meta };
  }
  count('decisions', -1);
  if (out.kind === 'dropped') {
    count('decisions_dropped');
    if (!masker.tombstones) return undefined;
    count('gap_dropped');
    const gap = { reason: 'dropped', rule: out.rule, decision_id: out.decisionId ?? null };
    return { ...r, kind: 'gap', payload: Buffer.from(JSON.stringify(gap)), meta };
  }
  // Kept aside before the commit that seals its gap record; if this throws, nothing commits.
  const { source, offset, payload } = r;
  quarantine.put(input, { decision_id: out.decisionId, error: out.message, source, offset, payload });
  count('decisions_quarantined');
  count('gap_mask_failed');
  const msg =
    'Mask rules failed on a decision; it is quarantined (not sealed, not sent) and a gap record marks its place.';
  log.error({ input, decision_id: out.decisionId, err: out.message, quarantine: quarantine.file(input) }, msg);
  const gap = { reason: 'mask_failed', decision_id: out.decisionId ?? null, error: out.message };
  return { ...r, kind: 'gap', payload: Buffer.from(JSON.stringify(gap)), meta };
}
