// Checkpoints, https://c2sp.org/tlog-checkpoint: the signed statement "the log <origin> has <size>
// leaves with Merkle root <rootHash>". The note text is, each line ending in \n:
//
//   <origin>
//   <decimal tree size, no leading zeros>
//   <base64 of the 32-byte RFC 9162 root hash>
//   [<extension line>]...
//
// The shape mirrors transparency-dev/formats log.Checkpoint (Marshal/Unmarshal, ParseCheckpoint).
import { TailsealError } from './errors.js';
import { HASH_SIZE, fromBase64Strict, toBase64 } from './hash.js';
import type { NoteSigner, NoteVerifier } from './keys.js';
import { openNote, signNote } from './note.js';

// Checkpoint is the body of a tlog checkpoint.
export interface Checkpoint {
  // origin names the log uniquely; by convention it equals the log key's name.
  origin: string;
  // size is the number of leaves in the tree, at most Number.MAX_SAFE_INTEGER.
  size: number;
  // rootHash is the RFC 9162 Merkle tree hash of those leaves (32 bytes).
  rootHash: Uint8Array;
  // extensions are opaque extra lines (NOT RECOMMENDED by the spec; kept verbatim).
  extensions: string[];
}

const DECIMAL = /^(0|[1-9][0-9]*)$/;
// eslint-disable-next-line no-control-regex -- the format forbids control characters, so the pattern must name them
const CONTROL = /[\u0000-\u001f]/;

function malformed(why: string): TailsealError {
  return new TailsealError('CHECKPOINT_MALFORMED', `invalid checkpoint - ${why}`);
}

function checkLine(line: string, what: string): void {
  if (line === '') throw malformed(`${what} is empty`);
  if (CONTROL.test(line)) throw malformed(`${what} holds a control character`);
}

function checkSize(size: number): void {
  if (!Number.isSafeInteger(size) || size < 0) throw malformed('size is not an integer in [0, 2^53)');
}

function checkRootHash(root: Uint8Array): void {
  if (root.length !== HASH_SIZE) throw malformed(`root hash is ${root.length} bytes, want ${HASH_SIZE}`);
}

// formatCheckpoint renders the note text of a checkpoint. It validates the fields the same way
// parseCheckpoint does (CHECKPOINT_MALFORMED), so parseCheckpoint(formatCheckpoint(c)) equals c.
// https://c2sp.org/tlog-checkpoint#note-text
export function formatCheckpoint(c: Checkpoint): string {
  checkLine(c.origin, 'origin');
  checkSize(c.size);
  checkRootHash(c.rootHash);
  c.extensions.forEach((e, i) => checkLine(e, `extension line ${i + 1}`));
  return [c.origin, String(c.size), toBase64(c.rootHash), ...c.extensions].map((l) => `${l}\n`).join('');
}

// parseCheckpoint reads checkpoint note text strictly: at least 3 lines, each ending in '\n', no
// empty line, a non-empty origin, a decimal size without leading zeros that fits in 2^53 - 1, and a
// root of exactly 32 bytes in canonical base64. Throws TailsealError CHECKPOINT_MALFORMED.
// Call it on text whose signature was checked (openCheckpoint does that) or on text we made.
export function parseCheckpoint(text: string): Checkpoint {
  if (!text.endsWith('\n')) throw malformed('text does not end with a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) throw malformed('too few lines');
  const [origin, sizeLine, rootLine, ...extensions] = lines;
  checkLine(origin, 'origin');
  if (!DECIMAL.test(sizeLine)) throw malformed('size is not a decimal number without leading zeros');
  const size = Number(sizeLine);
  checkSize(size);
  const rootHash = fromBase64Strict(rootLine, 'invalid checkpoint - root hash', 'CHECKPOINT_MALFORMED');
  checkRootHash(rootHash);
  extensions.forEach((e, i) => checkLine(e, `extension line ${i + 1}`));
  return { origin, size, rootHash, extensions };
}

// openCheckpoint verifies a signed checkpoint note and only then parses its body, then checks the
// origin when `expectedOrigin` is given. A note whose signatures fail is rejected for that reason
// (SIGNATURE_INVALID / NO_TRUSTED_SIGNATURE / NOTE_MALFORMED) before its text is looked at: an
// attacker's unsigned text never reaches the parser. Pass only keys trusted to sign for this log;
// `verifiedBy` tells which of them did. Mirrors transparency-dev/formats log.ParseCheckpoint.
export function openCheckpoint(
  note: string,
  verifiers: NoteVerifier[],
  expectedOrigin?: string,
): { checkpoint: Checkpoint; verifiedBy: NoteVerifier[] } {
  const { text, verifiedBy } = openNote(note, verifiers);
  // A trusted key signed this text. It is now safe to parse.
  const checkpoint = parseCheckpoint(text);
  if (expectedOrigin !== undefined && checkpoint.origin !== expectedOrigin) {
    throw malformed(
      `origin mismatch: got ${JSON.stringify(checkpoint.origin)}, want ${JSON.stringify(expectedOrigin)}`,
    );
  }
  return { checkpoint, verifiedBy };
}

// signCheckpoint formats a checkpoint and signs it as a note with one signer (the log key; its
// name should equal the origin). https://c2sp.org/tlog-checkpoint#signatures
export function signCheckpoint(c: Checkpoint, signer: NoteSigner): string {
  return signNote(formatCheckpoint(c), [signer]);
}
