// The one scrubber for text a sink quotes from a server's answer (src/sinks/net/errors.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { scrubSecrets, statusError } from '../../../../src/sinks/net/errors.js';

const TOKEN = 'IQoJb3JpZ2luX2VjEXAMPLE+session/token==';

describe('scrubSecrets', () => {
  const cases: [string, string, string][] = [
    ['header line', `x-amz-security-token: ${TOKEN}\nnext`, 'x-amz-security-token: [redacted]\nnext'],
    [
      'query string',
      `?X-Amz-Security-Token=${encodeURIComponent(TOKEN)}&X-Amz-Signature=abc123&x=1`,
      '?X-Amz-Security-Token=[redacted]&X-Amz-Signature=[redacted]&x=1',
    ],
    [
      'SigV4 Authorization',
      'Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261207/us-east-1/s3/aws4_request,' +
        ' SignedHeaders=host, Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024\nok',
      'Authorization: [redacted]\nok',
    ],
    [
      'JSON',
      `{"authorization":"Bearer abc.def","x-amz-security-token":"${TOKEN}"}`,
      '{"authorization":"[redacted]","x-amz-security-token":"[redacted]"}',
    ],
    [
      'XML elements',
      '<AWSAccessKeyId>AKIDEXAMPLE</AWSAccessKeyId><SignatureProvided>ab12</SignatureProvided>' +
        '<StringToSign>AWS4 x</StringToSign><Code>SignatureDoesNotMatch</Code>',
      '<AWSAccessKeyId>[redacted]</AWSAccessKeyId><SignatureProvided>[redacted]</SignatureProvided>' +
        '<StringToSign>[redacted]</StringToSign><Code>SignatureDoesNotMatch</Code>',
    ],
    [
      'credential scope',
      'scope Credential=AKIAIOSFODNN7EXAMPLE/20261207/us-east-1/s3/aws4_request done',
      'scope Credential=[redacted] done',
    ],
    ['a bare access key id', 'key ASIAIOSFODNN7EXAMPLE denied', 'key [redacted] denied'],
  ];
  for (const [what, text, want] of cases) it(what, () => assert.equal(scrubSecrets(text), want));

  it('known values, plain and URL-encoded, wherever they stand', () => {
    assert.equal(scrubSecrets(`a ${TOKEN} b ${encodeURIComponent(TOKEN)} c`, [TOKEN]), 'a [redacted] b [redacted] c');
  });

  // Every spelling a store may echo a known value in (issue 15 item 9), for values with `+/=`,
  // a space, and JSON's escaped characters (quote, backslash, tab, non-ASCII).
  const lowerHex = (s: string): string => s.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase());
  const json = (v: string): string => JSON.stringify(v).slice(1, -1);
  const uEscape = (v: string): string =>
    [...v].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('');
  const b64 = (v: string): string => Buffer.from(v, 'utf8').toString('base64');
  const spellings: [string, (v: string) => string][] = [
    ['plain', (v) => v],
    ['percent-encoded, uppercase hex', encodeURIComponent],
    ['percent-encoded, lowercase hex', (v) => lowerHex(encodeURIComponent(v))],
    ['form-encoded (+ for space)', (v) => new URLSearchParams({ v }).toString().slice(2)],
    ['form-encoded, lowercase hex', (v) => lowerHex(new URLSearchParams({ v }).toString().slice(2))],
    ['JSON.stringify escaping', json],
    ['JSON with \\/ for /', (v) => json(v).replace(/\//g, '\\/')],
    ['JSON \\uXXXX, lowercase hex', uEscape],
    ['JSON \\uXXXX, uppercase hex', (v) => uEscape(v).replace(/u[0-9a-f]{4}/g, (m) => `u${m.slice(1).toUpperCase()}`)],
    ['XML character references', (v) => [...v].map((c) => `&#x${c.codePointAt(0)!.toString(16)};`).join('')],
    ['XML-escaped', (v) => v.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;')],
    ['base64', b64],
    ['base64 without padding', (v) => b64(v).replace(/=+$/, '')],
    ['base64url', (v) => Buffer.from(v, 'utf8').toString('base64url')],
    ['base64 JSON-escaped with \\/', (v) => b64(v).replace(/\//g, '\\/')],
  ];
  const values = [TOKEN, 'pass phrase with/slash+plus=', 'we"ird\\va&lue\tü<x>'];
  for (const [what, spell] of spellings) {
    it(`known values ${what}`, () => {
      for (const v of values) {
        const text = `a ${spell(v)} b`;
        assert.equal(scrubSecrets(text, values), 'a [redacted] b', `${JSON.stringify(v)} spelled ${text}`);
      }
    });
  }

  it('values shorter than 8 characters are not looked for (they would redact common words)', () => {
    assert.equal(scrubSecrets('a short text, an access key', ['short', 'access']), 'a short text, an access key');
    assert.equal(scrubSecrets('eight ch and more', ['eight ch']), '[redacted] and more');
  });

  it('work stays linear on a long adversarial text', () => {
    const secret = `${'%'.repeat(64)}\\u002f${'a'.repeat(64)}`;
    const text = `${'%25'.repeat(30_000)}${'\\u0025'.repeat(30_000)}${'a'.repeat(100_000)}`;
    const t0 = process.hrtime.bigint();
    scrubSecrets(text, [secret, TOKEN]);
    assert.ok(Number(process.hrtime.bigint() - t0) / 1e6 < 5_000, 'scrubbing 400 KB took over 5 s');
  });

  it('statusError scrubs before it shortens the excerpt, so a cut cannot leave part of a secret', () => {
    const secret = 's'.repeat(400);
    const err = statusError('x', 'PUT', 403, {}, `${'y'.repeat(200)} ${secret}`, [secret]);
    assert.doesNotMatch(err.message, /sss/);
    assert.match(err.message, /\[redacted\]$/);
  });
});
