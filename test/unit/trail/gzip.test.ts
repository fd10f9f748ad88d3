// The trail's web-standard gunzip (DecompressionStream) and the Node side's node:zlib one
// (seal/gzip.ts) keep one contract: the same bytes, a bomb refused at maxBytes with
// ENTRY_MALFORMED (details.maxBytes), and anything not gzip ENTRY_MALFORMED. Also the trail's
// strict base64 codec against Buffer's.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { gunzipNode, objectText as objectTextSync } from '../../../src/seal/gzip.js';
import { type Gunzip, gunzipWeb } from '../../../src/trail/gzip.js';
import { fromBase64Strict, toBase64 } from '../../../src/trail/hash.js';
import { objectText } from '../../../src/trail/object.js';

const text = Buffer.from('{"v":1}\n'.repeat(5000));
const gz = gzipSync(text);
const bomb = gzipSync(Buffer.alloc(4 * 1024 * 1024));

const malformed = (maxBytes?: number) => (err: unknown) => {
  assert.equal((err as { code?: string }).code, 'ENTRY_MALFORMED');
  if (maxBytes !== undefined) assert.equal((err as { details: { maxBytes: number } }).details.maxBytes, maxBytes);
  return true;
};

for (const [name, gunzip] of [
  ['web (DecompressionStream)', gunzipWeb],
  ['node:zlib', gunzipNode],
] as [string, Gunzip][]) {
  describe(`gunzip: ${name}`, () => {
    it('inflates an object to its text', async () => {
      assert.deepEqual(Buffer.from(await gunzip(gz, text.length)), text);
      assert.deepEqual(Buffer.from(await objectText(gz, text.length, gunzip)), text);
    });
    it('stops a gzip bomb at maxBytes: ENTRY_MALFORMED naming the limit', async () => {
      await assert.rejects(gunzip(bomb, 1024 * 1024), malformed(1024 * 1024));
      await assert.rejects(gunzip(gz, text.length - 1), malformed(text.length - 1));
    });
    it('refuses what is not gzip, or cut off: ENTRY_MALFORMED', async () => {
      await assert.rejects(gunzip(Uint8Array.of(0x1f, 0x8b, 1, 2, 3, 4, 5, 6, 7, 8, 9), 1000), malformed());
      await assert.rejects(gunzip(gz.subarray(0, gz.length - 10), text.length), malformed());
    });
  });
}

describe('objectText', () => {
  it('passes plain text through and refuses one over maxBytes', async () => {
    assert.deepEqual(Buffer.from(await objectText(text)), text);
    await assert.rejects(objectText(text, text.length - 1), malformed(text.length - 1));
    assert.throws(() => objectTextSync(text, text.length - 1), malformed(text.length - 1));
  });
});

describe('strict base64 (trail/hash.ts) agrees with Buffer', () => {
  it('encodes and decodes every length 0..64 of arbitrary bytes', () => {
    for (let n = 0; n <= 64; n++) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 151 + n) & 0xff);
      const b64 = Buffer.from(bytes).toString('base64');
      assert.equal(toBase64(bytes), b64);
      assert.deepEqual(fromBase64Strict(b64, 'x'), bytes);
    }
  });
  it('refuses every other spelling', () => {
    for (const s of ['AQ', 'AQ=', 'AQI', 'AR==', 'AQJ=', 'AQ==\n', ' AQ==', 'A-_=', 'AQ==AQ==', '====', 'A===']) {
      assert.throws(() => fromBase64Strict(s, 'x', 'KEY_INVALID'), { code: 'KEY_INVALID' }, JSON.stringify(s));
    }
  });
});
