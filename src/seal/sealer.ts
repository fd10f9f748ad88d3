// Sealing: turning kept records into chained, tree-hashed entries, and deciding when to sign.
// Pure computation over an in-memory copy of the stream head: the caller commits the result
// (store/state.ts) and only then adopts the new head, so a failed commit leaves nothing behind.
import type { CompactRange } from '../trail/merkle.js';
import { type Envelope, type RecordKind, envelopeLeafHash, nextChain } from '../trail/envelope.js';
import { formatExtension } from '../trail/object.js';
import { signCheckpoint } from '../trail/checkpoint.js';
import type { NoteSigner } from '../trail/keys.js';
import { LineBatch } from './encoder.js';
import { nodeHashChildren, nodeSha256 } from './hash.js';

/** The part of a stream's state that sealing advances. */
export interface StreamHead {
  name: string;
  nextSeq: number;
  chainHead: Uint8Array;
  edge: CompactRange;
}

/** A record a source wants sealed. */
export interface SealRecord {
  kind: RecordKind;
  source: string;
  offset: number;
  payload: Uint8Array;
  /** Where the record came from beyond source/offset (envelope version 2). */
  meta?: Readonly<Record<string, string>> | undefined;
}

export interface SealedEntry {
  seq: number;
  /** The object line (NDJSON) that stores this entry. */
  line: Buffer;
}

/** What sealRecords returns: the head after the records and their object lines. */
export interface Sealed {
  head: StreamHead;
  /** The entries' object lines back to back: what the outbox appends for this batch. */
  data: Buffer;
  /** The same lines one by one (views into `data`). */
  readonly entries: SealedEntry[];
}

/**
 * Seals `records` after `head`, at time `now`. Returns the entries and the head after them;
 * `head` itself is not modified. With `batch` (reused between calls to save allocations) the
 * result's bytes are only valid until the next call with the same batch.
 */
export function sealRecords(
  head: StreamHead,
  records: readonly SealRecord[],
  now: number,
  batch = new LineBatch(),
  append = false,
): Sealed {
  // append: after the lines the batch holds (a batch sealed in parts); data is then all of them.
  if (!append) batch.reset();
  const edge = head.edge.clone();
  let chain = head.chainHead;
  let seq = head.nextSeq;
  // One envelope object filled in per record, not one allocated per record (young garbage once
  // per decision): the leaf hash and the line encoder read it and keep nothing of it.
  const env: Envelope = {
    kind: 'decision',
    stream: head.name,
    seq,
    sealedAt: now,
    source: '',
    offset: 0,
    payload: EMPTY,
    meta: undefined,
  };
  for (const r of records) {
    env.kind = r.kind;
    env.seq = seq;
    env.source = r.source;
    env.offset = r.offset;
    env.payload = r.payload;
    env.meta = r.meta;
    // node:crypto for the leaf, the chain link and the tree nodes (the same hashes as the trail's noble).
    const leaf = envelopeLeafHash(env, nodeSha256);
    chain = nextChain(chain, leaf, nodeSha256);
    edge.append(leaf, nodeHashChildren);
    batch.pushEntry(env, chain);
    seq++;
  }
  const first = head.nextSeq;
  return {
    head: { name: head.name, nextSeq: seq, chainHead: chain, edge },
    data: batch.bytes(),
    get entries() {
      return batch.ends.map((_, i) => ({ seq: first + i, line: batch.line(i) }));
    },
  };
}

const EMPTY = new Uint8Array(0);

/** When to sign: every `entries` sealed entries, `intervalMs` after the last checkpoint, and a heartbeat when idle. */
export interface CheckpointPolicy {
  entries: number;
  /** Pending entry bytes that make a checkpoint due (bounds object size). */
  maxBytes: number;
  intervalMs: number;
  heartbeatMs: number;
}

/** Whether a checkpoint of the stream is due now. */
export function checkpointDue(
  s: { nextSeq: number; checkpointedSize: number; checkpointedAt: number },
  now: number,
  p: CheckpointPolicy,
  pendingBytes = 0,
): boolean {
  const pending = s.nextSeq - s.checkpointedSize;
  const age = now - s.checkpointedAt;
  if (pending >= p.entries || (pending > 0 && pendingBytes >= p.maxBytes)) return true;
  if (pending > 0) return age >= p.intervalMs;
  return age >= p.heartbeatMs;
}

/** The checkpoint origin of a stream: one log (one tree) per stream. */
export function streamOrigin(origin: string, stream: string): string {
  return `${origin}/${stream}`;
}

/** Signs the C2SP checkpoint of `head` (tree size, root, and the tailseal extension line). */
export function signHead(origin: string, head: StreamHead, now: number, signer: NoteSigner): string {
  return signCheckpoint(
    {
      origin: streamOrigin(origin, head.name),
      size: head.nextSeq,
      rootHash: head.edge.root(),
      extensions: [formatExtension(head.chainHead, now)],
    },
    signer,
  );
}
