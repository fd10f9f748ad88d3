// Witness cosignatures, https://c2sp.org/tlog-cosignature (Ed25519 `cosignature/v1`): a witness
// states "as of <time>, this is the largest tree of <origin> I have seen, and it is consistent with
// every earlier one I saw" by adding one signature line to a signed checkpoint note:
//
//   — <witness name> base64(key ID (4) || timestamp (8, big-endian u64, POSIX seconds) || Ed25519 sig (64))
//
// The signed message is not the note text but, each line ending in \n:
//
//   cosignature/v1
//   time <timestamp, decimal, no leading zeros>
//   <the checkpoint's note text: origin, size, root hash, extension lines>
//
// Witness keys have signature type 0x04: key ID = SHA-256(name || 0x0A || 0x04 || public key)[:4],
// verifier key text `<name>+<id>+base64(0x04 || key)`, signer key `PRIVATE+KEY+<name>+<id>+base64(0x04 || seed)`
// (the encodings of transparency-dev/formats note.NewSignerForCosignatureV1 / NewVerifierForCosignatureV1).
// Everything in a note is attacker-controlled until verified; a witness key is trusted only for
// the statement above, never as a log key (its type is in the key ID, so the two never match).
import { TailsealError } from './errors.js';
import { parseCheckpoint } from './checkpoint.js';
import {
  decodeSignerKey,
  decodeVerifierKey,
  ed25519Sign,
  formatVerifierKey,
  generateKeyPair,
  isValidKeyName,
  keyFileLines,
  keyId,
} from './keys.js';
import { formatSignatureLine, splitNote } from './note.js';

/** The signature type of Ed25519 cosignature/v1 keys (c2sp.org/signed-note "Signature types"). */
export const COSIGNATURE_V1_TYPE = 0x04;
/** Timestamp and Ed25519 signature: the bytes after the key ID of a cosignature line. */
export const COSIGNATURE_SIZE = 8 + 64;
/** Default tolerance for a cosignature time ahead of the verifier's clock (the spec lets verifiers reject). */
export const DEFAULT_MAX_FUTURE_SECONDS = 300;
/** The spec's bound on a timestamp: 2^63 - 1. */
const MAX_TIMESTAMP = (1n << 63n) - 1n;

/** A witness's signing key; its seed stays in the closure. */
export interface WitnessSigner {
  readonly name: string;
  readonly keyId: number;
  /** The public `<name>+<id>+<key>` (type 0x04) witness verifier key. */
  readonly verifierKey: string;
  /** The 72-byte timestamped_signature over `checkpointText` at `timeSeconds`. */
  sign(checkpointText: string, timeSeconds: number): Uint8Array;
}

/** A trusted witness: checks cosignature/v1 signatures of one (name, key ID). */
export interface WitnessVerifier {
  readonly name: string;
  readonly keyId: number;
  readonly verifierKey: string;
  /** True when `sig` (64 bytes) signs `checkpointText` at `timeSeconds`; never throws. */
  verify(checkpointText: string, timeSeconds: bigint, sig: Uint8Array): boolean;
}

/** One valid cosignature of a note. */
export interface Cosignature {
  name: string;
  keyId: number;
  /** When the witness cosigned, POSIX seconds. */
  time: number;
}

function malformed(why: string, details: Record<string, unknown> = {}): TailsealError {
  return new TailsealError('COSIGNATURE_MALFORMED', `malformed cosignature: ${why}`, { details });
}

/** The signed message of a cosignature/v1 (c2sp.org/tlog-cosignature "Ed25519 signed message"). */
export function cosignatureMessage(checkpointText: string, timeSeconds: number | bigint): Uint8Array {
  return new TextEncoder().encode(`cosignature/v1\ntime ${timeSeconds.toString()}\n${checkpointText}`);
}

function checkTime(t: number): void {
  if (!Number.isSafeInteger(t) || t < 0) throw malformed(`time ${t} is not a whole number of seconds >= 0`);
}

/** Reads a PRIVATE+KEY+ witness key (type 0x04). KEY_INVALID. */
export function parseWitnessSignerKey(skey: string): WitnessSigner {
  const { name, seed, publicKey } = decodeSignerKey(skey, COSIGNATURE_V1_TYPE);
  return {
    name,
    keyId: keyId(name, publicKey, COSIGNATURE_V1_TYPE),
    verifierKey: formatVerifierKey(name, publicKey, COSIGNATURE_V1_TYPE),
    sign(text, time) {
      checkTime(time);
      const out = new Uint8Array(COSIGNATURE_SIZE);
      new DataView(out.buffer).setBigUint64(0, BigInt(time), false);
      out.set(ed25519Sign(cosignatureMessage(text, time), seed), 8);
      return out;
    },
  };
}

/** Reads a `<name>+<id>+base64(0x04 || key)` witness verifier key, recomputing its key ID. KEY_INVALID. */
export function parseWitnessVerifierKey(vkey: string): WitnessVerifier {
  const k = decodeVerifierKey(vkey, COSIGNATURE_V1_TYPE);
  return {
    name: k.name,
    keyId: k.keyId,
    verifierKey: vkey,
    verify: (text, time, sig) => k.verify(cosignatureMessage(text, time), sig),
  };
}

/** The witness verifier keys of a key file's text (one per line, `#` comments). KEY_INVALID. */
export function parseWitnessVerifierKeys(text: string): WitnessVerifier[] {
  return keyFileLines(text).map(parseWitnessVerifierKey);
}

/** A new witness key pair named `name` (a schema-less URL, e.g. witness.example.com/w1). */
export function generateWitnessKeyPair(name: string, seed?: Uint8Array): { signerKey: string; verifierKey: string } {
  return generateKeyPair(name, seed, COSIGNATURE_V1_TYPE);
}

/**
 * The note with one more signature line: `witness`'s cosignature at `timeSeconds`. The note's own
 * signatures are not checked here (the caller verified the checkpoint: that is what a cosignature
 * says); its text must be a checkpoint (CHECKPOINT_MALFORMED) and the witness must not have signed
 * it already (COSIGNATURE_MALFORMED).
 */
export function cosign(note: string, witness: WitnessSigner, timeSeconds: number): string {
  const { text, lines } = splitNote(note);
  parseCheckpoint(text);
  if (!isValidKeyName(witness.name)) throw new TailsealError('KEY_INVALID', 'witness has an invalid key name');
  if (lines.some((l) => l.name === witness.name && l.keyId === witness.keyId))
    throw malformed(`the note is already cosigned by ${witness.name}`);
  return note + formatSignatureLine(witness.name, witness.keyId, witness.sign(text, timeSeconds));
}

export interface VerifyCosignaturesOptions {
  /** The verifier's clock, POSIX seconds (default: now). */
  nowSeconds?: number;
  /** A cosignature more than this far ahead of `nowSeconds` is COSIGNATURE_TIME (default 300). */
  maxFutureSeconds?: number;
}

/**
 * The valid cosignatures of `note` by `witnesses`, one per witness (its newest), following the
 * signed-note rules: lines whose (name, key ID) match no witness are ignored (the log's own
 * signature, other witnesses); a matching line must be a 72-byte timestamped signature with a
 * timestamp <= 2^63 - 1 (COSIGNATURE_MALFORMED), not ahead of the clock by more than
 * `maxFutureSeconds` (COSIGNATURE_TIME), and must verify (SIGNATURE_INVALID). The text must be a
 * checkpoint (CHECKPOINT_MALFORMED). The log's signature is not checked here (openCheckpoint does).
 */
export function verifyCosignatures(
  note: string,
  witnesses: readonly WitnessVerifier[],
  opts: VerifyCosignaturesOptions = {},
): Cosignature[] {
  const { text, lines } = splitNote(note);
  parseCheckpoint(text);
  const now = opts.nowSeconds ?? Math.floor(Date.now() / 1000);
  const latestOk = BigInt(now) + BigInt(opts.maxFutureSeconds ?? DEFAULT_MAX_FUTURE_SECONDS);
  const found = new Map<WitnessVerifier, Cosignature>();
  for (const line of lines) {
    const w = witnesses.find((k) => k.name === line.name && k.keyId === line.keyId);
    if (w === undefined) continue;
    const details = { witness: w.name };
    if (line.sig.length !== COSIGNATURE_SIZE)
      throw malformed(`${w.name}: ${line.sig.length} bytes after the key ID, want ${COSIGNATURE_SIZE}`, details);
    const t = new DataView(line.sig.buffer, line.sig.byteOffset, line.sig.byteLength).getBigUint64(0, false);
    if (t > MAX_TIMESTAMP) throw malformed(`${w.name}: timestamp ${t} exceeds 2^63 - 1`, details);
    if (t > latestOk)
      throw new TailsealError(
        'COSIGNATURE_TIME',
        `cosignature by ${w.name} is dated ${t}, ahead of this clock (${now}) by more than ` +
          `${opts.maxFutureSeconds ?? DEFAULT_MAX_FUTURE_SECONDS} s`,
        { details: { ...details, time: t.toString(), now } },
      );
    if (!w.verify(text, t, line.sig.subarray(8)))
      throw new TailsealError('SIGNATURE_INVALID', `cosignature by ${w.name} does not verify`, { details });
    const time = Number(t); // <= now + skew, so a safe integer
    const prev = found.get(w);
    if (prev === undefined || time > prev.time) found.set(w, { name: w.name, keyId: w.keyId, time });
  }
  return [...found.values()];
}
