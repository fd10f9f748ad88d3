// Lost-state recovery reads the trail back only from a sink that can read back (ReadableSink): an
// http or opa sink is never offered, whatever its place in the config.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Config } from '../../../src/config/schema.js';
import { createLogger } from '../../../src/log.js';
import { continueLostChains } from '../../../src/runtime/lost-state.js';
import { fileStoreReader } from '../../../src/sinks/file/reader.js';
import { type ReadableSink, type Sink, readsBack } from '../../../src/sinks/sink.js';
import type { StateStore } from '../../../src/store/state.js';

/** A sink that only writes (as http and opa are): no reader. */
function writeOnly(name: string): Sink {
  return { name, type: 'http', start: async () => undefined, put: async () => 'stored', close: async () => undefined };
}

function readable(name: string, dir: string): Sink & ReadableSink {
  return { ...writeOnly(name), type: 'file', reader: () => fileStoreReader(dir) };
}

function config(sink?: string): Config {
  return {
    origin: 'test.example/tailseal',
    inputs: [],
    checkpoint: { max_bytes: 1 << 20 },
    recovery: { on_state_loss: 'refuse', ...(sink === undefined ? {} : { sink }) },
  } as unknown as Config;
}

describe('lost-state recovery', () => {
  const loss = { cause: 'empty' as const, detail: 'state.db is empty (0 bytes)' };
  const d = { log: createLogger('silent'), store: {} as StateStore, trustedKeys: [] };

  it('reads back from the first readable sink, passing over one that cannot read back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tailseal-lost-'));
    try {
      const sinks = [writeOnly('web'), readable('disk', dir)];
      assert.deepEqual(
        sinks.map((s) => readsBack(s)),
        [false, true],
      );
      const got = await continueLostChains(loss, { ...d, config: config(), sinks });
      assert.equal(got.fromSink, 'disk');
      assert.equal(got.tails.size, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('starts new chains when recovery.sink names a sink that cannot read back', async () => {
    const got = await continueLostChains(loss, { ...d, config: config('web'), sinks: [writeOnly('web')] });
    assert.deepEqual(got, { tails: new Map(), fromSink: null });
  });
});
