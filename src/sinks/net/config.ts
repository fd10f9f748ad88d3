// The config schemas every HTTP-based sink (http, opa, s3) shares: TLS, timeouts, and for the
// sinks that POST (http, opa) the target URL check, extra headers, credentials and proxy. Kept
// apart from client.ts so that validating a config never loads undici: a daemon with only file
// sinks does not pay for the HTTP client's code in memory.
import { z } from 'zod';
import { duration } from '../../common/units.js';

export const tlsSchema = z
  .strictObject({
    ca_file: z
      .string()
      .min(1)
      .optional()
      .describe("PEM bundle of CAs to trust instead of the system's (a private CA). Default: the system CAs."),
    cert_file: z.string().min(1).optional().describe('Client certificate (PEM) for mutual TLS; with `key_file`.'),
    key_file: z.string().min(1).optional().describe('Its private key (PEM); both or neither.'),
    insecure_skip_verify: z
      .boolean()
      .default(false)
      .describe("Do not check the server's certificate. Dangerous; logged as a warning at every start."),
  })
  .prefault({})
  .refine((t) => (t.cert_file === undefined) === (t.key_file === undefined), {
    message: 'cert_file and key_file go together',
  });

export const timeoutSchema = z
  .strictObject({
    connect: duration(1).default(10_000).describe('TCP + TLS connect.'),
    // Bounded so that a hung remote never holds a batch forever.
    request: duration(1)
      .default(60_000)
      .describe(
        "Longest wait for the answer's headers, and between body bytes; the whole exchange is also cut off after " +
          '`connect` + `request`.',
      ),
  })
  .prefault({});

export type TlsConfig = z.infer<typeof tlsSchema>;
export type TimeoutConfig = z.infer<typeof timeoutSchema>;

/** RFC 9110 field-name (token). */
const HEADER_NAME_RE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Visible characters, space and tab: no CR, LF or NUL (no header injection). */
const HEADER_VALUE_RE = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * An http(s) URL. Credentials never go in the URL (they would end up in logs and proxies): use
 * `auth`. The value itself is never echoed in messages (a query string may hold a token).
 */
export const httpUrlSchema = (what: string, o: { query: boolean; userinfo?: boolean }) =>
  z.string().superRefine((v, ctx) => {
    let u: URL;
    try {
      u = new URL(v);
    } catch {
      ctx.addIssue({ code: 'custom', message: `${what} must be an absolute http:// or https:// URL` });
      return;
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:')
      ctx.addIssue({ code: 'custom', message: `${what} must use http:// or https://` });
    if (!o.userinfo && (u.username !== '' || u.password !== ''))
      ctx.addIssue({ code: 'custom', message: `${what} must not contain user:password@; put credentials in auth` });
    if (u.hash !== '' || v.includes('#'))
      ctx.addIssue({ code: 'custom', message: `${what} must not contain a #fragment` });
    if (!o.query && u.search !== '') ctx.addIssue({ code: 'custom', message: `${what} must not contain a ?query` });
  });

/** Extra request headers, e.g. `X-Tenant: ${TENANT}`. */
export const headersSchema = z
  .record(
    z.string().regex(HEADER_NAME_RE, 'header names are HTTP tokens (letters, digits, "-" ...)'),
    z.string().regex(HEADER_VALUE_RE, 'header values may not contain line breaks or control characters'),
  )
  .default({})
  .describe(
    'Extra request headers, `Name: value`; values may be `${ENV}` and are never logged. Headers the sink sets itself ' +
      '(`Content-Type`, `Content-Encoding`, `Idempotency-Key`, `X-Tailseal-*`, framing headers) are refused, and so ' +
      'is `Authorization` when `auth` is set.',
  );

/**
 * Credentials: `{ bearer_token }` (sent as `Authorization: Bearer ...`) or `{ username, password }`
 * (HTTP Basic). Write them as `${ENV}` references; they are never logged.
 */
export const authSchema = z
  .strictObject({
    bearer_token: z
      .string()
      .min(1)
      .regex(HEADER_VALUE_RE, 'may not contain line breaks or control characters')
      .optional()
      .describe('Sent as `Authorization: Bearer <token>`.'),
    username: z
      .string()
      .min(1)
      .regex(/^[^:\r\n\0]*$/, 'may not contain ":" or line breaks (RFC 7617)')
      .optional()
      .describe('HTTP Basic user, with `password` (`auth` takes either `bearer_token` or both of these).'),
    password: z
      .string()
      .regex(/^[^\r\n\0]*$/, 'may not contain line breaks')
      .optional()
      .describe('HTTP Basic password.'),
  })
  .superRefine((a, ctx) => {
    const basic = a.username !== undefined || a.password !== undefined;
    if (a.bearer_token !== undefined && basic)
      ctx.addIssue({ code: 'custom', message: 'set either bearer_token, or username and password, not both' });
    else if (a.bearer_token === undefined && !basic)
      ctx.addIssue({ code: 'custom', message: 'set bearer_token, or username and password' });
    else if (basic && (a.username === undefined || a.password === undefined))
      ctx.addIssue({ code: 'custom', message: 'username and password go together' });
  });

export type HttpAuthConfig = z.infer<typeof authSchema>;

/**
 * Header names the sink sets itself; configuring them is an error (and `Authorization` is an
 * error only when `auth` is set, since without it a custom scheme may go in `headers`).
 */
export function checkHeaders(reserved: readonly string[]) {
  return (c: { headers: Record<string, string>; auth?: HttpAuthConfig | undefined }, ctx: z.RefinementCtx): void => {
    for (const name of Object.keys(c.headers)) {
      const lower = name.toLowerCase();
      if (reserved.includes(lower) || (lower === 'authorization' && c.auth !== undefined)) {
        ctx.addIssue({
          code: 'custom',
          path: ['headers', name],
          message:
            lower === 'authorization'
              ? 'set either auth or an Authorization header, not both'
              : 'this header is set by the sink itself',
        });
      }
    }
  };
}

/** Headers every HTTP sink controls (framing and hop-by-hop). */
export const TRANSPORT_HEADERS = [
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'content-type',
  'content-encoding',
] as const;

/** The keys every HTTP-based sink (http, opa) shares: request headers, auth, TLS, timeouts, proxy. */
export const httpClientFields = {
  headers: headersSchema,
  auth: authSchema
    .optional()
    .describe('Credentials (write them as `${ENV}`; never logged, and a warning says so over plain `http://`).'),
  tls: tlsSchema,
  timeout: timeoutSchema,
  proxy: httpUrlSchema('proxy', { query: false, userinfo: true })
    .optional()
    .describe("HTTP(S) proxy URL (`http://proxy:3128`); may hold the proxy's `user:password@`."),
};
