// Every SQL statement of the monitor's state database (`monitor.db`, apart from the daemon's
// `tailseal.db`), as named constants, and its schema migrations (`PRAGMA user_version`).

/** Schema migrations of monitor.db, in order. Never edit a shipped entry: append a new one. */
export const MONITOR_MIGRATIONS: readonly string[] = [
  // v0 -> v1: the first schema.
  `
  CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
  );
  -- Per store and origin: where its verified trail ends (what verifyTrail's incremental mode
  -- continues from; NULL size: nothing verified yet) and its status with the finding behind it.
  CREATE TABLE origins (
    store         TEXT NOT NULL,
    origin        TEXT NOT NULL,
    size          INTEGER,         -- verified tree size
    chain_head    BLOB,            -- chain value of the last verified entry, 32 bytes
    tree_edge     BLOB,            -- CompactRange.serialize() at size
    root          TEXT,            -- hex tree root at size
    newest_time   INTEGER,         -- Unix ms of the newest verified checkpoint
    newest_note   TEXT,            -- that checkpoint's signed note (what a witness would cosign)
    signed_by     TEXT,            -- JSON array of the key names that signed the verified objects
    status        TEXT NOT NULL,   -- ok, broken, silent, fork, untrusted_key
    finding       TEXT NOT NULL,   -- JSON: code, message, object, seq ... of the status
    last_pass_at  INTEGER NOT NULL,
    PRIMARY KEY (store, origin)
  );
  -- Objects verified (an incremental pass does not read them again), with the SHA-256 of their
  -- text that recognises a byte-identical copy (NULL for a copy).
  CREATE TABLE objects (
    store   TEXT NOT NULL,
    name    TEXT NOT NULL,
    origin  TEXT NOT NULL,
    digest  TEXT,
    PRIMARY KEY (store, name)
  );
  CREATE INDEX objects_by_origin ON objects (store, origin);
  -- The root of every verified checkpoint by origin and size, in any store: a validly signed
  -- checkpoint of the same origin and size with another root is a fork. Never deleted.
  CREATE TABLE checkpoints (
    origin  TEXT NOT NULL,
    size    INTEGER NOT NULL,
    root    TEXT NOT NULL,
    store   TEXT NOT NULL,
    object  TEXT NOT NULL,
    PRIMARY KEY (origin, size)
  );
  `,
  // v1 -> v2: the monitor as a witness (config `witness:`). Per witness key and origin, the checkpoint it
  // last cosigned, in any store: written before the cosigned note is published (published = 0), so a
  // crash never lets it cosign a checkpoint inconsistent with one already out; published = 1 after.
  `
  CREATE TABLE cosigned (
    witness    TEXT NOT NULL,     -- the witness verifier key
    origin     TEXT NOT NULL,
    store      TEXT NOT NULL,     -- the store whose verified checkpoint it is
    size       INTEGER NOT NULL,
    root       TEXT NOT NULL,     -- hex tree root at size
    time       INTEGER NOT NULL,  -- cosignature timestamp, POSIX seconds
    name       TEXT NOT NULL,     -- its object name in the witness store
    note       TEXT NOT NULL,     -- the cosigned note (published again as is after a crash)
    published  INTEGER NOT NULL,  -- 1 once the note is in the witness store
    PRIMARY KEY (witness, origin)
  );
  `,
];

export const SQL_MON_GET_META = 'SELECT value FROM meta WHERE key = ?';
export const SQL_MON_SET_META =
  'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value';
export const SQL_MON_GET_ORIGIN = 'SELECT * FROM origins WHERE store = ? AND origin = ?';
export const SQL_MON_STORE_ORIGINS = 'SELECT * FROM origins WHERE store = ? ORDER BY origin';
export const SQL_MON_ALL_ORIGINS = 'SELECT * FROM origins ORDER BY store, origin';
export const SQL_MON_PUT_VERIFIED = `
  INSERT INTO origins (store, origin, size, chain_head, tree_edge, root, newest_time, newest_note, signed_by, status,
                       finding, last_pass_at)
  VALUES (@store, @origin, @size, @chain_head, @tree_edge, @root, @newest_time, @newest_note, @signed_by, @status,
          @finding, @last_pass_at)
  ON CONFLICT (store, origin) DO UPDATE SET
    size = @size, chain_head = @chain_head, tree_edge = @tree_edge, root = @root, newest_time = @newest_time,
    newest_note = @newest_note, signed_by = @signed_by, status = @status, finding = @finding,
    last_pass_at = @last_pass_at`;
export const SQL_MON_PUT_STATUS = `
  INSERT INTO origins (store, origin, status, finding, last_pass_at)
  VALUES (@store, @origin, @status, @finding, @last_pass_at)
  ON CONFLICT (store, origin) DO UPDATE SET status = @status, finding = @finding, last_pass_at = @last_pass_at`;
/** Forgets what was verified of an origin (a full pass found it broken): the next pass reads all of it. */
export const SQL_MON_RESET_ORIGIN = `
  UPDATE origins SET size = NULL, chain_head = NULL, tree_edge = NULL, root = NULL, newest_time = NULL,
                     newest_note = NULL, signed_by = NULL
  WHERE store = ? AND origin = ?`;
export const SQL_MON_STORE_OBJECT_NAMES = 'SELECT name FROM objects WHERE store = ?';
export const SQL_MON_STORE_OBJECT_ORIGINS = 'SELECT name, origin FROM objects WHERE store = ?';
export const SQL_MON_ORIGIN_DIGESTS =
  'SELECT digest, name FROM objects WHERE store = ? AND origin = ? AND digest IS NOT NULL';
export const SQL_MON_PUT_OBJECT = 'INSERT OR REPLACE INTO objects (store, name, origin, digest) VALUES (?, ?, ?, ?)';
export const SQL_MON_DELETE_ORIGIN_OBJECTS = 'DELETE FROM objects WHERE store = ? AND origin = ?';
export const SQL_MON_CHECKPOINT_ROOT = 'SELECT root, store, object FROM checkpoints WHERE origin = ? AND size = ?';
export const SQL_MON_ORIGIN_CHECKPOINTS =
  'SELECT size, root, store, object FROM checkpoints WHERE origin = ? ORDER BY size';
export const SQL_MON_PUT_CHECKPOINT =
  'INSERT OR IGNORE INTO checkpoints (origin, size, root, store, object) VALUES (?, ?, ?, ?, ?)';
export const SQL_MON_GET_COSIGNED = 'SELECT * FROM cosigned WHERE witness = ? AND origin = ?';
export const SQL_MON_ALL_COSIGNED = 'SELECT * FROM cosigned WHERE witness = ? ORDER BY origin';
export const SQL_MON_PUT_COSIGNED = `
  INSERT INTO cosigned (witness, origin, store, size, root, time, name, note, published)
  VALUES (@witness, @origin, @store, @size, @root, @time, @name, @note, 0)
  ON CONFLICT (witness, origin) DO UPDATE SET
    store = @store, size = @size, root = @root, time = @time, name = @name, note = @note, published = 0`;
export const SQL_MON_COSIGNED_PUBLISHED =
  'UPDATE cosigned SET published = 1 WHERE witness = ? AND origin = ? AND name = ?';
