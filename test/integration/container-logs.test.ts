// Container log formats on disk, as the kubelet/containerd (CRI) and Docker's json-file driver
// write OPA's stderr: pieces joined back into OPA's lines, the pod taken from the path, the
// Kubernetes layout's symlinks and rotations followed, kill -9 in the middle of a split line.
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, it } from 'node:test';
import {
  type Workspace,
  killDaemon,
  makeWorkspace,
  startDaemon,
  stopDaemon,
  storeEntries,
  storedDecisions,
  verifyStore,
  waitFor,
} from '../helpers/daemon.js';
import { decisionLine, otherLine, prng } from '../helpers/opa-sample.js';

const CONTAINER_ID = 'ab'.repeat(32);

/** The kubelet's layout under the workspace: the pod's log dir and the /var/log/containers link dir. */
function podLayout(w: Workspace): { podDir: string; linkDir: string; link: string } {
  const podDir = join(w.root, 'var', 'log', 'pods', 'policy_opa-7d9f_0b5e7c1a-2f4d-4e8a-9c3b-6a1d2e3f4a5b', 'opa');
  const linkDir = join(w.root, 'var', 'log', 'containers');
  mkdirSync(podDir, { recursive: true });
  mkdirSync(linkDir, { recursive: true });
  const link = join(linkDir, `opa-7d9f_policy_opa-${CONTAINER_ID}.log`);
  symlinkSync(join(podDir, '0.log'), link);
  return { podDir, linkDir, link };
}

function containerWorkspace(format: string, linkDir: (w: Workspace) => string, extra = ''): Workspace {
  // The input's glob points into the workspace, so the config is finished once its paths are known.
  const w = makeWorkspace({
    inputsYaml: '  - { name: placeholder, type: file, paths: ["/nonexistent/*.log"] }',
  });
  const dir = linkDir(w);
  const yaml = `  - name: opa
    type: file
    format: ${format}
    paths: ["${dir}/*.log"]
    poll_interval: 50ms
    rotate_wait: 500ms
    read_chunk_bytes: 4KiB${extra}`;
  writeFileSync(
    w.configFile,
    readFileSync(w.configFile, 'utf8').replace(
      '  - { name: placeholder, type: file, paths: ["/nonexistent/*.log"] }',
      yaml,
    ),
  );
  return w;
}

/** CRI lines for one OPA line: split into `piece`-byte P pieces, the last one F. */
function cri(line: string, piece = 16 * 1024, time = '2026-11-29T12:00:00.123456789Z'): string {
  const parts: string[] = [];
  for (let i = 0; i < line.length; i += piece) parts.push(line.slice(i, i + piece));
  if (parts.length === 0) parts.push('');
  return parts.map((p, i) => `${time} stderr ${i === parts.length - 1 ? 'F' : 'P'} ${p}\n`).join('');
}

/** Docker json-file records for one OPA line: `log` pieces of `piece` characters, the last with "\n". */
function docker(line: string, piece = 16 * 1024): string {
  const parts: string[] = [];
  for (let i = 0; i < line.length; i += piece) parts.push(line.slice(i, i + piece));
  return parts
    .map((p, i) => {
      const time = '2026-11-29T12:00:00.123456789Z';
      return `${JSON.stringify({ log: i === parts.length - 1 ? `${p}\n` : p, stream: 'stderr', time })}\n`;
    })
    .join('');
}

/** A decision line padded to about `size` bytes (a big input). */
function bigDecision(i: number, rnd: () => number, size: number): string {
  return decisionLine(i, rnd).replace('"input":{', `"input":{"pad":"${'p'.repeat(size)}",`);
}

describe('container log formats', () => {
  it('CRI in the Kubernetes layout: split lines rejoined across reads, pod metadata sealed, symlink followed', async () => {
    const w = containerWorkspace('cri', (x) => join(x.root, 'var', 'log', 'containers'));
    const { podDir } = podLayout(w);
    const rnd = prng(11);
    const lines = [
      decisionLine(0, rnd),
      bigDecision(1, rnd, 40_000),
      otherLine(2),
      decisionLine(3, rnd),
      bigDecision(4, rnd, 17_000),
    ];
    writeFileSync(join(podDir, '0.log'), lines.map((l) => cri(l)).join(''));
    const d = startDaemon(w);
    try {
      const want = lines.filter((l) => l.includes('Decision Log'));
      await waitFor(() => storedDecisions(w.storeDir).length === want.length, 'the decisions in the store');
      assert.deepEqual(storedDecisions(w.storeDir), want, "each decision is OPA's line, rejoined byte for byte");
      const big = storeEntries(w.storeDir).find((e) => e.payload.length > 40_000)!;
      assert.deepEqual(
        { ...big.meta },
        {
          'k8s.namespace': 'policy',
          'k8s.pod': 'opa-7d9f',
          'k8s.pod_uid': '0b5e7c1a-2f4d-4e8a-9c3b-6a1d2e3f4a5b',
          'k8s.container': 'opa',
          'log.format': 'cri',
          'log.stream': 'stderr',
          'log.time': '2026-11-29T12:00:00.123456789Z',
          'log.pieces': '3',
        },
      );
      assert.equal(storeEntries(w.storeDir)[0]!.meta?.['log.pieces'], undefined, 'a one-piece line has no piece count');
    } finally {
      assert.equal(await stopDaemon(d), 0);
    }
    const v = verifyStore(w);
    assert.equal(v.status, 0, v.stdout + v.stderr);
    w.cleanup();
  });

  it('the kubelet rotates 0.log to 0.log.<time> and later gzips it: every line once, the .gz never read', async () => {
    const w = containerWorkspace('cri', (x) => join(x.root, 'var', 'log', 'containers'));
    const { podDir } = podLayout(w);
    const rnd = prng(12);
    const written: string[] = [];
    const write = (n: number) => {
      const ls = Array.from({ length: n }, () => decisionLine(written.length + 1000, rnd));
      for (const l of ls) written.push(l);
      appendFileSync(join(podDir, '0.log'), ls.map((l) => cri(l)).join(''));
    };
    write(50);
    const d = startDaemon(w);
    try {
      await waitFor(() => storedDecisions(w.storeDir).length === 50, 'the first 50');
      // Rotation: rename, new 0.log (the /var/log/containers link now leads to it), then gzip.
      write(10); // late lines into the file about to be rotated
      const rotated = join(podDir, '0.log.20261129-120000');
      renameSync(join(podDir, '0.log'), rotated);
      // The /var/log/containers link leads nowhere until the new 0.log exists: several polls.
      await new Promise((r) => setTimeout(r, 400));
      write(30);
      await waitFor(() => storedDecisions(w.storeDir).length === 90, 'all 90 decisions', 20_000);
      writeFileSync(`${rotated}.gz`, gzipSync(Buffer.from('not to be read')));
      rmSync(rotated);
      write(5);
      await waitFor(() => storedDecisions(w.storeDir).length === 95, 'all 95 decisions');
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      assert.equal(await stopDaemon(d), 0);
    }
    assert.deepEqual(storedDecisions(w.storeDir).sort(), [...written].sort());
    assert.equal(new Set(storedDecisions(w.storeDir)).size, 95, 'no line twice');
    w.cleanup();
  });

  it('kill -9 while a split line waits for its last piece: sealed once, whole, after the restart', async () => {
    const w = containerWorkspace('cri', (x) => join(x.root, 'var', 'log', 'containers'));
    const { podDir } = podLayout(w);
    const rnd = prng(13);
    const first = decisionLine(1, rnd);
    const split = bigDecision(2, rnd, 30_000);
    const pieces = cri(split)
      .split('\n')
      .filter(Boolean)
      .map((l) => `${l}\n`);
    assert.equal(pieces.length, 2);
    writeFileSync(join(podDir, '0.log'), cri(first) + pieces[0]!); // the P piece, no F yet
    let d = startDaemon(w);
    await waitFor(() => storedDecisions(w.storeDir).length === 1, 'the complete line');
    await new Promise((r) => setTimeout(r, 300)); // the P piece has been read (and held back)
    await killDaemon(d);
    appendFileSync(join(podDir, '0.log'), pieces[1]!);
    d = startDaemon(w);
    try {
      await waitFor(() => storedDecisions(w.storeDir).length === 2, 'the rejoined line');
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      assert.equal(await stopDaemon(d), 0);
    }
    assert.deepEqual(storedDecisions(w.storeDir), [first, split]);
    assert.equal(verifyStore(w).status, 0);
    w.cleanup();
  });

  it("Docker json-file: 16 KiB records rejoined; the line is OPA's, the wrapper in metadata", async () => {
    const w = containerWorkspace('docker', (x) => x.opaDir);
    const rnd = prng(14);
    const lines = [
      decisionLine(0, rnd),
      bigDecision(1, rnd, 50_000),
      otherLine(2),
      'not docker json at all',
      decisionLine(3, rnd),
    ];
    writeFileSync(
      join(w.opaDir, 'c0ffee-json.log'),
      lines.map((l) => (l.startsWith('not') ? `${l}\n` : docker(l))).join(''),
    );
    const d = startDaemon(w);
    try {
      await waitFor(() => storedDecisions(w.storeDir).length === 3, 'the decisions');
      await waitFor(() => d.logs.some((l) => l.includes('bad_docker')), 'the malformed record warned about');
    } finally {
      assert.equal(await stopDaemon(d), 0);
    }
    assert.deepEqual(storedDecisions(w.storeDir), [lines[0], lines[1], lines[4]]);
    const big = storeEntries(w.storeDir)[1]!;
    assert.equal(big.meta?.['log.format'], 'docker');
    assert.equal(big.meta?.['log.pieces'], '4');
    assert.equal(big.meta?.['k8s.pod'], undefined, 'not in the Kubernetes layout: no pod');
    w.cleanup();
  });

  it('auto: CRI, Docker and plain lines in one file are each read in their own format', async () => {
    const w = containerWorkspace('auto', (x) => x.opaDir);
    const rnd = prng(15);
    const [a, b, c] = [decisionLine(0, rnd), bigDecision(1, rnd, 20_000), decisionLine(2, rnd)];
    writeFileSync(join(w.opaDir, 'mixed.log'), `${cri(a)}${docker(b)}${c}\n`);
    const d = startDaemon(w);
    try {
      await waitFor(() => storedDecisions(w.storeDir).length === 3, 'three decisions');
    } finally {
      assert.equal(await stopDaemon(d), 0);
    }
    assert.deepEqual(storedDecisions(w.storeDir), [a, b, c]);
    assert.deepEqual(
      storeEntries(w.storeDir).map((e) => e.meta?.['log.format']),
      ['cri', 'docker', undefined],
    );
    w.cleanup();
  });

  it('a split line over max_line_bytes becomes one gap record; the lines after it are read', async () => {
    const w = containerWorkspace('cri', (x) => x.opaDir, '\n    max_line_bytes: 64KiB');
    const rnd = prng(16);
    const huge = bigDecision(1, rnd, 200_000);
    const [before, after] = [decisionLine(0, rnd), decisionLine(2, rnd)];
    const hugeCri = cri(huge);
    writeFileSync(join(w.opaDir, '0.log'), cri(before) + hugeCri + cri(after));
    const d = startDaemon(w);
    try {
      await waitFor(() => storeEntries(w.storeDir).length === 3, 'two decisions and a gap');
    } finally {
      assert.equal(await stopDaemon(d), 0);
    }
    const entries = storeEntries(w.storeDir);
    assert.deepEqual(
      entries.map((e) => e.kind),
      ['decision', 'gap', 'decision'],
    );
    const gap = JSON.parse(Buffer.from(entries[1]!.payload).toString('utf8')) as { reason: string; length: number };
    assert.equal(gap.reason, 'line_too_long');
    assert.equal(entries[1]!.offset, Buffer.byteLength(cri(before)), 'the gap starts at the first piece');
    assert.equal(gap.length, Buffer.byteLength(hugeCri) - 1, 'and covers every piece (their bytes in the file)');
    assert.deepEqual(storedDecisions(w.storeDir), [before, after]);
    w.cleanup();
  });
});
