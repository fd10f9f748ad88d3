// writeSyncedFile and fsyncDir on real files: the bytes and mode land, a file there is replaced,
// and a folder that is not there is an error, never a silent success.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fsyncDir, writeSyncedFile } from '../../../src/common/synced-file.js';

const root = mkdtempSync(join(tmpdir(), 'tailseal-synced-'));
after(() => rmSync(root, { recursive: true, force: true }));

describe('synced files', () => {
  it('writes the text with the mode asked for, replacing a file already there', () => {
    const f = join(root, 'a.json');
    writeFileSync(f, 'old and longer text');
    writeSyncedFile(f, '{"v":1}\n', 0o600);
    assert.equal(readFileSync(f, 'utf8'), '{"v":1}\n');
    const fresh = join(root, 'b.json');
    writeSyncedFile(fresh, 'x', 0o640);
    assert.equal(statSync(fresh).mode & 0o777, 0o640 & ~process.umask());
  });

  it('fsyncs a folder; a folder that is not there throws ENOENT', () => {
    fsyncDir(root);
    assert.throws(() => fsyncDir(join(root, 'missing')), { code: 'ENOENT' });
  });
});
