// Files planted in a store (issue 15 item 8): a FIFO (or a symlink to one) at an object name
// must not hang `tailseal verify`, and a gzip bomb must not inflate into its memory.
import assert from 'node:assert/strict';
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { Agent } from 'undici';
import { isTailsealError } from '../../src/errors.js';
import { S3Client } from '../../src/sinks/s3/client.js';
import { s3StoreReader } from '../../src/sinks/s3/reader.js';
import { readNamed } from '../../src/trail/verify-trail.js';
import { type DaemonProc, killDaemon, logsWith, makeWorkspace, startDaemon, waitFor } from '../helpers/daemon.js';
import { startFakeS3 } from '../helpers/fake-s3.js';
import { CLI } from '../helpers/paths.js';
import { type BuiltTrail, buildTrail, objectPath } from '../helpers/trail.js';

// Some cleanups close servers and agents (promises): await each, so none is left running or fails unseen.
const cleanups: (() => void | Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups) await c();
});

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
  writeFileSync(
    hook,
    `process.on('exit', () => { const s = require('fs').readFileSync('/proc/self/status', 'utf8');
  process.stderr.write('VMHWM ' + /VmHWM:\\s+(\\d+)/.exec(s)[1] + '\\n'); });\n`,
  );
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

/** SIGKILL if still running (a daemon hung by the attack would otherwise outlive the test). */
async function ensureGone(d: DaemonProc): Promise<void> {
  if (d.child.exitCode === null && d.child.signalCode === null) await killDaemon(d);
}

const logCode = (d: DaemonProc, prefix: string) => logsWith(d, prefix).map((l) => l.code);

describe('the daemon with planted files in its file sink', () => {
  it('lost-state recovery meets a FIFO at an object name: start-up stops with STORE_UNSAFE, no hang', async () => {
    const w = makeWorkspace();
    cleanups.push(w.cleanup);
    mkfifo(join(w.storeDir, 'opa', '00000000000000000000-00000000000000000009.ndjson'));
    const d = startDaemon(w); // no state database: start-up reads the trail back first
    try {
      await waitFor(() => d.child.exitCode !== null, 'start-up to stop instead of hanging on the FIFO');
      assert.equal(d.child.exitCode, 1);
      assert.match(d.logs.join('\n'), /STORE_UNSAFE: .*00000000000000000000-00000000000000000009\.ndjson is a FIFO/);
    } finally {
      await ensureGone(d);
    }
  });

  it('the audit meets a symlink to a FIFO: the pass fails with STORE_UNSAFE, the next one runs too', async () => {
    const w = makeWorkspace({ extraYaml: 'audit:\n  interval: 200ms\n' });
    cleanups.push(w.cleanup);
    const d = startDaemon(w);
    try {
      await waitFor(() => logsWith(d, 'tailseal running').length > 0, 'start-up');
      const fifo = join(w.root, 'planted.fifo');
      mkfifo(fifo);
      mkdirSync(join(w.storeDir, 'opa'), { recursive: true });
      symlinkSync(fifo, join(w.storeDir, 'opa', '00000000000000000000-00000000000000000000.ndjson'));
      const failed = () => logCode(d, 'Integrity audit FAILED').filter((c) => c === 'STORE_UNSAFE').length;
      await waitFor(() => failed() >= 2, 'two audit passes to fail with STORE_UNSAFE (none hangs)');
    } finally {
      await ensureGone(d);
    }
  });

  it('a sink folder replaced by a symlink: the write is refused with STORE_UNSAFE, nothing lands outside', async () => {
    const w = makeWorkspace({ extraYaml: 'audit:\n  interval: 0s\n' });
    cleanups.push(w.cleanup);
    const outside = join(w.root, 'outside');
    mkdirSync(outside);
    mkdirSync(w.storeDir);
    symlinkSync(outside, join(w.storeDir, 'opa'));
    writeFileSync(join(w.opaDir, 'opa.log'), '{"msg":"Decision Log","n":1}\n');
    const d = startDaemon(w);
    try {
      const refused = () => logsWith(d, 'Delivery refused permanently').filter((l) => l.code === 'STORE_UNSAFE');
      await waitFor(() => refused().length > 0, 'the write to be refused with STORE_UNSAFE');
      assert.match(String(refused()[0]!.err), /opa is a symlink inside the sink directory/);
      assert.deepEqual(readdirSync(outside), [], 'nothing written through the symlink');
      assert.equal(existsSync(join(w.storeDir, 'opa')), true);
    } finally {
      await ensureGone(d);
    }
  });
});

describe('the s3 store reader', () => {
  it('refuses an object over the limit without buffering it: declared or streamed length', async () => {
    let sent = 0;
    const s3 = await startFakeS3((req, res) => {
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      if (req.url?.includes('declared')) {
        res.writeHead(200, { 'content-length': String(1024 * 1024 * 1024) });
        res.write(chunk); // the rest never comes: the reader must not wait for it
        return;
      }
      // No Content-Length: a chunked answer that would go on for 1 GiB.
      res.writeHead(200);
      const more = (): void => {
        while (sent < 1024 * 1024 * 1024 && res.write(chunk)) sent += chunk.length;
        if (sent < 1024 * 1024 * 1024) res.once('drain', more);
        else res.end();
      };
      res.on('close', () => res.removeAllListeners('drain'));
      more();
    });
    const agent = new Agent();
    cleanups.push(
      () => agent.close(),
      () => s3.close(),
    );
    const creds = { source: 'test', get: async () => ({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' }) };
    const loc = { endpoint: new URL(s3.endpoint), region: 'us-east-1', bucket: 'trail', pathStyle: true };
    const reader = s3StoreReader(new S3Client(loc, creds, agent, 'test', 10_000), '');
    for (const key of ['declared.ndjson', 'streamed.ndjson']) {
      await assert.rejects(
        readNamed(reader, key, 1024 * 1024),
        (e: unknown) =>
          isTailsealError(e, 'ENTRY_MALFORMED') &&
          e.details.object === key &&
          /more than 1048576 bytes/.test(e.message),
      );
    }
    assert.ok(sent < 64 * 1024 * 1024, `the streamed answer was cut off early (${sent} bytes sent)`);
  });
});
