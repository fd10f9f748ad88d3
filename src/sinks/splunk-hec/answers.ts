// HEC's answers: a JSON body {"text": ..., "code": N[, "invalid-event-number": i][, "ackId": n]}
// whose code says why a request was refused, more precisely than the HTTP status.
// https://docs.splunk.com/Documentation/Splunk/latest/Data/TroubleshootHTTPEventCollector
// The code decides the class: a wrong token or refused data stays wrong on retry (SINK_PERMANENT,
// parked with the fix in the message); a busy or unhealthy HEC is retried (SINK_RETRYABLE, with
// the server's Retry-After). An answer that is not HEC's (a proxy's page) is judged by its status.
import { TailsealError } from '../../errors.js';
import { parseRetryAfter, scrubSecrets } from '../net/errors.js';
import { classifyStatus } from '../retry.js';

export interface HecAnswer {
  text?: string;
  code?: number;
  invalidEvent?: number;
}

type Kind = 'permanent' | 'retryable';

const TOKEN_FIX =
  'check `token` against the HEC token in Splunk (Settings > Data inputs > HTTP Event Collector: enabled, ' +
  'value copied exactly), then run `tailseal requeue`';
const ACK_FIX =
  'this token has indexer acknowledgement on, which tailseal does not use: turn "Enable indexer acknowledgement" ' +
  'off for the token (or give tailseal a token without it), then run `tailseal requeue`';
const DATA_FIX = 'HEC refused the events; report it with the message above, then run `tailseal requeue`';

/** HEC status codes: class and what to do. */
const CODES: Record<number, [Kind, string]> = {
  1: ['permanent', `the token is disabled: ${TOKEN_FIX}`],
  2: ['permanent', `no token reached HEC (a proxy dropping Authorization?): ${TOKEN_FIX}`],
  3: ['permanent', `invalid authorization: ${TOKEN_FIX}`],
  4: ['permanent', `invalid token: ${TOKEN_FIX}`],
  5: ['permanent', DATA_FIX],
  6: ['permanent', DATA_FIX],
  7: ['permanent', "the index is not one this token may write to: fix `index` (or the token's allowed indexes)"],
  8: ['retryable', 'HEC internal error; retried'],
  9: ['retryable', 'HEC is busy; retried'],
  10: ['permanent', ACK_FIX],
  11: ['permanent', ACK_FIX],
  12: ['permanent', DATA_FIX],
  13: ['permanent', DATA_FIX],
  14: ['permanent', ACK_FIX],
  15: ['permanent', DATA_FIX],
  16: ['permanent', 'HEC refused the way the token was sent; check `url` points at HEC'],
  18: ['retryable', 'HEC queues are full; retried'],
  19: ['retryable', 'HEC acknowledgement service unavailable; retried'],
  20: ['retryable', 'HEC queues are full; retried'],
};

/** HEC's answer fields, read defensively (any other shape: {}). */
export function parseAnswer(text: string): HecAnswer {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return {};
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return {};
  const o = v as Record<string, unknown>;
  const out: HecAnswer = {};
  if (typeof o.text === 'string') out.text = o.text.slice(0, 300);
  if (Number.isSafeInteger(o.code)) out.code = o.code as number;
  if (Number.isSafeInteger(o['invalid-event-number'])) out.invalidEvent = o['invalid-event-number'] as number;
  return out;
}

/**
 * The error for a refused request. `what` names the request; `seqOf(i)` is the entry seq of the
 * batch's i-th event (HEC's invalid-event-number), undefined when out of range. The answer text is
 * scrubbed of `secrets` (and of anything credential-shaped) before it is quoted.
 */
export function refusal(
  sink: string,
  what: string,
  status: number,
  headers: Record<string, string | string[] | undefined>,
  text: string,
  secrets: readonly string[],
  seqOf: (i: number) => number | undefined,
): TailsealError {
  const a = parseAnswer(text);
  const known = a.code === undefined ? undefined : CODES[a.code];
  let kind: Kind;
  let fix: string;
  if (known) [kind, fix] = known;
  else if (status === 413) {
    kind = 'permanent';
    fix = "the request is over HEC's max_content_length: lower max_batch_bytes, then run `tailseal requeue`";
  } else {
    kind = classifyStatus(status) === 'retryable' ? 'retryable' : 'permanent';
    fix = kind === 'retryable' ? 'retried' : 'check `url` points at HEC, then run `tailseal requeue`';
  }
  const quoted =
    a.code !== undefined
      ? `HEC code ${a.code}${a.text ? ` "${scrubSecrets(a.text, secrets)}"` : ''}`
      : scrubSecrets(text, secrets).replace(/\s+/g, ' ').trim().slice(0, 300);
  const seq = a.invalidEvent === undefined ? undefined : seqOf(a.invalidEvent);
  const at = seq === undefined ? '' : ` (at entry seq ${seq})`;
  const retryAfterMs = parseRetryAfter(headers['retry-after']);
  return new TailsealError(
    kind === 'retryable' ? 'SINK_RETRYABLE' : 'SINK_PERMANENT',
    `sink ${sink}: ${what} answered HTTP ${status}${quoted ? `: ${quoted}` : ''}${at}; ${fix}`,
    {
      details: {
        status,
        ...(a.code === undefined ? {} : { hecCode: a.code }),
        ...(seq === undefined ? {} : { seq }),
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      },
    },
  );
}
