// The monitor as a witness that logs submit to (config `witness.listen`): the add-checkpoint call of
// https://c2sp.org/tlog-witness. A daemon's `witness` sink POSTs each signed checkpoint with an
// RFC 6962 consistency proof from the size this witness cosigned last; the witness checks, in the
// spec's order, the log's signature (404 unknown origin, 403 no trusted signature), the sizes
// (400, 409 with its own size), the proof (422), then cosigns, records the cosignature in
// monitor.db (the same `cosigned` record the store-based witness step keeps, so the two never
// cosign inconsistent checkpoints of one origin) and answers with the cosignature line.
//
// Check and record are one synchronous step (no await between them), so two concurrent requests
// cannot both pass the old-size check (the race the spec describes). Every byte of a request is
// attacker-controlled: the body is bounded and parsed before anything is verified.
import { isTailsealError } from '../errors.js';
import type { Logger } from '../log.js';
import type { MonitorState } from '../store/monitor-state.js';
import { type WitnessSigner, cosign } from '../trail/cosignature.js';
import { EMPTY_ROOT, fromHex, toHex } from '../trail/hash.js';
import { type NoteVerifier, openNote } from '../trail/index.js';
import { parseCheckpoint } from '../trail/checkpoint.js';
import { verifyConsistency } from '../trail/merkle.js';
import { splitNote } from '../trail/note.js';
import { TLOG_SIZE_CONTENT_TYPE, formatTlogSize, parseAddCheckpoint } from '../trail/witness-protocol.js';
import { cosignedObjectName } from '../trail/witness-store.js';
import { compareBytes } from '../trail/envelope.js';
import type { WitnessWriter } from '../sinks/witness/writer.js';

/** The `store` of a cosigned record made for a submission (not for a checkpoint verified in a store). */
export const SUBMITTED = 'add-checkpoint';

export interface AddCheckpointDeps {
  state: MonitorState;
  signer: WitnessSigner;
  writer: WitnessWriter;
  keysFor(origin: string): NoteVerifier[];
  now(): number;
  log: Logger;
  onPublished?(origin: string): void;
}

export interface Answer {
  status: number;
  type: string;
  body: string;
}

const text = (status: number, body: string): Answer => ({ status, type: 'text/plain; charset=utf-8', body });

/** Answers one add-checkpoint request body. Never throws. */
export async function addCheckpoint(d: AddCheckpointDeps, body: string): Promise<Answer> {
  const witness = d.signer.verifierKey;
  let req;
  let cp;
  try {
    req = parseAddCheckpoint(body);
    cp = parseCheckpoint(splitNote(req.checkpoint).text);
  } catch (err) {
    return text(400, `${(err as Error).message}\n`);
  }
  const keys = d.keysFor(cp.origin);
  if (keys.length === 0) return text(404, `unknown origin ${cp.origin}\n`);
  try {
    openNote(req.checkpoint, keys);
  } catch (err) {
    const code = isTailsealError(err) ? err.code : '';
    if (code === 'NO_TRUSTED_SIGNATURE' || code === 'SIGNATURE_INVALID')
      return text(403, `no valid signature by a key trusted for ${cp.origin}\n`);
    return text(400, `${(err as Error).message}\n`);
  }
  if (req.oldSize > cp.size) return text(400, `old size ${req.oldSize} is above the checkpoint's ${cp.size}\n`);
  // From here to the record: synchronous (see the top of this file).
  const prev = d.state.cosigned(witness, cp.origin);
  const latest = prev?.size ?? 0;
  if (req.oldSize !== latest) return { status: 409, type: TLOG_SIZE_CONTENT_TYPE, body: formatTlogSize(latest) };
  const root = toHex(cp.rootHash);
  let inconsistent: string | undefined;
  if (cp.size === 0 && compareBytes(cp.rootHash, EMPTY_ROOT) !== 0)
    inconsistent = 'a tree of size 0 has the empty root';
  else if (req.oldSize === 0 && req.proof.length > 0) inconsistent = 'a proof from size 0 must be empty';
  else if (prev && req.oldSize === cp.size && prev.root !== root)
    inconsistent = `root ${root} at size ${cp.size}, but this witness cosigned ${prev.root} there`;
  else if (prev && req.oldSize > 0 && req.oldSize < cp.size) {
    try {
      verifyConsistency(req.oldSize, cp.size, req.proof, fromHex(prev.root), cp.rootHash);
    } catch (err) {
      inconsistent = `the consistency proof from size ${req.oldSize} does not verify: ${(err as Error).message}`;
    }
  }
  // What the monitor verified in a store at this size, if anything: another root there is a fork too.
  const seen = d.state.checkpointRoot(cp.origin, cp.size);
  if (!inconsistent && seen && seen.root !== root)
    inconsistent = `root ${root} at size ${cp.size}, but the monitor verified ${seen.root} there in ${seen.store}`;
  if (inconsistent) {
    d.log.error(
      { origin: cp.origin, size: cp.size, old: req.oldSize, code: 'CHECKPOINT_FORK', why: inconsistent },
      'Witness: REFUSED a submitted checkpoint (inconsistent with what it cosigned or verified).',
    );
    return text(422, `${inconsistent}\n`);
  }
  const time = Math.max(Math.floor(d.now() / 1000), prev && prev.size === cp.size ? prev.time : 0);
  let note: string;
  try {
    note = cosign(req.checkpoint, d.signer, time);
  } catch (err) {
    return text(400, `${(err as Error).message}\n`);
  }
  const name = cosignedObjectName(cp.origin, cp.size, time);
  // 1. Recorded before the answer (the spec: persisted before responding), published = 0.
  d.state.putCosigned(witness, { origin: cp.origin, store: SUBMITTED, size: cp.size, root, time, name, note });
  // 2. Into the witness store; a failure leaves it unpublished for the next try (and is no reason to
  //    withhold the cosignature: it is recorded).
  try {
    await d.writer.publish(name, note);
    d.state.markPublished(witness, cp.origin, name);
    d.onPublished?.(cp.origin);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'SINK_CONFLICT' || code === 'EEXIST') d.state.markPublished(witness, cp.origin, name);
    else d.log.error({ origin: cp.origin, size: cp.size, err: (err as Error).message }, 'Witness: publishing failed.');
  }
  d.log.debug({ origin: cp.origin, size: cp.size, old: req.oldSize }, 'Witness: submitted checkpoint cosigned.');
  return text(200, note.slice(req.checkpoint.length));
}
