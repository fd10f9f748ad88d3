// Reading stored objects on Node.js: the trail's bounded gunzip (src/trail/gzip.ts) done with
// node:zlib instead of DecompressionStream (in libuv's thread pool, or synchronously for the
// callers that parse an object in one go), with the trail's limits and errors.
import { constants as bufferConstants } from 'node:buffer';
import { promisify } from 'node:util';
import { gunzip, gunzipSync } from 'node:zlib';
import { type Gunzip, isGzip, notGzip, objectTooLarge } from '../trail/gzip.js';
import { DEFAULT_MAX_OBJECT_BYTES, type ParsedObject, parseObjectText } from '../trail/object.js';
import type { VerifyOptions } from '../trail/verify-trail.js';
import { nodeSha256, sha256Hex } from './hash.js';

/** zlib refuses a larger maxOutputLength (and no Buffer can be larger). */
const BUFFER_MAX = bufferConstants.MAX_LENGTH;

function gunzipError(err: unknown, maxBytes: number): Error {
  if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE')
    return objectTooLarge('object uncompresses to', maxBytes);
  return notGzip(err);
}

const gunzipInPool = promisify(gunzip);

/** The trail's Gunzip on node:zlib: bounded by zlib's maxOutputLength, run in the thread pool. */
export const gunzipNode: Gunzip = async (bytes, maxBytes) => {
  try {
    return await gunzipInPool(bytes, { maxOutputLength: Math.min(maxBytes, BUFFER_MAX) });
  } catch (err) {
    throw gunzipError(err, maxBytes);
  }
};

/** What the verifier runs faster with on Node.js (node:zlib, node:crypto): spread into VerifyOptions. */
export const NODE_VERIFY: Pick<VerifyOptions, 'gunzip' | 'digest' | 'sha256'> = {
  gunzip: gunzipNode,
  digest: sha256Hex,
  sha256: nodeSha256,
};

/**
 * The trail's objectText, synchronously on node:zlib (gzip detected by its magic bytes): gunzip
 * stops at `maxBytes` of output and a larger text is ENTRY_MALFORMED.
 */
export function objectText(bytes: Uint8Array, maxBytes = DEFAULT_MAX_OBJECT_BYTES): Buffer {
  if (!isGzip(bytes)) {
    if (bytes.length > maxBytes) throw objectTooLarge('object holds', maxBytes);
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  }
  try {
    return gunzipSync(bytes, { maxOutputLength: Math.min(maxBytes, BUFFER_MAX) });
  } catch (err) {
    throw gunzipError(err, maxBytes);
  }
}

/** The trail's parseObject, synchronously (objectText above, then parseObjectText). */
export function parseObject(bytes: Uint8Array, maxBytes = DEFAULT_MAX_OBJECT_BYTES): ParsedObject {
  return parseObjectText(objectText(bytes, maxBytes));
}
