// Reading the objects of a `file` sink directory for verification.
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { TailsealError, errorMessage } from '../errors.js';
import type { ObjectReader } from './verify-trail.js';

const OBJECT_RE = /\.ndjson(\.gz)?$/;

/** An ObjectReader over a directory tree; object names are paths relative to it with "/". */
export function fileStoreReader(dir: string): ObjectReader {
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
          if (e.isDirectory()) await walk(p);
          else if (OBJECT_RE.test(e.name)) out.push(relative(dir, p).split(sep).join('/'));
        }
      };
      await walk(dir);
      return out.sort();
    },
    read: (name) => readFile(join(dir, ...name.split('/'))),
  };
}
