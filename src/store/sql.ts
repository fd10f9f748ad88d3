// Every SQL statement tailseal runs, as named constants, and the schema migrations.
// The schema version lives in `PRAGMA user_version`; MIGRATIONS[i] moves a database from
// version i to i + 1 and runs inside one transaction with the version bump.

/** Schema migrations, in order. Never edit a shipped entry: append a new one. */
export const MIGRATIONS: readonly string[] = [
  // v0 -> v1: the first schema.
  `
  CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
  );
  -- One row per stream: the seal state, committed with the entries it covers.
  CREATE TABLE streams (
    name               TEXT PRIMARY KEY,
    next_seq           INTEGER NOT NULL,  -- = tree size = number of sealed entries
    chain_head         BLOB NOT NULL,     -- chain_{next_seq - 1}, 32 bytes
    tree_edge          BLOB NOT NULL,     -- CompactRange.serialize(): the tree's right edge
    checkpointed_size  INTEGER NOT NULL,  -- tree size of the last signed checkpoint
    checkpointed_at    INTEGER NOT NULL,  -- Unix ms of the last signed checkpoint (0 = never)
    last_note          TEXT               -- the last signed checkpoint note
  );
  -- One row per tailed file generation, keyed by (device, inode); the fingerprint tells a
  -- reused inode from the file we knew.
  CREATE TABLE files (
    id           INTEGER PRIMARY KEY,
    input        TEXT NOT NULL,
    ident        TEXT NOT NULL UNIQUE,   -- "<dev>:<ino>"
    path         TEXT NOT NULL,          -- last path seen, for messages only
    fingerprint  BLOB NOT NULL,          -- SHA-256 of the first fp_len bytes
    fp_len       INTEGER NOT NULL,
    offset       INTEGER NOT NULL,       -- first byte not yet sealed
    updated_at   INTEGER NOT NULL
  );
  -- The outbox: sealed entry lines waiting until every sink has acknowledged their object.
  CREATE TABLE entries (
    stream  TEXT NOT NULL,
    seq     INTEGER NOT NULL,
    line    BLOB NOT NULL,               -- the object line (NDJSON) of this entry
    PRIMARY KEY (stream, seq)
  ) WITHOUT ROWID;
  -- Each signed checkpoint closes one object: the entries [first_seq, size) of its stream.
  CREATE TABLE objects (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    stream      TEXT NOT NULL,
    first_seq   INTEGER NOT NULL,
    size        INTEGER NOT NULL,
    note        TEXT NOT NULL,
    bytes       INTEGER NOT NULL,        -- sum of the entry lines' lengths
    created_at  INTEGER NOT NULL
  );
  -- Each sink's cursor: the id of the last object it acknowledged (objects are shipped in id order).
  CREATE TABLE sink_cursors (
    sink      TEXT PRIMARY KEY,
    acked_id  INTEGER NOT NULL
  );
  CREATE TABLE counters (
    name   TEXT PRIMARY KEY,
    value  INTEGER NOT NULL
  );
  `,
  // v1 -> v2: objects a sink refused for good (permanent error, conflict), held until an operator
  // re-queues them (`tailseal requeue`); the sink's cursor waits at them, nothing is skipped.
  `
  CREATE TABLE parked (
    sink       TEXT NOT NULL,
    object_id  INTEGER NOT NULL,
    code       TEXT NOT NULL,
    reason     TEXT NOT NULL,
    parked_at  INTEGER NOT NULL,
    PRIMARY KEY (sink, object_id)
  );
  `,
  // v2 -> v3: entry lines move out of SQLite into outbox segment files (store/spool.ts); a
  // stream row records how many bytes of its open segment are committed. The entries table stays
  // only so the outbox (outbox.ts recoverOutbox) can move a v2 outbox's rows into segments once (then it is empty).
  `
  ALTER TABLE streams ADD COLUMN spool_bytes INTEGER NOT NULL DEFAULT 0;
  `,
  // v3 -> v4: keys (an OPA decision_id with a digest of its bytes) of recently sealed records of sources whose
  // clients retry, written in the transaction that seals them, so a retried upload is not sealed twice.
  `
  CREATE TABLE dedupe_keys (
    stream     TEXT NOT NULL,
    key        TEXT NOT NULL,
    seq        INTEGER NOT NULL,   -- the entry that sealed it
    sealed_at  INTEGER NOT NULL,   -- Unix ms
    PRIMARY KEY (stream, key)
  ) WITHOUT ROWID;
  CREATE INDEX dedupe_keys_by_seq ON dedupe_keys (stream, seq);
  CREATE INDEX dedupe_keys_by_age ON dedupe_keys (stream, sealed_at);
  `,
  // v4 -> v5: a file generation's "finished" state (read to its end after a rotation, or its loss sealed as a gap
  // record) becomes a column; until v4 it was a `done:` prefix on the row's path. Tracked paths are absolute, so
  // only a marked row starts with `done:`. Crash safety: the column, the moved markers and the version bump are one
  // transaction (db.ts), so a crash leaves either v4 with every prefix or v5 with none; no row is half-moved.
  `
  ALTER TABLE files ADD COLUMN done INTEGER NOT NULL DEFAULT 0;  -- 1: finished, a restart does not look for it
  UPDATE files SET done = 1, path = substr(path, 6) WHERE substr(path, 1, 5) = 'done:';
  `,
  // v5 -> v6: each object keeps the tree's compact range at its size (the stream's tree_edge when its
  // checkpoint was signed): what a witness sink needs to prove later checkpoints consistent with it
  // (sinks/witness/). NULL for objects closed before v6; one ALTER, atomic with the version bump.
  `
  ALTER TABLE objects ADD COLUMN edge BLOB;  -- CompactRange.serialize() at size
  `,
  // v6 -> v7: whether a sink that keeps the trail (file, s3, http) has stored the object. A sink whose
  // `streams` leave an object out may pass it by only when it is kept or another trail sink will
  // still take it, so changing `streams` while objects wait never leaves one stored nowhere
  // (sinks/shipper.ts). Objects from before v7 count as not kept: they are delivered, not passed by.
  `
  ALTER TABLE objects ADD COLUMN kept INTEGER NOT NULL DEFAULT 0;
  `,
];

export const SQL_PRAGMAS = [
  // Takes effect only on a new database (before its first table): freed pages can then be given
  // back to the filesystem by SQL_INCREMENTAL_VACUUM. Older databases reuse their free pages.
  'PRAGMA auto_vacuum = INCREMENTAL',
  'PRAGMA journal_mode = WAL',
  // The WAL file is cut back to this size after checkpoints, so a burst does not leave it large.
  'PRAGMA journal_size_limit = 67108864',
  // FULL: a commit that returned is on disk. A checkpoint may be shipped right after its commit;
  // losing that commit on power loss would re-seal the same lines into a different, forked trail.
  'PRAGMA synchronous = FULL',
  'PRAGMA foreign_keys = ON',
  'PRAGMA busy_timeout = 5000',
  // Temporary tables and statement journals stay in memory: the container image's root
  // filesystem is read-only, and the state volume is the only place tailseal writes.
  'PRAGMA temp_store = MEMORY',
];

export const SQL_GET_STREAM =
  'SELECT name, next_seq, chain_head, tree_edge, checkpointed_size, checkpointed_at, last_note, spool_bytes FROM ' +
  'streams WHERE name = ?';
export const SQL_LIST_STREAMS =
  'SELECT name, next_seq, chain_head, tree_edge, checkpointed_size, checkpointed_at, last_note, spool_bytes FROM ' +
  'streams ORDER BY name';
export const SQL_INSERT_STREAM =
  'INSERT INTO streams (name, next_seq, chain_head, tree_edge, checkpointed_size, checkpointed_at, last_note) ' +
  'VALUES (?, 0, ?, ?, 0, 0, NULL)';
/** A stream continued from a verified trail (state loss): its head and tree edge at `next_seq`. */
export const SQL_RESTORE_STREAM =
  'INSERT OR REPLACE INTO streams (name, next_seq, chain_head, tree_edge, checkpointed_size, checkpointed_at, ' +
  'last_note, spool_bytes) VALUES (?, ?, ?, ?, ?, ?, ?, 0)';
/** Streams that sealed anything: none means the database holds no state worth keeping yet. */
export const SQL_COUNT_SEALED_STREAMS = 'SELECT COUNT(*) FROM streams WHERE next_seq > 0';
export const SQL_QUICK_CHECK = 'PRAGMA quick_check';
/** Gives up to this many free pages back to the filesystem (databases created with auto_vacuum). */
export const SQL_INCREMENTAL_VACUUM = 'PRAGMA incremental_vacuum(1024)';
export const SQL_UPDATE_STREAM_HEAD =
  'UPDATE streams SET next_seq = ?, chain_head = ?, tree_edge = ?, spool_bytes = ? WHERE name = ? AND next_seq = ?';
export const SQL_UPDATE_STREAM_CHECKPOINT =
  'UPDATE streams SET checkpointed_size = ?, checkpointed_at = ?, last_note = ?, spool_bytes = 0 WHERE name = ?';

export const SQL_GET_FILE_BY_IDENT =
  'SELECT id, input, ident, path, fingerprint, fp_len, offset, done FROM files WHERE ident = ?';
export const SQL_INSERT_FILE =
  'INSERT INTO files (input, ident, path, fingerprint, fp_len, offset, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)';
/** A reused inode's row re-keyed to the new file: a new generation, not finished. */
export const SQL_RESET_FILE =
  'UPDATE files SET input = ?, path = ?, fingerprint = ?, fp_len = ?, offset = ?, updated_at = ?, done = 0 ' +
  'WHERE id = ?';
/** The offset a commit brings a generation to, and whether that commit finishes it. */
export const SQL_UPDATE_FILE_OFFSET = 'UPDATE files SET offset = ?, path = ?, done = ?, updated_at = ? WHERE id = ?';
export const SQL_DELETE_FILE = 'DELETE FROM files WHERE id = ?';
export const SQL_LIST_FILES = 'SELECT id, input, ident, path, offset, done, updated_at FROM files ORDER BY id';
/** Finished generations last updated before a cutoff: candidates to expire. */
export const SQL_FINISHED_FILES_BEFORE =
  'SELECT id, input, ident, path FROM files WHERE done = 1 AND updated_at < ? ORDER BY id';

// Schema v2 kept entry lines in this table; only the one-time move into segment files reads it.
export const SQL_LEGACY_STREAMS_WITH_ENTRIES = 'SELECT DISTINCT stream FROM entries';
export const SQL_LEGACY_ENTRY_LINES = 'SELECT line FROM entries WHERE stream = ? AND seq >= ? AND seq < ? ORDER BY seq';
export const SQL_LEGACY_DELETE_ENTRIES = 'DELETE FROM entries WHERE stream = ?';
export const SQL_SET_SPOOL_BYTES = 'UPDATE streams SET spool_bytes = ? WHERE name = ?';

export const SQL_INSERT_OBJECT =
  'INSERT INTO objects (stream, first_seq, size, note, bytes, created_at, edge) VALUES (?, ?, ?, ?, ?, ?, ?)';
export const SQL_MARK_KEPT = 'UPDATE objects SET kept = 1 WHERE id = ?';
export const SQL_OBJECT_KEPT = 'SELECT kept FROM objects WHERE id = ?';
export const SQL_NEXT_OBJECT =
  'SELECT id, stream, first_seq, size, note, bytes, created_at, edge FROM objects WHERE id > ? ORDER BY id LIMIT 1';
export const SQL_LIST_OBJECTS = 'SELECT id, stream, first_seq, size, bytes FROM objects ORDER BY id';
export const SQL_OBJECTS_UP_TO = 'SELECT id, stream, first_seq, size, bytes FROM objects WHERE id <= ? ORDER BY id';
/** Per stream, where the first object a sink has not acknowledged begins (after its cursor). */
export const SQL_UNACKED_STARTS = 'SELECT stream, MIN(first_seq) AS first FROM objects WHERE id > ? GROUP BY stream';
/** Entries in signed objects still waiting for a sink. */
export const SQL_OUTBOX_OBJECT_ENTRIES = 'SELECT COALESCE(SUM(size - first_seq), 0) FROM objects';
export const SQL_DELETE_OBJECT = 'DELETE FROM objects WHERE id = ?';

export const SQL_DEDUPE_SEEN = 'SELECT 1 AS seen FROM dedupe_keys WHERE stream = ? AND key = ?';
export const SQL_DEDUPE_INSERT = 'INSERT OR IGNORE INTO dedupe_keys (stream, key, seq, sealed_at) VALUES (?, ?, ?, ?)';
// Keys expire by count (entries of the stream since) and by age, each through its index.
export const SQL_DEDUPE_PRUNE_SEQ = 'DELETE FROM dedupe_keys WHERE stream = ? AND seq < ?';
export const SQL_DEDUPE_PRUNE_AGE = 'DELETE FROM dedupe_keys WHERE stream = ? AND sealed_at < ?';

export const SQL_GET_CURSOR = 'SELECT acked_id FROM sink_cursors WHERE sink = ?';
export const SQL_UPSERT_CURSOR =
  'INSERT INTO sink_cursors (sink, acked_id) VALUES (?, ?) ON CONFLICT(sink) DO UPDATE SET acked_id = ' +
  'excluded.acked_id';

export const SQL_GET_COUNTER = 'SELECT value FROM counters WHERE name = ?';
export const SQL_ADD_COUNTER =
  'INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = value + excluded.value';
export const SQL_LIST_COUNTERS = 'SELECT name, value FROM counters ORDER BY name';

// The meta table's `file_errors/<input>` rows: the files each file input cannot read (JSON).
export const SQL_PUT_META =
  'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value';
export const SQL_DELETE_META = 'DELETE FROM meta WHERE key = ?';
export const SQL_LIST_META_PREFIX = 'SELECT key, value FROM meta WHERE substr(key, 1, length(?)) = ? ORDER BY key';

export const SQL_PARK =
  'INSERT INTO parked (sink, object_id, code, reason, parked_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT(sink, ' +
  'object_id) DO UPDATE SET code = excluded.code, reason = excluded.reason';
export const SQL_IS_PARKED = 'SELECT 1 AS parked FROM parked WHERE sink = ? AND object_id = ?';
export const SQL_LIST_PARKED =
  'SELECT p.sink, p.object_id, p.code, p.reason, p.parked_at, o.stream, o.first_seq, o.size FROM parked p LEFT ' +
  'JOIN objects o ON o.id = p.object_id ORDER BY p.sink, p.object_id';
export const SQL_UNPARK_SINK = 'DELETE FROM parked WHERE sink = ?';
export const SQL_UNPARK_ALL = 'DELETE FROM parked';
export const SQL_COUNT_OBJECTS_AFTER = 'SELECT COUNT(*) AS n FROM objects WHERE id > ?';
