// The add-checkpoint call of the witness protocol, https://c2sp.org/tlog-witness: a log POSTs
// `<submission prefix>/add-checkpoint` with
//
//   old <size the witness cosigned last, decimal, no leading zeros>\n
//   <zero to 63 lines: one base64 hash each, the RFC 6962 consistency proof from that size>\n
//   \n
//   <the signed checkpoint note>
//
// and gets back the witness's cosignature lines (200), or on a wrong old size 409 with the size the
// witness cosigned (`text/x.tlog.size`, decimal and \n). Parse and serialize are symmetric; every
// byte of a request is attacker-controlled (the witness side) and so is every byte of a response
// (the log side): shapes are checked before anything is hashed or trusted.
import { TailsealError } from './errors.js';
import { HASH_SIZE, fromBase64Strict, toBase64 } from './hash.js';
import { MAX_COSIGNED_BYTES } from './witness-store.js';

/** The most proof lines a request may carry (the spec's bound: a tree of up to 2^63 leaves). */
export const MAX_PROOF_LINES = 63;
/** The bound on a request body: the proof (63 × 45 bytes) and a cosigned-note-sized checkpoint. */
export const MAX_ADD_CHECKPOINT_BYTES = 8 * 1024 + MAX_COSIGNED_BYTES;
/** The Content-Type of a 409 answer's body (the witness's size). */
export const TLOG_SIZE_CONTENT_TYPE = 'text/x.tlog.size';

export interface AddCheckpointRequest {
  oldSize: number;
  proof: Uint8Array[];
  /** The signed checkpoint note, as submitted (its signatures are the witness's to check). */
  checkpoint: string;
}

const bad = (why: string) => new TailsealError('WITNESS_PROTOCOL', `add-checkpoint: ${why}`);
const DECIMAL = /^(0|[1-9][0-9]{0,15})$/;

function decimal(text: string, what: string): number {
  const n = Number(text);
  if (!DECIMAL.test(text) || !Number.isSafeInteger(n)) throw bad(`${what} ${JSON.stringify(text)} is no size`);
  return n;
}

/** The request body of `r`. */
export function formatAddCheckpoint(r: AddCheckpointRequest): string {
  if (r.proof.length > MAX_PROOF_LINES) throw bad(`${r.proof.length} proof lines (at most ${MAX_PROOF_LINES})`);
  return `old ${r.oldSize}\n${r.proof.map((h) => `${toBase64(h)}\n`).join('')}\n${r.checkpoint}`;
}

/** Parses a request body (WITNESS_PROTOCOL on any deviation; the checkpoint note is parsed by the caller). */
export function parseAddCheckpoint(body: string): AddCheckpointRequest {
  if (body.length > MAX_ADD_CHECKPOINT_BYTES) throw bad(`body over ${MAX_ADD_CHECKPOINT_BYTES} bytes`);
  const blank = body.indexOf('\n\n');
  if (blank < 0) throw bad('no empty line before the checkpoint');
  const head = body.slice(0, blank).split('\n');
  const checkpoint = body.slice(blank + 2);
  const old = /^old (.*)$/.exec(head[0]!);
  if (!old) throw bad('the first line must be "old <size>"');
  const oldSize = decimal(old[1]!, 'old size');
  const lines = head.slice(1);
  if (lines.length > MAX_PROOF_LINES) throw bad(`${lines.length} proof lines (at most ${MAX_PROOF_LINES})`);
  const proof = lines.map((l, i) => {
    let h: Uint8Array;
    try {
      h = fromBase64Strict(l, `proof line ${i + 1}`);
    } catch {
      throw bad(`proof line ${i + 1} is not base64`);
    }
    if (h.length !== HASH_SIZE) throw bad(`proof line ${i + 1} holds ${h.length} bytes, not ${HASH_SIZE}`);
    return h;
  });
  if (checkpoint.length === 0 || !checkpoint.endsWith('\n')) throw bad('the checkpoint must end with a newline');
  return { oldSize, proof, checkpoint };
}

/** The body of a 409 answer: the size the witness cosigned last. */
export function formatTlogSize(size: number): string {
  return `${size}\n`;
}

/** Parses a 409 answer's body (WITNESS_PROTOCOL unless it is one decimal size and a newline). */
export function parseTlogSize(body: string): number {
  if (!body.endsWith('\n') || body.length > 20) throw bad(`409 body ${JSON.stringify(body.slice(0, 40))} is no size`);
  return decimal(body.slice(0, -1), '409 size');
}

/**
 * The signature lines of a 200 answer (each `— ` ... `\n`, at least one), to append to the
 * checkpoint's note and verify there with the witness keys (verifyCosignatures).
 */
export function parseCosignatureLines(body: string): string[] {
  if (body.length === 0 || body.length > MAX_COSIGNED_BYTES || !body.endsWith('\n'))
    throw bad('a 200 answer must be one or more signature lines, each ending in a newline');
  const lines = body.slice(0, -1).split('\n');
  for (const l of lines) if (!l.startsWith('\u2014 ')) throw bad(`answer line ${JSON.stringify(l.slice(0, 60))}`);
  return lines.map((l) => `${l}\n`);
}
