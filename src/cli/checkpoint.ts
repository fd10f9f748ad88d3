// `tailseal checkpoint`: prints the newest signed checkpoint of a stream from the state
// database (readable while the daemon runs). Save it where the store's writer cannot reach it
// and pass it to `verify --latest` to prove the trail's tail was not removed.
import { loadConfig } from '../config/load.js';
import { TailsealError } from '../errors.js';
import { openDatabase, stateDbPath } from '../store/db.js';
import { StateStore } from '../store/state.js';
import { EXIT_OK } from './exit.js';

export function checkpointCommand(o: { config: string; stream?: string }): number {
  const config = loadConfig(o.config);
  const store = new StateStore(openDatabase(stateDbPath(config), { readonly: true }));
  try {
    const streams = store.streams
      .listStreams()
      .filter((s) => s.lastNote !== null && (o.stream === undefined || s.name === o.stream));
    if (streams.length === 0)
      throw new TailsealError(
        'USAGE',
        `no signed checkpoint${o.stream ? ` for stream ${o.stream}` : ''} in ${stateDbPath(config)} yet`,
      );
    if (streams.length > 1)
      throw new TailsealError(
        'USAGE',
        `several streams (${streams.map((s) => s.name).join(', ')}); choose one with --stream`,
      );
    process.stdout.write(streams[0]!.lastNote!);
    return EXIT_OK;
  } finally {
    store.close();
  }
}
