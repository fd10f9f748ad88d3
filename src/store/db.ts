// Opening the state database: WAL mode, FULL sync, and `PRAGMA user_version` migrations.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { TailsealError, errorMessage } from '../errors.js';
import { MIGRATIONS, SQL_PRAGMAS } from './sql.js';

export type Db = Database.Database;

/** The schema version this build writes. A newer database is refused, never downgraded. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** Opens (creating if needed) the state database at `file` and brings its schema up to date. */
export function openDatabase(file: string, opts: { readonly?: boolean } = {}): Db {
  let db: Db;
  try {
    if (!opts.readonly) mkdirSync(dirname(file), { recursive: true });
    db = new Database(file, { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false });
  } catch (err) {
    throw new TailsealError('STATE_UNAVAILABLE', `cannot open state database ${file}: ${errorMessage(err)}`, { cause: err });
  }
  try {
    if (!opts.readonly) for (const p of SQL_PRAGMAS) db.pragma(p.replace(/^PRAGMA /, ''));
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      throw new TailsealError('STATE_VERSION', `state database ${file} has schema version ${version}, newer than this tailseal (${SCHEMA_VERSION}); run a newer tailseal or point state_dir elsewhere`);
    }
    if (opts.readonly) {
      if (version !== SCHEMA_VERSION) throw new TailsealError('STATE_VERSION', `state database ${file} has schema version ${version}, expected ${SCHEMA_VERSION}`);
      return db;
    }
    for (let v = version; v < SCHEMA_VERSION; v++) {
      // Each migration and its version bump commit together: a crash leaves the old version intact.
      db.transaction(() => {
        db.exec(MIGRATIONS[v]!);
        db.pragma(`user_version = ${v + 1}`);
      })();
    }
    return db;
  } catch (err) {
    db.close();
    if (err instanceof TailsealError) throw err;
    throw new TailsealError('STATE_CORRUPT', `state database ${file} is unreadable: ${errorMessage(err)}; move it aside to start over (the trail already shipped stays verifiable)`, { cause: err });
  }
}
