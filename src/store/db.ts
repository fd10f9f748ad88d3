// Opening the state database: WAL mode, FULL sync, and `PRAGMA user_version` migrations.
import Database from 'better-sqlite3';
import { existsSync, renameSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { TailsealError, errorMessage } from '../errors.js';
import { mkdirPrivate, tightenMode, touchPrivate } from './private.js';
import { MIGRATIONS, SQL_COUNT_SEALED_STREAMS, SQL_PRAGMAS, SQL_QUICK_CHECK } from './sql.js';

export type Db = Database.Database;

/** A statement prepared once per database handle, by its SQL text (the repositories of one StateStore share it). */
export type Prepared = (sql: string) => Database.Statement<unknown[], unknown>;

/** The statement cache of one handle: every repository over `db` prepares through it. */
export function statementCache(db: Db): Prepared {
  const stmt: Record<string, Database.Statement<unknown[], unknown>> = {};
  return (sql) => (stmt[sql] ??= db.prepare(sql));
}

/** The schema version this build writes. A newer database is refused, never downgraded. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** The state database's file inside state_dir. */
export function stateDbPath(config: { state_dir: string }): string {
  return join(config.state_dir, 'tailseal.db');
}

/**
 * Opens (creating if needed) the state database at `file` and brings its schema up to date with
 * `migrations` (the daemon's by default; the monitor's database has its own list).
 */
export function openDatabase(file: string, opts: { readonly?: boolean; migrations?: readonly string[] } = {}): Db {
  const migrations = opts.migrations ?? MIGRATIONS;
  const schemaVersion = migrations.length;
  let db: Db;
  try {
    if (!opts.readonly) {
      // 0600 before SQLite creates it: SQLite gives the -wal and -shm files the database's mode.
      mkdirPrivate(dirname(file));
      touchPrivate(file);
      for (const f of [file, `${file}-wal`, `${file}-shm`]) tightenMode(f);
    }
    db = new Database(file, { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false });
  } catch (err) {
    throw new TailsealError('STATE_UNAVAILABLE', `cannot open state database ${file}: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  try {
    if (!opts.readonly) for (const p of SQL_PRAGMAS) db.pragma(p.replace(/^PRAGMA /, ''));
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > schemaVersion) {
      throw new TailsealError(
        'STATE_VERSION',
        `state database ${file} has schema version ${version}, newer than this tailseal (${schemaVersion}); run a ` +
          `newer tailseal or point state_dir elsewhere`,
      );
    }
    if (opts.readonly) {
      if (version !== schemaVersion)
        throw new TailsealError(
          'STATE_VERSION',
          `state database ${file} has schema version ${version}, expected ${schemaVersion}`,
        );
      return db;
    }
    for (let v = version; v < schemaVersion; v++) {
      // Each migration and its version bump commit together: a crash leaves the old version intact.
      db.transaction(() => {
        db.exec(migrations[v]!);
        db.pragma(`user_version = ${v + 1}`);
      })();
    }
    return db;
  } catch (err) {
    db.close();
    if (err instanceof TailsealError) throw err;
    throw new TailsealError(
      'STATE_CORRUPT',
      `state database ${file} is unreadable: ${errorMessage(err)}; move it aside to start over (the trail already ` +
        `shipped stays verifiable)`,
      { cause: err },
    );
  }
}

/** Why there is no usable state (docs/operations.md "Lost state"). */
export interface StateLoss {
  cause: 'missing' | 'empty' | 'corrupt';
  detail: string;
}

/**
 * Looks at the state database before the daemon uses it: null when it holds sealed streams,
 * else why not. A database that exists but never sealed anything counts as empty, so a first
 * start that was killed before its first commit is not mistaken for a working state.
 * STATE_VERSION and STATE_UNAVAILABLE (permissions) are thrown: they are not a loss.
 */
export function probeState(file: string): StateLoss | null {
  if (!existsSync(file)) return { cause: 'missing', detail: `${file} does not exist` };
  if (statSync(file).size === 0) return { cause: 'empty', detail: `${file} is empty (0 bytes)` };
  let db: Db;
  try {
    db = openDatabase(file);
  } catch (err) {
    if (err instanceof TailsealError && err.code === 'STATE_CORRUPT')
      return { cause: 'corrupt', detail: errorMessage(err) };
    throw err;
  }
  try {
    const check = db.prepare(SQL_QUICK_CHECK).pluck().all() as string[];
    if (check.length !== 1 || check[0] !== 'ok')
      return { cause: 'corrupt', detail: `${file} fails SQLite's quick_check: ${check.slice(0, 3).join('; ')}` };
    const sealed = db.prepare(SQL_COUNT_SEALED_STREAMS).pluck().get() as number;
    return sealed === 0 ? { cause: 'empty', detail: `${file} holds no sealed stream` } : null;
  } catch (err) {
    return { cause: 'corrupt', detail: `${file} is unreadable: ${errorMessage(err)}` };
  } finally {
    db.close();
  }
}

/**
 * Moves a corrupt state database, its WAL files and its outbox segments aside (kept for a
 * post-mortem, never deleted) so a new one can be made. Returns the suffix used.
 */
export function moveStateAside(file: string, now = Date.now()): string {
  const suffix = `.corrupt-${new Date(now).toISOString().replace(/[:.]/g, '-')}`;
  for (const f of [file, `${file}-wal`, `${file}-shm`, `${file}-outbox`]) {
    if (existsSync(f)) renameSync(f, `${f}${suffix}`);
  }
  return suffix;
}
