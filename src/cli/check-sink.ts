// `tailseal check-sink NAME`: runs a sink's start-up checks (reachable, credentials accepted,
// Object Lock present when the config asks for it) without starting the daemon, so an
// operator learns before deploying what the daemon would refuse.
import { loadConfig } from '../config/load.js';
import { createSink } from '../runtime/registry.js';
import { TailsealError, errorMessage } from '../errors.js';
import { createLogger } from '../log.js';
import { EXIT_FAILURE, EXIT_OK } from './exit.js';

export async function checkSinkCommand(name: string, o: { config: string }): Promise<number> {
  const config = loadConfig(o.config);
  const sc = config.sinks.find((s) => s.name === name);
  if (!sc)
    throw new TailsealError(
      'USAGE',
      `${o.config} has no sink named ${name} (sinks: ${config.sinks.map((s) => s.name).join(', ')})`,
    );
  const sink = await createSink(sc, { log: createLogger(config.log.level), stateDir: config.state_dir });
  try {
    await sink.start();
    process.stdout.write(`OK sink ${name} (${sc.type}) is ready\n`);
    return EXIT_OK;
  } catch (err) {
    const code = err instanceof TailsealError ? err.code : 'SINK_RETRYABLE';
    process.stdout.write(`FAIL ${code}: ${errorMessage(err)}\n`);
    return EXIT_FAILURE;
  } finally {
    await sink.close();
  }
}
