// checkpoint.max_bytes bounds each object: with a long interval and a high entry count, objects
// are closed by size alone. The daemon runs in process here (Daemon.start), on real files.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadConfiguredSigner, writeKeyPair } from '../../src/seal/keyfile.js';
import { loadConfig } from '../../src/config/load.js';
import { Daemon } from '../../src/runtime/daemon.js';
import { openState } from '../../src/runtime/lost-state.js';
import { createLogger } from '../../src/log.js';
import { parseObject } from '../../src/seal/gzip.js';
import { freePort, makeWorkspace, receiversListening, startDaemon } from '../helpers/daemon.js';
import { stopDaemon, storedDecisions, verifyStore, waitFor } from '../helpers/daemon.js';
import { decisionLine, prng } from '../helpers/opa-sample.js';
import { event, upload } from '../helpers/opa-upload.js';

describe('object size bound', () => {
  const root = mkdtempSync(join(tmpdir(), 'tailseal-objsize-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  it('closes an object once max_bytes of entries are pending', async () => {
    mkdirSync(join(root, 'opa'));
    writeKeyPair(join(root, 'key'), 'tailseal.test/size');
    writeFileSync(
      join(root, 'c.yaml'),
      `state_dir: ${root}/state
origin: tailseal.test/size
signing: { key_file: ${root}/key }
inputs: [{ name: opa, type: file, paths: ["${root}/opa/*.log"], read_chunk_bytes: 4KiB, poll_interval: 20ms }]
checkpoint: { entries: 100000, max_bytes: 8KiB, interval: 1h, heartbeat: 1h }
sinks: [{ name: local, type: file, dir: ${root}/store }]
metrics: { listen: "127.0.0.1:0" }
`,
    );
    const rnd = prng(9);
    const lines = Array.from({ length: 200 }, (_, i) => decisionLine(i, rnd));
    writeFileSync(join(root, 'opa', 'opa.log'), lines.join('\n') + '\n');
    const config = loadConfig(join(root, 'c.yaml'));
    const log = createLogger('silent');
    const signer = loadConfiguredSigner(config.signing);
    const d = await Daemon.start({ config, log, signer, state: openState(config, log) });
    try {
      // All but the last object are closed by size; the last waits for the stop's final checkpoint.
      await waitFor(() => storedDecisions(join(root, 'store')).length >= 150, 'objects closed by size');
    } finally {
      await d.stop(5000);
    }
    const dir = join(root, 'store', 'opa');
    const objects = readdirSync(dir).filter((n) => !n.startsWith('heartbeat'));
    assert.ok(objects.length >= 10, `${objects.length} objects for ~130 KB of entries with max_bytes 8 KiB`);
    for (const name of objects)
      assert.ok(parseObject(readFileSync(join(dir, name))).entries.length > 0, `${name} holds entries`);
    const sizes = objects.map((n) => readFileSync(join(dir, n)).length);
    assert.ok(Math.max(...sizes) <= 8 * 1024 + 4 * 1024 * 2 + 2048, `largest object ${Math.max(...sizes)} bytes`);
    assert.equal(storedDecisions(join(root, 'store')).length, 200);
  });

  // Issue 16 item 12: with checkpoint.entries 250, a backlog read (1,008 lines at once) became one
  // object of 1,008 entries. Checkpoints now fall inside a batch, in the batch's one transaction.
  it('checkpoint.entries bounds every object, also when one read or one upload brings more', async () => {
    const port = await freePort();
    const w = makeWorkspace({
      inputsYaml: `  - name: opa
    type: file
    paths: ["${join(root, 'backlog', '*.log')}"]
  - name: upload
    type: opa_service
    listen: 127.0.0.1:${port}`,
    });
    const yaml = readFileSync(w.configFile, 'utf8');
    writeFileSync(w.configFile, yaml.replace('entries: 500\n  interval: 100ms', 'entries: 50\n  interval: 1h'));
    mkdirSync(join(root, 'backlog'));
    const rnd = prng(12);
    const backlog = Array.from({ length: 520 }, (_, i) => `${decisionLine(i, rnd)}\n`).join('');
    writeFileSync(join(root, 'backlog', 'opa.log'), backlog);
    const d = startDaemon(w);
    try {
      await receiversListening(d);
      const events = Array.from({ length: 130 }, (_, i) => event(`cut-${i}`));
      assert.equal((await upload(`http://127.0.0.1:${port}/logs`, events)).status, 200);
      await waitFor(() => storedDecisions(w.storeDir).length >= 500 + 100, 'the objects cut inside the batches');
    } finally {
      assert.equal(await stopDaemon(d), 0);
    }
    const sizes: Record<string, number[]> = {};
    for (const stream of ['opa', 'upload']) {
      const dir = join(w.storeDir, stream);
      const objects = readdirSync(dir)
        .filter((n) => !n.startsWith('heartbeat'))
        .sort();
      sizes[stream] = objects.map((n) => parseObject(readFileSync(join(dir, n))).entries.length);
    }
    assert.ok(
      Object.values(sizes)
        .flat()
        .every((n) => n <= 50),
      `entries per object: ${JSON.stringify(sizes)}`,
    );
    assert.equal(
      sizes.opa!.reduce((a, b) => a + b),
      520,
    );
    assert.equal(
      sizes.upload!.reduce((a, b) => a + b),
      130,
    );
    assert.equal(verifyStore(w).status, 0);
    w.cleanup();
  });
});
