// The S3 reader's choice of the version to verify (the oldest of each key) and of what it
// reports as written over it (later versions, delete markers).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { S3Version } from '../../src/sinks/s3/client.js';
import { pickOriginals } from '../../src/verify/s3-store.js';

const v = (key: string, versionId: string, lastModified: string, deleteMarker = false): S3Version =>
  ({ key, versionId, lastModified, deleteMarker, isLatest: false, owner: 'acct' });

describe('the S3 reader picks the oldest version of each key', () => {
  it('reads the original and reports later versions and delete markers over it', () => {
    const { originals, tampering } = pickOriginals([
      v('p/a.ndjson.gz', 'a3', '2026-01-01T00:00:03.000Z'),
      v('p/a.ndjson.gz', 'a2', '2026-01-01T00:00:02.000Z'),
      v('p/a.ndjson.gz', 'a1', '2026-01-01T00:00:01.000Z'),
      v('p/b.ndjson.gz', 'b1', '2026-01-01T00:00:01.000Z'),
      v('p/b.ndjson.gz', 'bx', '2026-01-01T00:00:05.000Z', true),
      v('p/c.ndjson.gz', 'cx', '2026-01-01T00:00:05.000Z', true), // a marker over nothing: reported, nothing to read
      v('p/notes.txt', 'n2', '2026-01-01T00:00:05.000Z'), // not a trail object
      v('p/notes.txt', 'n1', '2026-01-01T00:00:04.000Z'),
    ]);
    assert.deepEqual([...originals], [['p/a.ndjson.gz', 'a1'], ['p/b.ndjson.gz', 'b1']]);
    assert.deepEqual(tampering.map((t) => [t.key, t.kind, t.versionId]), [
      ['p/a.ndjson.gz', 'version', 'a2'], ['p/a.ndjson.gz', 'version', 'a3'],
      ['p/b.ndjson.gz', 'delete_marker', 'bx'], ['p/c.ndjson.gz', 'delete_marker', 'cx'],
    ]);
  });

  it('on equal times takes the later in S3 order (newest first); an unversioned bucket reads as before', () => {
    const same = '2026-01-01T00:00:01.000Z';
    const tie = pickOriginals([v('k.ndjson', 'new', same), v('k.ndjson', 'old', same)]);
    assert.equal(tie.originals.get('k.ndjson'), 'old');
    const plain = pickOriginals([v('k.ndjson', 'null', same), v('l.ndjson', 'null', same)]);
    assert.deepEqual([...plain.originals.values()], ['null', 'null']);
    assert.equal(plain.tampering.length, 0);
  });
});
