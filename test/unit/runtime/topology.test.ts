// The topology's sinks per stream (config `streams`) over a real state store: two trail sinks, each
// taking one stream, started one after the other as the daemon does (every sink created and its
// streams declared first): each stores only its stream, also the first while the other has no
// shipper yet. (That a trail sink stores what no other will keep: test/unit/sinks/shipper.test.ts.)
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { SinkConfig } from '../../../src/config/schema.js';
import { createLogger } from '../../../src/log.js';
import { Topology } from '../../../src/runtime/topology.js';
import { sealRecords, signHead } from '../../../src/seal/sealer.js';
import type { PutResult, Sink, TrailObject } from '../../../src/sinks/sink.js';
import { openDatabase } from '../../../src/store/db.js';
import { StateStore } from '../../../src/store/state.js';
import { generateKeyPair, parseSignerKey } from '../../../src/trail/keys.js';
import { waitFor } from '../../helpers/daemon.js';

const signer = parseSignerKey(generateKeyPair('tailseal.test/topology', new Uint8Array(32).fill(5)).signerKey);
const log = createLogger('silent');

/** A file-type sink (it keeps the trail) that stores at once and remembers what it got. */
class RecordingSink implements Sink {
  readonly type = 'file';
  readonly got: number[] = [];
  constructor(readonly name: string) {}
  async start(): Promise<void> {}
  async close(): Promise<void> {}
  put(obj: TrailObject): Promise<PutResult> {
    this.got.push(obj.id);
    return Promise.resolve('stored');
  }
}

describe('topology: sinks per stream', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tailseal-topology-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('each trail sink stores only its stream, even while the other is still starting', async () => {
    const store = new StateStore(openDatabase(join(dir, 'state.db')));
    for (let i = 0; i < 6; i++) {
      const stream = i % 2 === 0 ? 'opa' : 'compliance';
      const head = store.streams.loadStream(stream);
      const sealed = sealRecords(head, [{ kind: 'decision', source: '/x', offset: i, payload: Buffer.from('{}') }], i);
      store.commitSealed({ stream: sealed.head, before: head.nextSeq, data: sealed.data });
      store.commitCheckpoint(stream, head.nextSeq, sealed.head.nextSeq, signHead('t', sealed.head, i, signer), i);
    }
    const sinks = { ops: new RecordingSink('ops'), pci: new RecordingSink('pci') };
    const topology = new Topology({
      registry: { createSource: () => assert.fail(), createSink: (sc) => Promise.resolve(sinks[sc.name as 'ops']) },
      store,
      log,
      stateDir: dir,
      daemonLog: log,
      onAck: () => undefined,
      observer: () => ({ delivered: () => undefined, failed: () => undefined, parked: () => undefined }),
    });
    const configs = [
      { name: 'ops', type: 'file', dir, streams: ['opa'] },
      { name: 'pci', type: 'file', dir, streams: ['compliance'] },
    ].map((c) => ({ ...c, gzip: false, retry: { baseMs: 1, maxMs: 5 }, in_flight: 1 }) as unknown as SinkConfig);
    for (const sc of configs) {
      topology.sinks.set(sc.name, { sink: await topology.createSink(sc) });
      topology.declareStreams(sc);
    }
    topology.sinkNames.push('ops', 'pci');
    try {
      await topology.startSink(configs[0]!, sinks.ops, true);
      await waitFor(() => store.outbox.cursor('ops') === 6, 'ops passed every object');
      assert.deepEqual(sinks.ops.got, [1, 3, 5], 'only the opa objects, though pci has not started');
      await topology.startSink(configs[1]!, sinks.pci, true);
      await waitFor(() => store.outbox.cursor('pci') === 6, 'pci passed every object');
      assert.deepEqual(sinks.pci.got, [2, 4, 6]);
    } finally {
      for (const name of ['ops', 'pci']) await topology.stopSink(name);
    }
    store.close();
  });
});
