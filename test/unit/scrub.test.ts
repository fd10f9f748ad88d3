// The one scrubber for text a sink quotes from a server's answer (http-errors.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { scrubSecrets, statusError } from '../../src/sinks/http-errors.js';

const TOKEN = 'IQoJb3JpZ2luX2VjEXAMPLE+session/token==';

describe('scrubSecrets', () => {
  const cases: [string, string, string][] = [
    ['header line', `x-amz-security-token: ${TOKEN}\nnext`, 'x-amz-security-token: [redacted]\nnext'],
    ['query string', `?X-Amz-Security-Token=${encodeURIComponent(TOKEN)}&X-Amz-Signature=abc123&x=1`,
      '?X-Amz-Security-Token=[redacted]&X-Amz-Signature=[redacted]&x=1'],
    ['SigV4 Authorization', 'Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261207/us-east-1/s3/aws4_request,'
      + ' SignedHeaders=host, Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024\nok',
      'Authorization: [redacted]\nok'],
    ['JSON', `{"authorization":"Bearer abc.def","x-amz-security-token":"${TOKEN}"}`,
      '{"authorization":"[redacted]","x-amz-security-token":"[redacted]"}'],
    ['XML elements', '<AWSAccessKeyId>AKIDEXAMPLE</AWSAccessKeyId><SignatureProvided>ab12</SignatureProvided>'
      + '<StringToSign>AWS4 x</StringToSign><Code>SignatureDoesNotMatch</Code>',
      '<AWSAccessKeyId>[redacted]</AWSAccessKeyId><SignatureProvided>[redacted]</SignatureProvided>'
      + '<StringToSign>[redacted]</StringToSign><Code>SignatureDoesNotMatch</Code>'],
    ['credential scope', 'scope Credential=AKIAIOSFODNN7EXAMPLE/20261207/us-east-1/s3/aws4_request done',
      'scope Credential=[redacted] done'],
    ['a bare access key id', 'key ASIAIOSFODNN7EXAMPLE denied', 'key [redacted] denied'],
  ];
  for (const [what, text, want] of cases) it(what, () => assert.equal(scrubSecrets(text), want));

  it('known values, plain and URL-encoded, wherever they stand', () => {
    assert.equal(scrubSecrets(`a ${TOKEN} b ${encodeURIComponent(TOKEN)} c`, [TOKEN]), 'a [redacted] b [redacted] c');
  });

  it('statusError scrubs before it shortens the excerpt, so a cut cannot leave part of a secret', () => {
    const secret = 's'.repeat(400);
    const err = statusError('x', 'PUT', 403, {}, `${'y'.repeat(200)} ${secret}`, [secret]);
    assert.doesNotMatch(err.message, /sss/);
    assert.match(err.message, /\[redacted\]$/);
  });
});
