// The S3 reader's choice of the version to verify (the oldest of each key) and of what it
// reports as written over it (later versions, delete markers).
import assert from 'node:assert/strict';
import { type Server, createServer } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { Agent } from 'undici';
import { isTailsealError } from '../../../../src/errors.js';
import { S3Client, type S3Version } from '../../../../src/sinks/s3/client.js';
import { pickOriginals, s3StoreReader } from '../../../../src/sinks/s3/reader.js';

const v = (key: string, versionId: string, lastModified: string, deleteMarker = false): S3Version => ({
  key,
  versionId,
  lastModified,
  deleteMarker,
  isLatest: false,
  owner: 'acct',
});

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
    assert.deepEqual(
      [...originals],
      [
        ['p/a.ndjson.gz', 'a1'],
        ['p/b.ndjson.gz', 'b1'],
      ],
    );
    assert.deepEqual(
      tampering.map((t) => [t.key, t.kind, t.versionId]),
      [
        ['p/a.ndjson.gz', 'version', 'a2'],
        ['p/a.ndjson.gz', 'version', 'a3'],
        ['p/b.ndjson.gz', 'delete_marker', 'bx'],
        ['p/c.ndjson.gz', 'delete_marker', 'cx'],
      ],
    );
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

/** One ListObjectVersions entry as S3 writes it. */
const entry = (tag: string, key: string, id: string, at: string) =>
  `<${tag}><Key>${key}</Key><VersionId>${id}</VersionId><IsLatest>false</IsLatest><LastModified>${at}</LastModified>` +
  `<Owner><ID>acct-1</ID><DisplayName>mallory</DisplayName></Owner></${tag}>`;

describe('the S3 reader over ListObjectVersions pages (scripted server)', () => {
  let server: Server;
  let endpoint = '';
  const urls: string[] = [];
  let deny = false;
  before(async () => {
    server = createServer((req, res) => {
      urls.push(req.url!);
      const u = new URL(req.url!, 'http://x');
      const denied = '<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>';
      if (deny) return void res.writeHead(403).end(denied);
      if (!u.searchParams.has('versions')) return void res.writeHead(200).end('object bytes');
      // Page 1 ends inside k1's versions; page 2 continues from the markers S3 gave.
      const q = u.searchParams;
      const page2 = q.get('key-marker') === 'p/k1.ndjson' && q.get('version-id-marker') === 'v2';
      const body = page2
        ? entry('Version', 'p/k1.ndjson', 'v1', '2026-01-01T00:00:01.000Z') +
          entry('DeleteMarker', 'p/k2.ndjson', 'dm', '2026-01-01T00:00:09.000Z') +
          entry('Version', 'p/k2.ndjson', 'w1', '2026-01-01T00:00:02.000Z') +
          '<IsTruncated>false</IsTruncated>'
        : entry('Version', 'p/k1.ndjson', 'v2', '2026-01-01T00:00:08.000Z') +
          '<IsTruncated>true</IsTruncated><NextKeyMarker>p/k1.ndjson</NextKeyMarker>' +
          '<NextVersionIdMarker>v2</NextVersionIdMarker>';
      res.writeHead(200).end(`<?xml version="1.0"?><ListVersionsResult>${body}</ListVersionsResult>`);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    endpoint = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  const agent = new Agent();
  after(async () => {
    await agent.close();
    server.close();
  });

  const reader = () => {
    const creds = { source: 'test', get: async () => ({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' }) };
    const loc = { endpoint: new URL(endpoint), region: 'us-east-1', bucket: 'trail', pathStyle: true };
    return s3StoreReader(new S3Client(loc, creds, agent, 'test', 10_000), 'p/');
  };

  it('follows the key and version markers, reads the oldest version by id, and says who and when', async () => {
    const r = reader();
    assert.deepEqual(await r.list(), ['p/k1.ndjson', 'p/k2.ndjson']);
    assert.deepEqual(
      r.tampering!().map((t) => [t.key, t.kind, t.versionId, t.lastModified, t.owner]),
      [
        ['p/k1.ndjson', 'version', 'v2', '2026-01-01T00:00:08.000Z', 'acct-1 (mallory)'],
        ['p/k2.ndjson', 'delete_marker', 'dm', '2026-01-01T00:00:09.000Z', 'acct-1 (mallory)'],
      ],
    );
    urls.length = 0;
    await r.read('p/k1.ndjson', 1024);
    await r.read('p/k2.ndjson', 1024);
    assert.deepEqual(urls, ['/trail/p/k1.ndjson?versionId=v1', '/trail/p/k2.ndjson?versionId=w1']);
    // The stamp (for an auditor's index) is the version read, from the listing: no request.
    urls.length = 0;
    assert.deepEqual([await r.stamp('p/k1.ndjson'), await r.stamp('p/k2.ndjson')], ['version:v1', 'version:w1']);
    assert.deepEqual(urls, []);
  });

  it('a 403 names the version permissions an older IAM policy lacks', async () => {
    deny = true;
    await assert.rejects(
      reader().list(),
      (e: unknown) =>
        isTailsealError(e, 'SINK_PERMANENT') &&
        /ListObjectVersions answered HTTP 403.*grant s3:ListBucketVersions and s3:GetObjectVersion/.test(e.message),
    );
    deny = false;
  });
});
