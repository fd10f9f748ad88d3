// Reload (SIGHUP): applies a new, validated config to the running topology without losing state,
// or refuses it and changes nothing. Reloads run one at a time.
import { type NamedDiff, diffNamed, reloadProblems } from '../config/diff.js';
import type { Config, InputConfig, SinkConfig } from '../config/schema.js';
import { TailsealError, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { NoteSigner } from '../trail/keys.js';
import type { Sink } from '../sinks/sink.js';
import type { Source } from '../sources/source.js';
import type { Committer } from './committer.js';
import type { StatusListener } from './health.js';
import type { Topology } from './topology.js';
import { releases } from '../sources/capabilities.js';

export interface ReloadDeps {
  /** The config in force. */
  config: () => Config;
  topology: Topology;
  status: StatusListener;
  /** Its mask rules per input, and the backpressure to re-check. */
  committer: Pick<Committer, 'setMask' | 'onAck'>;
  /** A source for `input` (not started), its stream's head loaded. */
  createSource: (input: InputConfig) => Source;
  /** Puts `next` in force for everything but the topology (checkpoint policy, signer, timers, audit). */
  apply: (next: Config, signer: NoteSigner) => Promise<void>;
  /** The daemon's logger. */
  log: Logger;
}

export interface ReloadResult {
  inputs: NamedDiff<InputConfig>;
  sinks: NamedDiff<SinkConfig>;
}

export class Reloader {
  private reloading: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: ReloadDeps) {}

  /** Resolves once no reload runs (one that fails settles too). */
  idle(): Promise<unknown> {
    return this.reloading;
  }

  /**
   * SIGHUP: applies `next` (already validated) without losing state, or throws CONFIG_INVALID
   * and changes nothing when it asks for what only a restart can do, or a new sink or metrics
   * listener cannot start. Sinks first, so every
   * object has its sinks before new inputs add objects; then inputs: a removed or changed
   * input's source is released (files the new config no longer covers are read to their end
   * or their unread bytes sealed as a gap record, per `unmatched`) and closed before its
   * successor starts, so no file is read by two sources. Offsets, heads, the outbox and sink
   * cursors live in the state database and carry over. A failure after that point leaves every
   * input that is not running on /readyz (inputErrors).
   */
  reload(next: Config, signer: NoteSigner): Promise<ReloadResult> {
    const run = () => this.run(next, signer);
    const result = this.reloading.then(run, run);
    this.reloading = result.catch(() => undefined);
    return result;
  }

  private async run(next: Config, signer: NoteSigner): Promise<ReloadResult> {
    const { topology } = this.deps;
    const before = this.deps.config();
    const problems = reloadProblems(before, next);
    if (problems.length > 0) throw new TailsealError('CONFIG_INVALID', problems.join('\n'));
    const sinks = diffNamed(before.sinks, next.sinks);
    // An input whose start failed at an earlier reload is not running: it counts as new again.
    const inputs = diffNamed(
      before.inputs.filter((i) => !topology.inputErrors.has(i.name)),
      next.inputs,
    );
    // New and changed sinks are built and started first: one that is misconfigured (no
    // Object Lock, unwritable directory) stops the reload before anything running changed.
    const built = new Map<string, { sink: Sink; started: boolean }>();
    try {
      for (const sc of [...sinks.added, ...sinks.changed]) {
        const sink = await topology.createSink(sc);
        built.set(sc.name, { sink, started: false });
        built.get(sc.name)!.started = await topology.tryStart(sc, sink);
      }
      await this.deps.status.move(before.metrics, next.metrics);
    } catch (err) {
      for (const b of built.values()) await b.sink.close();
      throw err;
    }
    let failed: string[];
    try {
      failed = await this.apply(before, next, signer, sinks, inputs, built);
    } catch (err) {
      // Failed half-way: every configured input that is not running now says so on /readyz
      // (and counts as new at the next reload, which starts it), never a silent "ok".
      const why = `the reload failed half-way (${errorMessage(err)}); fix the cause and reload again`;
      for (const i of [...before.inputs, ...next.inputs]) {
        if (!topology.sources.has(i.name)) topology.inputErrors.set(i.name, why);
      }
      throw err;
    }
    if (failed.length > 0) {
      const what = `${failed.length === 1 ? 'an input' : 'inputs'} could not start: ${failed.join('; ')}`;
      throw new TailsealError('CONFIG_INVALID', `reload applied, but ${what}; fix the config and reload again`);
    }
    return { inputs, sinks };
  }

  /** The reload past its checks: swaps sinks, then inputs (see reload). Returns the inputs that could not start. */
  private async apply(
    before: Config,
    next: Config,
    signer: NoteSigner,
    sinks: NamedDiff<SinkConfig>,
    inputs: NamedDiff<InputConfig>,
    built: Map<string, { sink: Sink; started: boolean }>,
  ): Promise<string[]> {
    const { topology, committer } = this.deps;
    for (const sc of [...sinks.removed, ...sinks.changed]) await topology.stopSink(sc.name);
    for (const sc of sinks.removed) topology.sinkNames.splice(topology.sinkNames.indexOf(sc.name), 1);
    for (const sc of [...sinks.added, ...sinks.changed]) {
      const b = built.get(sc.name)!;
      await topology.startSink(sc, b.sink, b.started);
    }
    for (const ic of [...inputs.removed, ...inputs.changed]) {
      const src = topology.sources.get(ic.name);
      if (!src) continue;
      const successor = next.inputs.find((i) => i.name === ic.name);
      // A source is released with its own kind's config only (Releaser): another kind replaces it.
      const kind = before.inputs.find((i) => i.name === ic.name)?.type;
      if (releases<InputConfig>(src)) await src.release(successor?.type === kind ? successor : undefined);
      await src.close();
      topology.sources.delete(ic.name);
      committer.setMask(ic.name, undefined);
    }
    await this.deps.apply(next, signer);
    // pino's child loggers keep the level they were made with: a new level needs a restart.
    if (next.log.level !== before.log.level) {
      const levels = { level: before.log.level, requested: next.log.level };
      this.deps.log.warn(levels, 'log.level changes take effect at the next restart.');
    }
    for (const ic of inputs.removed) topology.inputErrors.delete(ic.name);
    // An input that had failed to start is not in the diff above: forget it once it is gone from the file.
    for (const name of [...topology.inputErrors.keys()]) {
      if (!next.inputs.some((i) => i.name === name)) topology.inputErrors.delete(name);
    }
    const failed: string[] = [];
    for (const ic of [...inputs.added, ...inputs.changed]) {
      if (ic.mask) committer.setMask(ic.name, ic.mask);
      const src = this.deps.createSource(ic);
      try {
        await src.start();
        topology.sources.set(ic.name, src);
        topology.inputErrors.delete(ic.name);
      } catch (err) {
        // Not running (e.g. its listen port is taken): /readyz says so, the next reload retries
        // it, and the other inputs start. Its files and offsets wait in the state database.
        await src.close().catch(() => undefined);
        topology.inputErrors.set(ic.name, errorMessage(err));
        failed.push(`input ${ic.name}: ${errorMessage(err)}`);
      }
    }
    committer.onAck();
    return failed;
  }
}
