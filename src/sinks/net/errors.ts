// Turning an HTTP answer into a coded sink error, shared by every HTTP-based sink, so that the
// one retry classifier (../retry.ts) sees the same codes and throttle hints everywhere.
import { TailsealError } from '../../errors.js';
import { classifyStatus } from '../retry.js';
import { secretSpans } from './secret-spellings.js';

/** The longest server-requested wait we honour; a larger Retry-After is clamped to this. */
export const MAX_RETRY_AFTER_MS = 10 * 60_000;

/**
 * Parses a Retry-After header: delta-seconds or an HTTP-date (RFC 9110 §10.2.3).
 * Returns milliseconds to wait, or undefined when absent or unparsable.
 */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v.trim() === '') return undefined;
  if (/^\s*\d+\s*$/.test(v)) return Math.min(Number(v) * 1000, MAX_RETRY_AFTER_MS);
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.min(Math.max(0, at - now), MAX_RETRY_AFTER_MS);
}

const REDACTED = '[redacted]';
/** Header and query fields whose value is a credential. */
const SECRET_FIELDS = ['x-amz-security-token', 'x-amz-credential', 'x-amz-signature', 'signature', 'credential'];
/** XML elements whose name holds one of these carry a secret (or text that quotes one). */
const XML_SECRET_WORDS = [
  'token',
  'signature',
  'credential',
  'accesskey',
  'secret',
  'authorization',
  'stringtosign',
  'canonicalrequest',
];

// What a server may echo back from a request (a proxy's or S3's error page quoting headers,
// S3's SignatureDoesNotMatch quoting the canonical request): the credential-bearing fields, as
// header lines, query parameters or XML elements. The value runs to a separator of its syntax.
const SECRET_PATTERNS: readonly [RegExp, string][] = [
  // Authorization: AWS4-HMAC-SHA256 Credential=..., Bearer ..., Basic ... (the whole value).
  [/(authorization["']?\s*[:=]\s*["']?)[^\r\n<"']+/gi, `$1${REDACTED}`],
  // x-amz-security-token / X-Amz-Credential / X-Amz-Signature / Signature= / Credential=.
  [new RegExp(`((?:${SECRET_FIELDS.join('|')})["']?\\s*[:=]\\s*["']?)[^\\s&"'<>,;]+`, 'gi'), `$1${REDACTED}`],
  // <AWSAccessKeyId>, <SignatureProvided>, <StringToSign>, <CanonicalRequest>, <...Token>...
  [new RegExp(`<([\\w-]*(?:${XML_SECRET_WORDS.join('|')})[\\w-]*)>[^<]*</\\1>`, 'gi'), `<$1>${REDACTED}</$1>`],
  // AWS access key ids wherever they stand (AKIA... long-term, ASIA... temporary).
  [/\b(?:AKIA|ASIA|ABIA|ACCA|AIDA|AROA)[A-Z0-9]{12,}\b/g, REDACTED],
];

/**
 * `text` without secrets: every value in `secrets` (the sink's own credentials and header
 * values, of at least MIN_SECRET_CHARS) in any spelling secretSpans knows (percent-, JSON- or
 * XML-escaped, base64), and whatever the patterns above recognise. The one scrubber for any
 * text a sink quotes from a server's answer (logs, `tailseal status`, parked reasons).
 */
export function scrubSecrets(text: string, secrets: readonly string[] = []): string {
  const parts: string[] = [];
  let at = 0;
  for (const [from, to] of secretSpans(text, secrets)) {
    parts.push(text.slice(at, from), REDACTED);
    at = to;
  }
  let out = parts.join('') + text.slice(at);
  for (const [re, to] of SECRET_PATTERNS) out = out.replace(re, to);
  return out;
}

/**
 * A coded error for a non-2xx answer; `detail` is a short excerpt of the body for the log,
 * scrubbed (scrubSecrets, with the sink's `secrets`) before it is shortened, so that no cut
 * leaves part of a secret unrecognised.
 */
export function statusError(
  sink: string,
  what: string,
  status: number,
  headers: Record<string, string | string[] | undefined>,
  detail = '',
  secrets: readonly string[] = [],
): TailsealError {
  const cls = classifyStatus(status);
  const code = cls === 'conflict' ? 'SINK_CONFLICT' : cls === 'permanent' ? 'SINK_PERMANENT' : 'SINK_RETRYABLE';
  const retryAfterMs = parseRetryAfter(headers['retry-after']);
  const excerpt = scrubSecrets(detail, secrets).replace(/\s+/g, ' ').trim().slice(0, 300);
  return new TailsealError(code, `sink ${sink}: ${what} answered HTTP ${status}${excerpt ? `: ${excerpt}` : ''}`, {
    details: { status, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) },
  });
}
