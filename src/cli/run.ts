// `tailseal run`: the daemon, until SIGTERM/SIGINT.
import { existsSync } from 'node:fs';
import { loadConfiguredSigner, loadConfiguredVerifiers, writeKeyPair } from '../seal/keyfile.js';
import { loadConfig } from '../config/load.js';
import { Daemon } from '../runtime/daemon.js';
import { openState } from '../runtime/lost-state.js';
import { errorMessage } from '../errors.js';
import { createLogger } from '../log.js';
import { EXIT_FAILURE, EXIT_OK } from './exit.js';

export interface RunOptions {
  config: string;
  initKey?: boolean;
}

/** Starts the daemon; resolves with the exit code once it has stopped. */
export async function run(opts: RunOptions): Promise<number> {
  const config = loadConfig(opts.config);
  const log = createLogger(config.log.level);
  const keyFile = config.signing.key_file;
  if (opts.initKey && keyFile !== undefined && !existsSync(keyFile)) {
    const vkey = writeKeyPair(keyFile, config.origin);
    log.info(
      { key_file: keyFile, verifier_key: vkey },
      'Created a new signing key (--init-key). Keep the .pub file for `tailseal verify`.',
    );
  }
  const signer = loadConfiguredSigner(config.signing);
  loadConfiguredVerifiers(config.signing);
  log.info({ key: signer.verifierKey }, 'Signing checkpoints with this key.');
  // Signal handlers go in before anything starts, so a SIGTERM during start-up still stops
  // the daemon cleanly once it is up.
  let stopRequested: NodeJS.Signals | null = null;
  let onStop: ((sig: NodeJS.Signals) => void) | null = null;
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      // SQLite commits are atomic, so exiting here leaves consistent state.
      log.warn({ signal: sig }, 'Second signal: exiting now; unshipped objects stay in the outbox.');
      process.exit(EXIT_OK);
    }
    stopRequested = sig;
    onStop?.(sig);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // A bug must not pass silently: log it as JSON and exit non-zero. State stays consistent
  // (SQLite), so a supervisor's restart resumes where the trail ends.
  process.on('unhandledRejection', (err) => {
    log.fatal({ err: errorMessage(err), stack: (err as Error)?.stack }, 'Unhandled error; exiting.');
    process.exit(EXIT_FAILURE);
  });
  let daemon: Daemon | undefined;
  process.on('SIGHUP', () =>
    daemon ? reload(daemon) : log.warn('Reload ignored: tailseal is still starting; send SIGHUP again once it runs.'),
  );
  try {
    daemon = await Daemon.start({ config, log, signer, state: openState(config, log) });
  } catch (err) {
    log.fatal({ err: errorMessage(err), code: (err as { code?: string }).code }, 'tailseal failed to start.');
    throw err;
  }
  // SIGHUP reloads the config file; a config that does not load (or asks for what only a restart
  // can do) is refused with an error log and the running config stays in force.
  const reload = (daemon: Daemon) => {
    if (stopRequested) return;
    let next;
    let nextSigner;
    try {
      next = loadConfig(opts.config);
      nextSigner = loadConfiguredSigner(next.signing);
      loadConfiguredVerifiers(next.signing);
    } catch (err) {
      log.error(
        { err: errorMessage(err), code: (err as { code?: string }).code, config: opts.config },
        'Reload refused: the new config is invalid; the running config stays in force.',
      );
      return;
    }
    daemon.reload(next, nextSigner).then(
      (d) => {
        const names = (xs: { name: string }[]) => xs.map((x) => x.name);
        log.info(
          {
            config: opts.config,
            inputs: {
              added: names(d.inputs.added),
              removed: names(d.inputs.removed),
              changed: names(d.inputs.changed),
            },
            sinks: { added: names(d.sinks.added), removed: names(d.sinks.removed), changed: names(d.sinks.changed) },
          },
          'Config reloaded.',
        );
      },
      (err: unknown) =>
        log.error(
          { err: errorMessage(err), code: (err as { code?: string }).code, config: opts.config },
          'Reload failed; see the error. Units that were not changed keep running.',
        ),
    );
  };
  return new Promise<number>((resolve) => {
    onStop = (sig) => {
      log.info({ signal: sig, grace_ms: config.shutdown.grace }, 'Stopping: draining the outbox.');
      daemon.stop().then(
        () => resolve(EXIT_OK),
        (err) => {
          log.error({ err: errorMessage(err) }, 'Stop failed.');
          resolve(EXIT_FAILURE);
        },
      );
    };
    if (stopRequested) onStop(stopRequested);
  });
}
