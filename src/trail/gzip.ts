// Bounded gunzip for stored objects, on the web-standard DecompressionStream (a global in
// Node.js 18+, browsers, Deno and Bun), so the trail core needs no node:zlib. Every object is
// attacker-controlled: inflation stops at `maxBytes` of output (a 400 KB gzip of zeros would
// otherwise inflate to 400 MiB in memory). Callers with a faster gunzip inject it (the daemon
// and the CLI pass node:zlib's, src/seal/gzip.ts): same contract, same errors.
import { TailsealError } from './errors.js';

/**
 * Uncompresses a gzip `bytes` to at most `maxBytes`: over it, objectTooLarge (ENTRY_MALFORMED);
 * not valid gzip, ENTRY_MALFORMED "object is not valid gzip: ...".
 */
export type Gunzip = (bytes: Uint8Array, maxBytes: number) => Promise<Uint8Array>;

/** ENTRY_MALFORMED for an object over the read limit (a planted gzip bomb, or a huge file). */
export function objectTooLarge(what: string, maxBytes: number): TailsealError {
  const msg = `${what} more than ${maxBytes} bytes, the most an object is read to (a gzip bomb or a foreign file?)`;
  return new TailsealError('ENTRY_MALFORMED', msg, { details: { maxBytes } });
}

/** ENTRY_MALFORMED for bytes that are not one valid gzip stream. */
export function notGzip(err: unknown): TailsealError {
  const why = err instanceof Error ? err.message : String(err);
  return new TailsealError('ENTRY_MALFORMED', `object is not valid gzip: ${why}`, { cause: err });
}

/** Whether `bytes` start with the gzip magic bytes (how objects tell a compressed body). */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** The Gunzip of any platform with DecompressionStream; reads chunk by chunk and stops at `maxBytes`. */
export const gunzipWeb: Gunzip = async (bytes, maxBytes) => {
  const ds = new DecompressionStream('gzip');
  const writer = ds.writable.getWriter();
  // The write's own promise rejects with the stream's error too; the reader reports it.
  writer
    .write(bytes as Uint8Array<ArrayBuffer>)
    .then(
      () => writer.close(),
      () => undefined,
    )
    .catch(() => undefined);
  const reader = (ds.readable as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > maxBytes) {
        await reader.cancel().catch(() => undefined);
        throw objectTooLarge('object uncompresses to', maxBytes);
      }
      chunks.push(value);
    }
  } catch (err) {
    if (err instanceof TailsealError) throw err;
    throw notGzip(err);
  }
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
};
