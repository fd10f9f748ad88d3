// Which lines of an OPA log are decisions. OPA's console decision logger writes each decision as
// one JSON object with "msg":"Decision Log" and "type":"openpolicyagent.org/decision_logs",
// mixed with OPA's other JSON log lines on the same stream (v1/plugins/logs/plugin.go, logEvent).
import { scanJsonObject } from './json-scan.js';

export type LineClass = 'decision' | 'other' | 'malformed';

export const DECISION_LOG_TYPE = 'openpolicyagent.org/decision_logs';
export const DECISION_LOG_MSG = 'Decision Log';

const utf8 = new TextDecoder('utf-8', { fatal: true });
const TYPE_MARK = Buffer.from(DECISION_LOG_TYPE);
const MSG_MARK = Buffer.from(DECISION_LOG_MSG);

/** Why a line was not kept, for counters and logs. */
export type SkipReason = 'not_decision' | 'blank' | 'invalid_utf8' | 'not_json' | 'not_object';

export interface Classified {
  cls: LineClass;
  reason?: SkipReason;
}

const DECISION: Classified = Object.freeze({ cls: 'decision' });
const NOT_DECISION: Classified = Object.freeze({ cls: 'other', reason: 'not_decision' });

/** Classifies one line (without its "\n"). Never throws. */
export function classifyLine(line: Uint8Array): Classified {
  // Fast path: an ASCII line scanned as JSON in place (json-scan.ts); whatever it is not sure
  // of is decided by decoding and parsing below, which also names a defect.
  const scan = scanJsonObject(line, TYPE_MARK, MSG_MARK);
  if (scan === 'decision') return DECISION;
  if (scan === 'other') return NOT_DECISION;
  return classifyParsed(line);
}

/** The classifier by TextDecoder and JSON.parse: exact for every input, and the reference for the fast path. */
export function classifyParsed(line: Uint8Array): Classified {
  const buf = Buffer.from(line.buffer, line.byteOffset, line.length);
  // Cheap pre-check: a line with neither marker cannot be a decision, but it must still be JSON
  // to count as OPA's own output rather than garbage.
  const maybeDecision = buf.includes(TYPE_MARK) || buf.includes(MSG_MARK);
  let text: string;
  try {
    text = utf8.decode(buf);
  } catch {
    return { cls: 'malformed', reason: 'invalid_utf8' };
  }
  if (text.trim() === '') return { cls: 'other', reason: 'blank' };
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch {
    return { cls: 'malformed', reason: 'not_json' };
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return { cls: 'malformed', reason: 'not_object' };
  if (!maybeDecision) return NOT_DECISION;
  const o = obj as Record<string, unknown>;
  if (o.type === DECISION_LOG_TYPE || o.msg === DECISION_LOG_MSG) return DECISION;
  return NOT_DECISION;
}
