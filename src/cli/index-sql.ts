// Every SQL statement of the auditor's index (`tailseal index`, `prove --index`), as named
// constants, and its schema migrations. The index is the auditor's own cache of a verified store,
// not part of the trail: deleting it loses nothing (the next run rebuilds it from the store).
// The schema version lives in `PRAGMA user_version`; MIGRATIONS[i] moves an index from version i
// to i + 1 inside one transaction with the version bump.

/** Schema migrations, in order. Never edit a shipped entry: append a new one. */
export const INDEX_MIGRATIONS: readonly string[] = [
  // v0 -> v1: the first schema.
  `
  -- One row per signed origin: where its verified walk ended (verifyTrail's ResumeState).
  CREATE TABLE streams (
    id            INTEGER PRIMARY KEY,
    origin        TEXT NOT NULL UNIQUE,
    size          INTEGER NOT NULL,   -- entries verified = tree size
    chain_head    BLOB NOT NULL,      -- chain value of entry size - 1, 32 bytes
    tree_edge     BLOB NOT NULL,      -- CompactRange.serialize() of the verified tree
    newest_time   INTEGER NOT NULL,   -- Unix ms of the newest verified checkpoint
    signed_by     TEXT NOT NULL,      -- JSON array of the key names that signed
    newest_size   INTEGER NOT NULL,   -- tree size of the newest checkpoint note below
    newest_note   TEXT NOT NULL       -- the newest verified checkpoint note (what proofs are made to)
  );
  -- One row per object read: its stamp (size and mtime, S3 version), seq range and checkpoint, and
  -- the leaf hashes of its entries (32 bytes each, in seq order): proofs need no object re-read.
  CREATE TABLE objects (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    stream        INTEGER NOT NULL REFERENCES streams(id),
    first_seq     INTEGER NOT NULL,
    end_seq       INTEGER NOT NULL,   -- signed tree size: entries first_seq .. end_seq - 1
    stamp         TEXT,               -- null when the store gives none
    digest        TEXT NOT NULL,      -- SHA-256 of the uncompressed bytes (duplicate detection)
    duplicate_of  TEXT,               -- a byte-identical copy of this object (no leaves of its own)
    note          TEXT NOT NULL,
    leaves        BLOB NOT NULL
  );
  CREATE INDEX objects_by_seq ON objects(stream, end_seq);
  -- decision_id -> where it occurs (an id may occur more than once: OPA may reuse one).
  CREATE TABLE decisions (
    decision_id   TEXT NOT NULL,
    stream        INTEGER NOT NULL,
    seq           INTEGER NOT NULL,
    PRIMARY KEY (decision_id, stream, seq)
  ) WITHOUT ROWID;
  `,
];

export const INDEX_PRAGMAS = [
  'PRAGMA journal_mode = WAL',
  // FULL: a run that reported success has its index on disk.
  'PRAGMA synchronous = FULL',
];

export const SQL_INDEX_BEGIN = 'BEGIN IMMEDIATE';
export const SQL_INDEX_COMMIT = 'COMMIT';
export const SQL_INDEX_ROLLBACK = 'ROLLBACK';

export const SQL_INDEX_STREAMS = `SELECT id, origin, size, chain_head, tree_edge, newest_time, signed_by, newest_size,
  newest_note FROM streams`;
export const SQL_INDEX_UPSERT_STREAM = `INSERT INTO streams (origin, size, chain_head, tree_edge, newest_time,
  signed_by, newest_size, newest_note) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (origin) DO UPDATE SET size = excluded.size, chain_head = excluded.chain_head,
  tree_edge = excluded.tree_edge, newest_time = excluded.newest_time, signed_by = excluded.signed_by,
  newest_size = excluded.newest_size, newest_note = excluded.newest_note`;
export const SQL_INDEX_STREAM_ID = 'SELECT id FROM streams WHERE origin = ?';
/** A new origin's row before its walk ends (its decisions refer to it); the same transaction fills it in. */
export const SQL_INDEX_ENSURE_STREAM = `INSERT OR IGNORE INTO streams (origin, size, chain_head, tree_edge, newest_time,
  signed_by, newest_size, newest_note) VALUES (?, 0, x'', x'', 0, '[]', 0, '')`;

export const SQL_INDEX_OBJECT_STAMPS = 'SELECT name, stamp FROM objects';
export const SQL_INDEX_OBJECT_DIGESTS = `SELECT digest, name FROM objects WHERE stream = ? AND duplicate_of IS NULL
  ORDER BY end_seq`;
export const SQL_INDEX_INSERT_OBJECT = `INSERT INTO objects (name, stream, first_seq, end_seq, stamp, digest,
  duplicate_of, note, leaves) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`;
/** The object holding entry `seq` of a stream (a heartbeat has first_seq = end_seq and holds none). */
export const SQL_INDEX_OBJECT_AT = `SELECT name, first_seq, leaves FROM objects
  WHERE stream = ? AND duplicate_of IS NULL AND first_seq <= ? AND end_seq > ? ORDER BY end_seq LIMIT 1`;
/** A stream's leaf hashes, object by object in seq order. */
export const SQL_INDEX_LEAVES = `SELECT first_seq, end_seq, leaves FROM objects
  WHERE stream = ? AND duplicate_of IS NULL AND end_seq > first_seq ORDER BY end_seq`;

export const SQL_INDEX_INSERT_DECISION = 'INSERT OR IGNORE INTO decisions (decision_id, stream, seq) VALUES (?, ?, ?)';
export const SQL_INDEX_FIND_DECISION = `SELECT s.origin AS origin, d.seq AS seq FROM decisions d
  JOIN streams s ON s.id = d.stream WHERE d.decision_id = ?`;

export const SQL_INDEX_COUNTS = `SELECT (SELECT count(*) FROM objects) AS objects,
  (SELECT count(*) FROM decisions) AS decisions, (SELECT coalesce(sum(size), 0) FROM streams) AS entries`;
