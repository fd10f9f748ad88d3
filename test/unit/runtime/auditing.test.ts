// Which sinks the daemon's audit reads back, and how far: only sinks that can read back (file, s3),
// narrowed by audit.sinks, each up to what it is known to hold.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Config } from '../../../src/config/schema.js';
import { createLogger } from '../../../src/log.js';
import { Auditing } from '../../../src/runtime/auditing.js';
import type { Sink } from '../../../src/sinks/sink.js';
import type { NoteSigner } from '../../../src/trail/keys.js';

function sink(name: string, readable: boolean): Sink {
  const s: Sink = {
    name,
    type: readable ? 'file' : 'http',
    start: async () => undefined,
    put: async () => 'stored',
    close: async () => undefined,
  };
  return readable
    ? Object.assign(s, { reader: () => ({ list: async () => [], read: async () => new Uint8Array() }) })
    : s;
}

function auditing(only?: string[]): Auditing {
  const config = { origin: 'o.example', audit: { interval: 0, full_interval: 0, ...(only ? { sinks: only } : {}) } };
  return new Auditing({
    config: () => config as unknown as Config,
    signer: () => ({}) as NoteSigner,
    sinks: new Map([
      ['web', { sink: sink('web', false) }],
      ['disk', { sink: sink('disk', true) }],
      ['bucket', { sink: sink('bucket', true) }],
    ]),
    heads: new Map([
      ['opa', { checkpointedSize: 10 }],
      ['app', { checkpointedSize: 7 }],
    ]),
    outbox: { unackedStarts: (s) => new Map(s === 'disk' ? [['opa', 4]] : []) },
    report: () => undefined,
    log: createLogger('silent'),
  });
}

describe('the daemon audit', () => {
  it('audits only the sinks that can read back, of audit.sinks when set', () => {
    assert.deepEqual(
      auditing()
        .targets()
        .map((t) => t.name),
      ['disk', 'bucket'],
    );
    assert.deepEqual(
      auditing(['bucket', 'web'])
        .targets()
        .map((t) => t.name),
      ['bucket'],
    );
  });

  it('reads each sink up to its first unacknowledged object, else the last checkpoint', () => {
    const [disk, bucket] = auditing().targets();
    assert.deepEqual(
      disk!.upTo(),
      new Map([
        ['o.example/opa', 4],
        ['o.example/app', 7],
      ]),
    );
    assert.deepEqual(
      bucket!.upTo(),
      new Map([
        ['o.example/opa', 10],
        ['o.example/app', 7],
      ]),
    );
  });
});
