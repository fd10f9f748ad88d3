// `tailseal requeue [SINK]`: re-queues objects parked after a permanent error or a conflict, once
// the cause is fixed. The running daemon notices within a second and delivers them again.
import { loadConfig } from '../config/load.js';
import { TailsealError } from '../errors.js';
import { openDatabase, stateDbPath } from '../store/db.js';
import { StateStore } from '../store/state.js';
import { EXIT_OK } from './exit.js';

export function requeueCommand(sink: string | undefined, o: { config: string }): number {
  const config = loadConfig(o.config);
  if (sink !== undefined && !config.sinks.some((s) => s.name === sink))
    throw new TailsealError('USAGE', `${o.config} has no sink named ${sink}`);
  const store = new StateStore(openDatabase(stateDbPath(config)));
  try {
    const n = store.outbox.unpark(sink);
    process.stdout.write(`re-queued ${n} parked object(s)${sink ? ` for sink ${sink}` : ''}\n`);
    return EXIT_OK;
  } finally {
    store.close();
  }
}
