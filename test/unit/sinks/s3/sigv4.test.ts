// SigV4 against the examples AWS publishes for S3 header-based auth
// (https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html: key
// AKIAIOSFODNN7EXAMPLE, 2013-05-24, bucket examplebucket, us-east-1).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { EMPTY_PAYLOAD_HASH, amzDate, signRequest, uriEncode } from '../../../../src/sinks/s3/sigv4.js';

const credentials = {
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
};
const base = {
  host: 'examplebucket.s3.amazonaws.com',
  region: 'us-east-1',
  credentials,
  now: new Date('2013-05-24T00:00:00Z'),
};

describe('SigV4 (AWS S3 examples)', () => {
  const cases: {
    desc: string;
    method: string;
    path: string;
    query?: Record<string, string>;
    headers?: Record<string, string>;
    payloadHash: string;
    signed: string;
    sig: string;
  }[] = [
    {
      desc: 'GET Object with Range',
      method: 'GET',
      path: '/test.txt',
      headers: { range: 'bytes=0-9' },
      payloadHash: EMPTY_PAYLOAD_HASH,
      signed: 'host;range;x-amz-content-sha256;x-amz-date',
      sig: 'f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
    },
    {
      desc: 'PUT Object (a "$" in the key, encoded once)',
      method: 'PUT',
      path: '/test$file.text',
      headers: { date: 'Fri, 24 May 2013 00:00:00 GMT', 'x-amz-storage-class': 'REDUCED_REDUNDANCY' },
      payloadHash: createHash('sha256').update('Welcome to Amazon S3.').digest('hex'),
      signed: 'date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class',
      sig: '98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd',
    },
    {
      desc: 'GET Bucket Lifecycle (query key without value)',
      method: 'GET',
      path: '/',
      query: { lifecycle: '' },
      payloadHash: EMPTY_PAYLOAD_HASH,
      signed: 'host;x-amz-content-sha256;x-amz-date',
      sig: 'fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543',
    },
    {
      desc: 'GET Bucket (list objects, sorted query)',
      method: 'GET',
      path: '/',
      query: { prefix: 'J', 'max-keys': '2' },
      payloadHash: EMPTY_PAYLOAD_HASH,
      signed: 'host;x-amz-content-sha256;x-amz-date',
      sig: '34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7',
    },
  ];
  for (const c of cases) {
    it(c.desc, () => {
      const r = signRequest({
        ...base,
        method: c.method,
        path: c.path,
        query: c.query ?? {},
        headers: c.headers ?? {},
        payloadHash: c.payloadHash,
      });
      assert.equal(r.signature, c.sig);
      assert.equal(
        r.headers.authorization,
        `AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, ` +
          `SignedHeaders=${c.signed}, Signature=${c.sig}`,
      );
    });
  }

  it('signs the session token of temporary credentials', () => {
    const r = signRequest({
      ...base,
      credentials: { ...credentials, sessionToken: 'TOKEN' },
      method: 'GET',
      path: '/x',
      payloadHash: EMPTY_PAYLOAD_HASH,
    });
    assert.equal(r.headers['x-amz-security-token'], 'TOKEN');
    assert.match(r.headers.authorization!, /SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,/);
  });

  it('a wrong secret gives a different signature', () => {
    const a = signRequest({ ...base, method: 'GET', path: '/x', payloadHash: EMPTY_PAYLOAD_HASH });
    const b = signRequest({
      ...base,
      credentials: { ...credentials, secretAccessKey: 'x' },
      method: 'GET',
      path: '/x',
      payloadHash: EMPTY_PAYLOAD_HASH,
    });
    assert.notEqual(a.signature, b.signature);
  });

  it('encoding', () => {
    assert.equal(uriEncode('a b/c~d$é', true), 'a%20b/c~d%24%C3%A9');
    assert.equal(uriEncode('a/b', false), 'a%2Fb');
    assert.equal(amzDate(new Date('2026-11-29T18:04:05.123Z')), '20261129T180405Z');
  });
});
