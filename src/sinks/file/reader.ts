// Reading the objects of a `file` sink directory for verification.
import { open, readdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { OPEN_READ_NONBLOCK, fileKind } from '../../common/read-file.js';
import { TailsealError, errorMessage } from '../../errors.js';
import { objectTooLarge } from '../../trail/gzip.js';
import type { ObjectReader, StampReader } from '../../trail/verify-trail.js';

const OBJECT_RE = /\.ndjson(\.gz)?$/;

function unsafe(path: string, what: string): TailsealError {
  const msg = `${path} is ${what}, not a stored object; someone planted it in the store: remove it (and find out who)`;
  return new TailsealError('STORE_UNSAFE', msg, { details: { path } });
}

/**
 * The bytes of an object file, read so that a planted file cannot hang or flood the reader: it
 * is opened non-blocking (a FIFO opens at once instead of waiting for a writer, forever), must
 * be a regular file by fstat of that same descriptor (no swap between check and read), and
 * one over `maxBytes` is refused before a byte is read. STORE_UNSAFE / ENTRY_MALFORMED.
 */
export async function readObjectFile(path: string, maxBytes: number): Promise<Buffer> {
  let fh;
  try {
    fh = await open(path, OPEN_READ_NONBLOCK);
  } catch (err) {
    // ENXIO: a UNIX socket (or a FIFO opened for writing) cannot be opened as a file.
    if ((err as NodeJS.ErrnoException).code === 'ENXIO') throw unsafe(path, 'a socket');
    throw err;
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw unsafe(path, fileKind(st));
    if (st.size > maxBytes) throw objectTooLarge(`object file holds ${st.size} bytes,`, maxBytes);
    const buf = Buffer.allocUnsafe(st.size);
    let got = 0;
    // A file that shrinks meanwhile is returned as it now is (and fails verification as such).
    while (got < st.size) {
      const { bytesRead } = await fh.read(buf, got, st.size - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return buf.subarray(0, got);
  } finally {
    await fh.close();
  }
}

/**
 * An ObjectReader over a directory tree; object names are paths relative to it with "/". It lists
 * the files whose name `match`es: trail objects by default, `.cosigned` ones for a witness store.
 */
export function fileStoreReader(dir: string, match: RegExp = OBJECT_RE): ObjectReader & StampReader {
  return {
    async list() {
      const out: string[] = [];
      const walk = async (d: string): Promise<void> => {
        let ents;
        try {
          ents = await readdir(d, { withFileTypes: true });
        } catch (err) {
          throw new TailsealError('USAGE', `cannot read store directory ${d}: ${errorMessage(err)}`, { cause: err });
        }
        for (const e of ents) {
          if (e.name.startsWith('.')) continue; // temporary files of an interrupted write
          const p = join(d, e.name);
          // A symlinked folder is not walked (isDirectory() is the link's own type): objects
          // are only ever read from inside the store's tree.
          if (e.isDirectory()) await walk(p);
          else if (match.test(e.name)) out.push(relative(dir, p).split(sep).join('/'));
        }
      };
      await walk(dir);
      return out.sort();
    },
    read: (name, maxBytes) => readObjectFile(join(dir, ...name.split('/')), maxBytes),
    // Size and modification time: rewriting a file in place changes its mtime even at the same size.
    async stamp(name) {
      const st = await stat(join(dir, ...name.split('/')), { bigint: true });
      return `${st.size}:${st.mtimeNs}`;
    },
  };
}
