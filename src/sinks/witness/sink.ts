// The `witness` sink: submits each object's signed checkpoint to a witness with the add-checkpoint
// call of c2sp.org/tlog-witness, with an RFC 6962 consistency proof from the size the witness
// cosigned last, and keeps the cosignature it gets back (config `store`: the witness store layout
// of docs/trail-format.md §8, where `tailseal verify --witness-key --witness-store` finds it).
//
// The proof needs the tree's compact range at the old size and the leaf hashes after it
// (trail/proofs.ts consistencyProofFrom). Objects come in order, one at a time (in_flight 1), so the
// old size is the end of the previous object: the sink keeps the compact range there
// (state.ts) and hashes the leaves of each object from its lines. A first submission of a stream
// has no old size (0: no proof) and takes the compact range the outbox kept with the object.
//
// An object is acknowledged only when the witness cosigned its checkpoint (and the cosigned note
// is stored); until then it stays in the outbox as for any sink. A refusal (unknown origin,
// untrusted key, an inconsistent checkpoint: a fork) is permanent: the object is parked, saying why.
import { TailsealError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { loadWitnessVerifierKeys } from '../../seal/keyfile.js';
import { nodeHashChildren, nodeSha256 } from '../../seal/hash.js';
import {
  type Checkpoint,
  CompactRange,
  MAX_COSIGNED_BYTES,
  type WitnessVerifier,
  consistencyProofFrom,
  cosignedObjectName,
  envelopeLeafHash,
  formatAddCheckpoint,
  parseCheckpoint,
  parseCosignatureLines,
  parseTlogSize,
  splitNote,
  verifyCosignatures,
} from '../../trail/index.js';
import { compareBytes } from '../../trail/envelope.js';
import { HttpTransport, redactUrl } from '../net/transport.js';
import { outboxEntries } from '../object-body.js';
import type { PutResult, Sink, SinkContext, TrailObject } from '../sink.js';
import type { WitnessSinkConfig } from './config.js';
import { WitnessSinkState, witnessStatePath } from './state.js';
import { type WitnessWriter, witnessWriterFor } from './writer.js';

/** The answers of add-checkpoint the sink reads (others are statusError's, retried or not by the classifier). */
const HANDLED = [400, 403, 404, 409, 422];

export class WitnessSink implements Sink {
  readonly type = 'witness';
  readonly name: string;
  private readonly transport: HttpTransport;
  private readonly endpoint: string;
  private readonly log: Logger;
  private witness: WitnessVerifier | undefined;
  private state: WitnessSinkState | undefined;
  private writer: WitnessWriter | undefined;

  constructor(
    private readonly config: WitnessSinkConfig,
    private readonly ctx: SinkContext,
  ) {
    this.name = config.name;
    this.log = ctx.log.child({ sink: config.name });
    this.transport = new HttpTransport(config.name, config, ctx.log);
    this.endpoint = `${config.url.replace(/\/+$/, '')}/add-checkpoint`;
  }

  async start(): Promise<void> {
    const keys = loadWitnessVerifierKeys([this.config.key_file]);
    if (keys.length !== 1)
      throw new TailsealError(
        'CONFIG_INVALID',
        `sink ${this.name}: key_file ${this.config.key_file} must hold exactly one witness key ` +
          `(it holds ${keys.length})`,
      );
    this.witness = keys[0]!;
    this.state = WitnessSinkState.open(witnessStatePath(this.ctx.stateDir, this.name), this.config.url);
    if (this.config.store) this.writer ??= witnessWriterFor(this.config.store, this.config, this.log);
    this.transport.start(this.endpoint, { witness: this.witness.name }, 'Witness sink ready.');
  }

  async put(obj: TrailObject): Promise<PutResult> {
    const state = this.state!;
    const cp = parseCheckpoint(splitNote(obj.note).text);
    if (cp.size !== obj.size)
      throw this.permanent(`object ${obj.id}: its checkpoint has size ${cp.size}, not ${obj.size}`);
    const known = state.get(obj.stream);
    // Cosigned before (offered again after a crash between the cosignature and the acknowledgement).
    if (known && (known.size > obj.size || (known.size === obj.size && obj.firstSeq < obj.size))) return 'existed';
    const leaves = leafHashes(obj);
    const start = known && known.size === obj.firstSeq ? known.edge : undefined;
    const end = start ? extend(start, leaves) : obj.edge ? CompactRange.deserialize(obj.edge) : undefined;
    if (end && (end.size !== cp.size || compareBytes(end.root(), cp.rootHash) !== 0))
      throw this.permanent(`stream ${obj.stream}: the object's entries do not hash to its checkpoint's root`);
    // The edge at `m` and the leaves after it, where this object holds what is needed.
    const proofFrom = (m: number): Uint8Array[] | undefined => {
      if (m === 0 || m === obj.size) return [];
      if (!start || m < obj.firstSeq || m > obj.size) return undefined;
      const k = m - obj.firstSeq;
      return consistencyProofFrom(extend(start, leaves.slice(0, k)), leaves.slice(k), nodeHashChildren);
    };
    let old = known?.size ?? 0;
    for (let attempt = 0; ; attempt++) {
      const proof = proofFrom(old);
      if (!proof) throw this.unprovable(cp, old, obj);
      const res = await this.submit(old, proof, obj.note);
      if (res.status >= 200 && res.status < 300) {
        await this.keep(cp, obj, res.text);
        if (end) state.set(obj.stream, end);
        return 'stored';
      }
      if (res.status === 409 && attempt === 0) {
        // The witness cosigned another size of this origin than this sink recorded (its state was
        // lost, or another witness sink with the same state): once more from the size it has.
        const latest = parseTlogSize(res.text);
        this.log.warn({ origin: cp.origin, old, witness_size: latest }, 'Witness has another size; submitting again.');
        old = latest;
        continue;
      }
      throw this.refused(res.status, res.text, cp, old);
    }
  }

  async close(): Promise<void> {
    await this.transport.close();
    await this.writer?.close();
  }

  private submit(old: number, proof: Uint8Array[], note: string): Promise<{ status: number; text: string }> {
    const body = Buffer.from(formatAddCheckpoint({ oldSize: old, proof, checkpoint: note }), 'utf8');
    const headers = { 'content-type': 'text/plain; charset=utf-8' };
    const what = `POST ${redactUrl(this.endpoint)} (old ${old})`;
    return this.transport.postText(this.endpoint, headers, body, what, HANDLED, MAX_COSIGNED_BYTES);
  }

  /** Checks the answer's cosignature by the configured witness and stores the cosigned note. */
  private async keep(cp: Checkpoint, obj: TrailObject, answer: string): Promise<void> {
    let note: string;
    let time: number;
    try {
      note = obj.note + parseCosignatureLines(answer).join('');
      const found = verifyCosignatures(note, [this.witness!]);
      if (found.length === 0) throw new Error(`no cosignature by ${this.witness!.name}`);
      time = found[0]!.time;
    } catch (err) {
      // A witness answering what it must not: retried (a misbehaving or misconfigured witness).
      throw new TailsealError('SINK_RETRYABLE', `sink ${this.name}: the witness's answer: ${(err as Error).message}`);
    }
    if (this.writer) {
      const name = cosignedObjectName(cp.origin, cp.size, time);
      try {
        await this.writer.publish(name, note);
      } catch (err) {
        // Already there: a retry after a crash between storing it and recording it.
        if ((err as { code?: unknown }).code !== 'SINK_CONFLICT' && (err as { code?: unknown }).code !== 'EEXIST')
          throw err;
      }
    }
    this.log.debug({ origin: cp.origin, size: cp.size, time }, 'Checkpoint cosigned by the witness.');
  }

  private permanent(message: string): TailsealError {
    return new TailsealError('SINK_PERMANENT', `sink ${this.name}: ${message}`);
  }

  private unprovable(cp: Checkpoint, old: number, obj: TrailObject): TailsealError {
    return this.permanent(
      `the witness has cosigned ${cp.origin} up to size ${old}, and this daemon cannot prove the checkpoint of ` +
        `size ${cp.size} consistent with it (it keeps the tree from size ${obj.firstSeq} on, and no record of the ` +
        `witness at ${old}: its witness sink state was lost, or the witness saw another writer of this origin). ` +
        "The fleet monitor's witness still cosigns from the store; or start the witness's record of this origin anew",
    );
  }

  private refused(status: number, text: string, cp: Checkpoint, old: number): TailsealError {
    const why: Record<number, string> = {
      404: `does not know origin ${cp.origin}: add this daemon's verifier key for it to the witness's keys`,
      403:
        `does not trust the key that signed ${cp.origin}'s checkpoint: add this daemon's verifier key to the ` +
        'witness',
      422:
        `found the checkpoint of size ${cp.size} inconsistent with the one it cosigned at size ${old}: a second ` +
        'history of this origin (a fork), or a proof it could not verify',
      400: `refused the request as malformed (old size ${old}, size ${cp.size})`,
      409: `still has another size than the one this daemon proved from (${text.trim()})`,
    };
    return this.permanent(`witness ${redactUrl(this.endpoint)} answered HTTP ${status}: it ${why[status] ?? text}`);
  }
}

/** The leaf hashes of an object's entries, in order (the outbox's own lines: parsed with every check). */
export function leafHashes(obj: TrailObject): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const { envelope } of outboxEntries(obj)) out.push(envelopeLeafHash(envelope, nodeSha256));
  if (out.length !== obj.size - obj.firstSeq)
    throw new TailsealError(
      'SINK_PERMANENT',
      `object ${obj.id}: ${out.length} entries, want ${obj.size - obj.firstSeq}`,
    );
  return out;
}

/** `edge` with `leaves` appended (a copy). */
function extend(edge: CompactRange, leaves: readonly Uint8Array[]): CompactRange {
  const e = edge.clone();
  for (const l of leaves) e.append(l, nodeHashChildren);
  return e;
}

export function createWitnessSink(config: WitnessSinkConfig, ctx: SinkContext): Sink {
  return new WitnessSink(config, ctx);
}
