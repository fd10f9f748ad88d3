// Files planted in a store (issue 15 item 8): a FIFO (or a symlink to one) at an object name
// must not hang `tailseal verify`, and a gzip bomb must not inflate into its memory.
import assert from 'node:assert/strict';
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { CLI } from '../helpers/paths.js';
import { type BuiltTrail, buildTrail, objectPath } from '../helpers/trail.js';

const cleanups: (() => void)[] = [];
after(() => cleanups.forEach((c) => c()));

function fresh(): BuiltTrail {
  const t = buildTrail({ records: ['{"msg":"a"}', '{"msg":"b"}', '{"msg":"c"}'], plan: [2, 1] });
  cleanups.push(t.cleanup);
  return t;
}

/**
 * `tailseal verify` on the trail's store, bounded (a hang is killed after 30 s, status null).
 * A preloaded hook prints the child's peak RSS (VmHWM, KiB) to stderr as it exits.
 */
function verify(t: BuiltTrail, ...extra: string[]): SpawnSyncReturns<string> & { peakKiB: number } {
  const hook = join(t.root, 'peak-rss.cjs');
  writeFileSync(hook, `process.on('exit', () => { const s = require('fs').readFileSync('/proc/self/status', 'utf8');
  process.stderr.write('VMHWM ' + /VmHWM:\\s+(\\d+)/.exec(s)[1] + '\\n'); });\n`);
  const args = ['--require', hook, CLI, 'verify', '--store', t.dir, '--public-key', t.pubFile, '--json', ...extra];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 30_000 });
  return { ...r, peakKiB: Number(/VMHWM (\d+)/.exec(r.stderr ?? '')?.[1] ?? NaN) };
}

function mkfifo(path: string): void {
  mkdirSync(join(path, '..'), { recursive: true });
  const r = spawnSync('mkfifo', [path]);
  assert.equal(r.status, 0, `mkfifo ${path}`);
}

const result = (r: SpawnSyncReturns<string>) => JSON.parse(r.stdout) as { ok: boolean; code: string; object?: string };

describe('tailseal verify on a store with planted files', () => {
  it('a FIFO at an object name: STORE_UNSAFE at once, no hang', () => {
    const t = fresh();
    const name = 'opa/00000000000000000003-00000000000000000003.ndjson';
    mkfifo(objectPath(t.dir, name));
    const r = verify(t);
    assert.equal(r.signal, null, 'verify hung on the FIFO and was killed');
    assert.equal(r.status, 1, r.stderr);
    const out = result(r);
    const want = { ok: false, code: 'STORE_UNSAFE', object: name, path: objectPath(t.dir, name), message: undefined };
    assert.deepEqual({ ...out, message: undefined }, want);
  });

  it('a symlink to a FIFO at an object name: STORE_UNSAFE at once, no hang', () => {
    const t = fresh();
    const fifo = join(t.root, 'elsewhere.fifo');
    mkfifo(fifo);
    symlinkSync(fifo, objectPath(t.dir, 'opa/00000000000000000000-00000000000000000000.ndjson'));
    const r = verify(t);
    assert.equal(r.signal, null, 'verify hung on the FIFO and was killed');
    assert.equal(r.status, 1, r.stderr);
    assert.equal(result(r).code, 'STORE_UNSAFE');
    assert.match(r.stdout, /is a FIFO, not a stored object/);
  });

  it('a gzip bomb (400 MiB of zeros): ENTRY_MALFORMED, peak RSS far below the bomb', () => {
    const t = fresh();
    // 25 gzip members of 16 MiB of zeros each: one object that inflates to 400 MiB.
    const member = gzipSync(Buffer.alloc(16 * 1024 * 1024), { level: 9 });
    const bomb = Buffer.concat(Array.from({ length: 25 }, () => member));
    assert.ok(bomb.length < 1024 * 1024, `the bomb is small (${bomb.length} bytes)`);
    writeFileSync(objectPath(t.dir, 'opa/00000000000000000009-00000000000000000009.ndjson.gz'), bomb);
    const r = verify(t, '--max-object-bytes', '32MiB');
    assert.ok(r.peakKiB < 200 * 1024, `peak RSS ${Math.round(r.peakKiB / 1024)} MiB, the bomb is 400 MiB`);
    assert.equal(r.status, 1, r.stderr);
    const out = result(r);
    assert.equal(out.code, 'ENTRY_MALFORMED');
    assert.equal(out.object, 'opa/00000000000000000009-00000000000000000009.ndjson.gz');
    assert.match(r.stdout, /uncompresses to more than 33554432 bytes/);
  });

  it('--max-object-bytes refuses a larger stored object before reading it; a bad value is a usage error', () => {
    const t = fresh();
    const r = verify(t, '--max-object-bytes', '1KiB');
    assert.equal(r.status, 0, r.stdout + r.stderr); // the trail's objects are smaller
    writeFileSync(objectPath(t.dir, 'opa/00000000000000000009-00000000000000000009.ndjson'), Buffer.alloc(4096, 0x20));
    const big = verify(t, '--max-object-bytes', '1KiB');
    assert.equal(big.status, 1, big.stderr);
    assert.equal(result(big).code, 'ENTRY_MALFORMED');
    assert.match(big.stdout, /object file holds 4096 bytes, more than 1024 bytes/);
    const bad = verify(t, '--max-object-bytes', 'lots');
    assert.equal(bad.status, 2, bad.stdout);
    assert.match(bad.stderr, /USAGE.*--max-object-bytes "lots"/);
  });
});
