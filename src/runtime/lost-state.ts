// Opening the state database, and a lost one (docs/operations.md "Lost state"): at start, decide
// from the trail a readable sink holds whether this is a first start or a loss, and under
// `recovery.on_state_loss` refuse or continue each stream's verified chain, placing files and
// sealing a state_reset record.
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { TailsealError, errorMessage, isTailsealError } from '../errors.js';
import type { NoteVerifier } from '../trail/keys.js';
import { type Sink, readsBack } from '../sinks/sink.js';
import { type FilePlacement, placesAfterStateLoss } from '../sources/capabilities.js';
import type { BatchConsumer, Source, SourceRecord } from '../sources/source.js';
import { type StateLoss, moveStateAside, openDatabase, probeState, stateDbPath } from '../store/db.js';
import { preparePrivateDir } from '../store/private.js';
import { type StreamTail, readStreamTails, stateLostError } from '../store/recovery.js';
import { StateStore } from '../store/state.js';
import { objectReadLimit } from './read-limits.js';
import { tamperedError } from '../trail/tampering.js';
import { storeTampering } from '../trail/verify-trail.js';

/** The state database, opened, and why it held no sealed state (null: it did). */
export interface OpenedState {
  store: StateStore;
  loss: StateLoss | null;
}

/**
 * Opens the daemon's state database in state_dir (made private first): a corrupt one is refused
 * or moved aside (see checkState), a missing or empty one is noted as `loss` for the daemon's
 * start-up to tell a first start from a lost state.
 */
export function openState(config: Config, log: Logger): OpenedState {
  const loose = preparePrivateDir(config.state_dir);
  if (loose) log.warn({ state_dir: config.state_dir }, `${loose}.`);
  const loss = checkState(stateDbPath(config), config.recovery.on_state_loss, log);
  const daemonLog = log.child({ component: 'daemon' });
  const store = new StateStore(openDatabase(stateDbPath(config)), (file, err) =>
    daemonLog.warn(
      { file, err: errorMessage(err) },
      'Could not delete an acknowledged outbox segment; its disk space stays taken until the next start, which ' +
        'deletes it.',
    ),
  );
  return { store, loss };
}

/**
 * Whether the state database at `file` holds sealed state (null) or why not. A corrupt one is
 * refused under `refuse`, else moved aside (kept, never deleted) so a new one can be made.
 */
export function checkState(file: string, policy: Config['recovery']['on_state_loss'], log: Logger): StateLoss | null {
  const loss = probeState(file);
  if (loss?.cause !== 'corrupt') return loss;
  if (policy === 'refuse') {
    throw new TailsealError(
      'STATE_CORRUPT',
      `${loss.detail}. Restore the state directory from a backup, or set ` +
        'recovery.on_state_loss to chain_tail or end_of_files to move it aside and continue the chain from the trail ' +
        'a sink holds (docs/operations.md "Lost state").',
    );
  }
  const suffix = moveStateAside(file);
  log.error(
    { file, moved_to: `${file}${suffix}`, err: loss.detail },
    'State database is corrupt; moved it aside to rebuild the state from the trail.',
  );
  return loss;
}

/** The streams continued from a trail, and the sink it was read from. */
export interface ContinuedChains {
  tails: Map<string, StreamTail>;
  fromSink: string | null;
}

/**
 * The state database holds nothing sealed. If a readable sink (file, s3) holds this daemon's
 * trail, the state was lost: under `refuse` start-up stops (new chains would fork the trail);
 * otherwise each stream continues from its verified tail. No trail there means a first start
 * (with only http/opa sinks, which cannot be read back, every start without state is one).
 */
export async function continueLostChains(
  loss: StateLoss,
  d: { config: Config; log: Logger; store: StateStore; sinks: Sink[]; trustedKeys: NoteVerifier[] },
): Promise<ContinuedChains> {
  const { config, log } = d;
  const want = config.recovery.sink;
  const from = d.sinks.filter(readsBack).find((s) => want === undefined || s.name === want);
  if (!from) {
    if (loss.cause !== 'missing')
      log.warn(
        { cause: loss.cause, err: loss.detail },
        'No usable state database and no file or s3 sink to read the trail back from: starting new chains.',
      );
    return { tails: new Map(), fromSink: null };
  }
  const streams = [...new Set(config.inputs.map((i) => i.stream ?? i.name))];
  let tails: Map<string, StreamTail>;
  const reader = from.reader();
  try {
    tails = await readStreamTails(reader, config.origin, streams, d.trustedKeys, objectReadLimit(config));
  } catch (err) {
    // Without the trail there is no telling a first start from a lost state: never guess.
    const code = isTailsealError(err) ? err.code : 'STATE_UNAVAILABLE';
    throw new TailsealError(
      code,
      `the state database holds no state (${loss.detail}) and the trail in sink ${from.name} cannot be read back ` +
        `to tell a first start from a lost state: ${errorMessage(err)}`,
      { cause: err },
    );
  }
  // The tails are read from the original (oldest) versions; what was written over them is said, not followed.
  const tampering = storeTampering(reader);
  if (tampering.length > 0) {
    const err = tamperedError(tampering);
    log.error(
      { sink: from.name, code: err.code, err: err.message, ...err.details },
      'The sink holds later versions or delete markers over stored objects: the chain continues from the originals.',
    );
  }
  if (tails.size === 0) {
    log.info({ sink: from.name }, 'No state database and no trail in the sink: starting new chains.');
    return { tails, fromSink: from.name };
  }
  const policy = config.recovery.on_state_loss;
  if (policy === 'refuse') throw stateLostError(loss.detail, from.name, tails);
  for (const [stream, t] of tails) {
    d.store.streams.restoreStream(stream, {
      size: t.size,
      chainHead: t.chainHead,
      edge: t.edge,
      note: t.note,
      signedAt: t.newestCheckpointTime,
    });
    log.warn(
      { stream, size: t.size, sink: from.name, policy, cause: loss.cause },
      'State database was lost; continuing the chain from the verified trail.',
    );
  }
  return { tails, fromSink: from.name };
}

/**
 * After continueLostChains: each file source registers where it resumes, and each continued
 * stream gets one `state_reset` gap record saying what was lost and what was decided, sealed
 * before anything read under the new state.
 */
export async function sealStateResets(
  loss: StateLoss,
  chains: ContinuedChains,
  d: { config: Config; log: Logger; sources: ReadonlyMap<string, Source>; consumer: BatchConsumer },
): Promise<void> {
  const { config, log } = d;
  const policy = config.recovery.on_state_loss as 'chain_tail' | 'end_of_files';
  const placements = new Map<string, FilePlacement[]>();
  for (const input of config.inputs) {
    const src = d.sources.get(input.name);
    if (!src || !placesAfterStateLoss(src)) continue;
    const stream = input.stream ?? input.name;
    const placed = await src.placeAfterStateLoss(policy, {
      lastDecision: chains.tails.get(stream)?.lastDecision ?? new Map(),
    });
    placements.set(stream, [...(placements.get(stream) ?? []), ...placed]);
    for (const p of placed)
      log.warn(
        { input: input.name, ...p },
        p.action === 'resumed'
          ? 'Resuming file after the last line the trail holds.'
          : p.action === 'from_start'
            ? 'File position not found in the trail; reading it from the start (lines may be sealed again).'
            : 'Skipping what the file holds now (end_of_files).',
      );
  }
  for (const [stream, tail] of chains.tails) {
    const payload = {
      reason: 'state_reset',
      cause: loss.cause,
      policy,
      from_sink: chains.fromSink,
      trail_size: tail.size,
      files: placements.get(stream) ?? [],
    };
    const record: SourceRecord = {
      kind: 'gap',
      source: 'tailseal/state',
      offset: 0,
      payload: Buffer.from(JSON.stringify(payload)),
    };
    if (!d.consumer.commit({ input: '', stream, records: [record], counters: { gap_state_reset: 1 } }))
      throw new TailsealError('STATE_UNAVAILABLE', 'could not seal the state-reset record');
  }
}
