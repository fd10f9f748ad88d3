// `tailseal monitor`: the fleet monitor, until SIGTERM/SIGINT (the pass in progress is finished,
// then exit 0). A config or key that cannot be used is refused at start with exit 2.
import { TailsealError, errorMessage } from '../errors.js';
import { createLogger } from '../log.js';
import { MonitorMetrics } from '../metrics/monitor.js';
import { StatusServer } from '../metrics/server.js';
import { loadMonitorConfig, matchesOrigin } from '../monitor/config.js';
import type { MonitoredStore } from '../monitor/pass.js';
import { MonitorService } from '../monitor/service.js';
import { Shard, parseShard } from '../monitor/shard.js';
import { WitnessStep } from '../monitor/witness.js';
import { SUBMITTED } from '../monitor/add-checkpoint.js';
import { WitnessServer } from '../monitor/witness-server.js';
import { loadVerifierKeys, loadWitnessSignerKey } from '../seal/keyfile.js';
import { MonitorState } from '../store/monitor-state.js';
import { parseListen } from '../common/units.js';
import type { NoteVerifier } from '../trail/keys.js';
import { DEFAULT_MAX_OBJECT_BYTES } from '../trail/object.js';
import { EXIT_OK } from './exit.js';
import { readerFor } from './verify.js';
import { witnessWriter } from './witness-store.js';

/** Runs the monitor; resolves with the exit code once it has stopped. */
export async function monitorCommand(o: { config: string; shard?: string }): Promise<number> {
  const config = loadMonitorConfig(o.config);
  const shardText = o.shard ?? config.shard;
  const shard =
    shardText === undefined
      ? undefined
      : new Shard(parseShard(shardText, o.shard !== undefined ? '--shard' : `${o.config}: shard`));
  const log = createLogger(config.log.level).child({ component: 'monitor' });
  const keys = config.keys.map((k, i) => {
    try {
      return { match: k.match, verifiers: loadVerifierKeys(k.files) };
    } catch (err) {
      throw new TailsealError('KEY_INVALID', `${o.config}: keys[${i}].files: ${errorMessage(err)}`, { cause: err });
    }
  });
  const keysFor = (origin: string): NoteVerifier[] =>
    keys.filter((k) => matchesOrigin(k.match, origin)).flatMap((k) => k.verifiers);
  const maxSilenceFor = (origin: string): number =>
    config.max_silence.origins.find((m) => matchesOrigin(m.match, origin))?.after ?? config.max_silence.default;
  const minRetentionFor = (origin: string): number | undefined =>
    config.min_retention.origins.find((m) => matchesOrigin(m.match, origin))?.at_least ?? config.min_retention.default;
  const w = config.witness;
  let signer;
  try {
    signer = w && loadWitnessSignerKey(w.key_file);
  } catch (err) {
    throw new TailsealError('KEY_INVALID', `${o.config}: witness.key_file: ${errorMessage(err)}`, { cause: err });
  }
  const opened = config.stores.map((s) => ({
    name: s.name,
    ...readerFor({
      store: s.store,
      pathStyle: s.path_style,
      ...(s.endpoint ? { endpoint: s.endpoint } : {}),
      ...(s.region ? { region: s.region } : {}),
    }),
  }));
  const stores: MonitoredStore[] = opened.map((s) => ({ name: s.name, reader: () => s.reader }));
  const state = MonitorState.open(config.state_dir);

  let stopping: Promise<void> | null = null;
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((r) => (resolveStopped = r));
  // Bound below; the metrics read it only when scraped, after the server starts.
  let service: MonitorService | null = null;
  const onSignal = (sig: NodeJS.Signals) => {
    if (stopping) return;
    log.info({ signal: sig }, 'Stopping: finishing the pass in progress.');
    stopping = (service?.stop() ?? Promise.resolve()).then(resolveStopped);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  const metrics = new MonitorMetrics({ origins: () => service!.origins(), problems: () => service!.problems() });
  metrics.shard(shard?.spec ?? { index: 0, count: 1 });
  const writer =
    w &&
    witnessWriter(
      {
        pathStyle: w.path_style,
        ...(w.endpoint ? { endpoint: w.endpoint } : {}),
        ...(w.region ? { region: w.region } : {}),
      },
      w.store,
    );
  const witness =
    signer &&
    writer &&
    new WitnessStep({
      state,
      signer,
      writer,
      minIntervalFor: (origin) => w.min_interval ?? maxSilenceFor(origin) / 2,
      now: Date.now,
      log: log.child({ witness: signer.verifierKey }),
      onPublished: (store, origin) => metrics.cosigned(store, origin),
    });
  service = new MonitorService(
    {
      stores,
      state,
      keysFor,
      maxSilenceFor,
      minRetentionFor,
      fullEveryMs: config.full_pass_every,
      now: Date.now,
      maxObjectBytes: DEFAULT_MAX_OBJECT_BYTES,
      concurrency: config.concurrency,
      onActive: (n) => metrics.active(n),
      ...(shard ? { shard } : {}),
    },
    config.interval,
    log,
    metrics,
    witness ? (v) => witness.run(v) : undefined,
    witness ? () => witness.cosigned() : undefined,
  );
  const submissions =
    signer && writer && w.listen
      ? new WitnessServer(
          parseListen(w.listen),
          {
            state,
            signer,
            writer,
            keysFor,
            now: Date.now,
            log: log.child({ witness: signer.verifierKey }),
            onPublished: (origin) => metrics.cosigned(SUBMITTED, origin),
          },
          log,
        )
      : undefined;
  const svc = service;
  const server = new StatusServer(parseListen(config.metrics.listen), metrics, () => ({}), log, {
    '/status': () => {
      const doc = svc.status();
      return { status: 200, type: 'application/json', body: `${JSON.stringify(doc, null, 2)}\n` };
    },
  });
  try {
    await server.start();
    await submissions?.start();
  } catch (err) {
    await server.close();
    state.close();
    throw err;
  }
  log.info(
    {
      stores: config.stores.map((s) => s.name),
      interval_ms: config.interval,
      full_pass_every_ms: config.full_pass_every,
      concurrency: config.concurrency,
      ...(shard ? { shard: shard.toString() } : {}),
      ...(signer && w ? { witness: signer.verifierKey, witness_store: w.store } : {}),
      ...(submissions ? { witness_listen: `${w!.listen!.replace(/:\d+$/, '')}:${submissions.port}` } : {}),
    },
    'Fleet monitor started.',
  );
  if (!stopping) service.start();
  await stopped;
  await server.close();
  await submissions?.close();
  await Promise.all([...opened.map((s) => s.close()), writer?.close()]);
  state.close();
  log.info('Fleet monitor stopped.');
  return EXIT_OK;
}
