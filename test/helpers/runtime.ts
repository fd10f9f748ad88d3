// The runtime's commit path in process, for unit tests: a real StateStore on a temp dir, the
// Checkpointer and Committer wired as the daemon wires them, and fakes counting what they ask of
// the rest (sources woken, shippers notified, batches counted).
import Database from 'better-sqlite3';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { createLogger } from '../../src/log.js';
import { Quarantine } from '../../src/mask/quarantine.js';
import { generateKeyPair, parseSignerKey } from '../../src/trail/keys.js';
import { Checkpointer } from '../../src/runtime/checkpointer.js';
import { Committer } from '../../src/runtime/committer.js';
import type { SourceBatch, SourceRecord } from '../../src/sources/source.js';
import { openDatabase } from '../../src/store/db.js';
import { StateStore } from '../../src/store/state.js';
import { tempDir } from './trail.js';

export const ORIGIN = 'tailseal.test/runtime';

export interface Rig {
  dir: string;
  config: Config;
  db: Database.Database;
  store: StateStore;
  checkpointer: Checkpointer;
  committer: Committer;
  /** How often the committer woke the sources, and the checkpointer or committer notified the shippers. */
  calls: {
    wake: number;
    notify: number;
    committed: { input: string; stream: string; counters: Record<string, number> }[];
  };
  /** Every object in the outbox, oldest first, with its entry lines parsed. */
  objects(): { firstSeq: number; size: number; entries: Record<string, unknown>[] }[];
  /** Makes the next statements that update `table` fail inside their transaction (until `heal`). */
  failUpdates(table: 'files' | 'streams'): void;
  heal(): void;
  close(): void;
}

/** `raw` is merged over a minimal config (one file input "opa", one file sink). */
export function rig(raw: Record<string, unknown> = {}): Rig {
  const dir = tempDir('tailseal-runtime-');
  const config = parseConfig(
    {
      state_dir: dir,
      origin: ORIGIN,
      signing: { key_file: join(dir, 'key') },
      inputs: [{ name: 'opa', type: 'file', paths: [join(dir, '*.log')] }],
      sinks: [{ name: 'local', type: 'file', dir: join(dir, 'store') }],
      ...raw,
    },
    'x.yaml',
    {},
  );
  const signer = parseSignerKey(generateKeyPair(ORIGIN, new Uint8Array(32).fill(3)).signerKey);
  const db = openDatabase(join(dir, 'tailseal.db'));
  const store = new StateStore(db);
  const log = createLogger('silent');
  const calls: Rig['calls'] = { wake: 0, notify: 0, committed: [] };
  const checkpointer: Checkpointer = new Checkpointer(
    { store, log, notify: () => calls.notify++, busy: (s): boolean => committer.sealing(s) },
    config,
    signer,
  );
  const committer: Committer = new Committer(
    {
      store,
      checkpointer,
      log,
      quarantine: new Quarantine(join(dir, 'quarantine')),
      committed: (input, stream, counters) => calls.committed.push({ input, stream, counters }),
      wake: () => calls.wake++,
      notify: () => calls.notify++,
    },
    config.outbox,
  );
  for (const input of config.inputs) if (input.mask) committer.setMask(input.name, input.mask);
  return {
    dir,
    config,
    db,
    store,
    checkpointer,
    committer,
    calls,
    objects() {
      const out = [];
      for (let o = store.outbox.nextObject(0); o; o = store.outbox.nextObject(o.id)) {
        const text = Buffer.concat(store.outbox.objectLines(o)).toString('utf8');
        const entries =
          text === ''
            ? []
            : text
                .trimEnd()
                .split('\n')
                .map((l) => JSON.parse(l) as Record<string, unknown>);
        out.push({ firstSeq: o.firstSeq, size: o.size, entries });
      }
      return out;
    },
    failUpdates(table) {
      db.exec(
        `CREATE TRIGGER injected_failure BEFORE UPDATE ON ${table} BEGIN SELECT RAISE(ABORT, 'injected failure'); END`,
      );
    },
    heal() {
      db.exec('DROP TRIGGER IF EXISTS injected_failure');
    },
    close() {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A decision record; its payload is the decision's JSON. */
export function decision(i: number, extra: Record<string, unknown> = {}, dedupeKey?: string): SourceRecord {
  const payload = Buffer.from(JSON.stringify({ decision_id: `d-${i}`, input: { i }, result: true, ...extra }));
  return {
    kind: 'decision',
    source: '/var/log/opa/opa.log',
    offset: i * 100,
    payload,
    ...(dedupeKey && { dedupeKey }),
  };
}

/** A batch of `records` from input "opa" into stream "opa". */
export function batch(records: SourceRecord[], more: Partial<SourceBatch> = {}): SourceBatch {
  return { input: 'opa', stream: 'opa', records, counters: { decisions: records.length }, ...more };
}
