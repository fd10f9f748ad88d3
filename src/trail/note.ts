// Signed notes, https://c2sp.org/signed-note (Go golang.org/x/mod/sumdb/note):
//
//   <text, one or more lines, each ending in \n>
//   <blank line>
//   — <key name> <base64(4-byte big-endian key ID || signature)>
//   ... one line per signature
//
// The signed bytes are the UTF-8 of the text, final newline included, blank line excluded.
// A note is a JS string here; decode bytes from disk or the network with
// `new TextDecoder('utf-8', { fatal: true })` so invalid UTF-8 is rejected, not replaced.
import { TailsealError } from './errors.js';
import { fromBase64Strict, toBase64 } from './hash.js';
import { isValidKeyName, type NoteSigner, type NoteVerifier } from './keys.js';

// MAX_NOTE_SIGNATURES bounds the work an opened note can cause; the spec asks verifiers to accept at
// least 16, and Go's package doc suggests rejecting "more than 100 signatures".
export const MAX_NOTE_SIGNATURES = 100;

const SIG_PREFIX = '\u2014 '; // em dash, space
const KEY_ID_SIZE = 4;
// A control character other than \n, or a lone UTF-16 surrogate (which has no UTF-8 encoding).
// eslint-disable-next-line no-control-regex -- the format forbids control characters, so the pattern must name them
const FORBIDDEN = /[\u0000-\u0009\u000b-\u001f]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function malformed(why: string): TailsealError {
  return new TailsealError('NOTE_MALFORMED', `malformed note: ${why}`);
}

/** One signature line of a note, parsed but not verified. */
export interface SignatureLine {
  name: string;
  keyId: number;
  sig: Uint8Array;
}

// signNote signs `text` with every signer and returns the note. The text must end with '\n' and
// hold no control characters other than '\n' (NOTE_MALFORMED otherwise), so every note we sign is
// one that openNote accepts. https://c2sp.org/signed-note#format
export function signNote(text: string, signers: NoteSigner[]): string {
  if (!text.endsWith('\n')) throw malformed('text must end with a newline');
  if (FORBIDDEN.test(text)) throw malformed('text holds a control character or invalid Unicode');
  if (signers.length === 0) throw malformed('no signers');
  const msg = new TextEncoder().encode(text);
  const lines = signers.map((s) => formatSignatureLine(s.name, s.keyId, s.sign(msg)));
  return `${text}\n${lines.join('')}`;
}

/** `— <name> base64(key ID || sig)\n`, the signature line of c2sp.org/signed-note#signatures. */
export function formatSignatureLine(name: string, keyId: number, sig: Uint8Array): string {
  if (!isValidKeyName(name)) throw new TailsealError('KEY_INVALID', 'signer has an invalid key name');
  const payload = new Uint8Array(KEY_ID_SIZE + sig.length);
  new DataView(payload.buffer).setUint32(0, keyId, false);
  payload.set(sig, KEY_ID_SIZE);
  return `${SIG_PREFIX}${name} ${toBase64(payload)}\n`;
}

function parseSignatureLine(line: string): SignatureLine {
  if (!line.startsWith(SIG_PREFIX)) throw malformed('signature line does not start with an em dash and a space');
  const rest = line.slice(SIG_PREFIX.length);
  const space = rest.indexOf(' ');
  if (space < 0) throw malformed('signature line has no space after the key name');
  const name = rest.slice(0, space);
  if (!isValidKeyName(name)) throw malformed('signature line has an invalid key name');
  const raw = fromBase64Strict(rest.slice(space + 1), 'malformed note: signature', 'NOTE_MALFORMED');
  if (raw.length < KEY_ID_SIZE + 1) throw malformed('signature is shorter than 5 bytes');
  const keyId = new DataView(raw.buffer, raw.byteOffset, raw.byteLength).getUint32(0, false);
  return { name, keyId, sig: raw.subarray(KEY_ID_SIZE) };
}

// splitNote parses a note into its text and its signature lines, checking nothing but the form
// (NOTE_MALFORMED): the text ends at the LAST blank line, every signature line must be well formed,
// at most MAX_NOTE_SIGNATURES. Nothing is verified: openNote and verifyCosignatures do that.
export function splitNote(note: string): { text: string; lines: SignatureLine[] } {
  if (FORBIDDEN.test(note)) throw malformed('note holds a control character or invalid Unicode');
  const split = note.lastIndexOf('\n\n');
  if (split < 0) throw malformed('no blank line before the signatures');
  const text = note.slice(0, split + 1);
  const block = note.slice(split + 2);
  if (block === '' || !block.endsWith('\n')) throw malformed('signature block must end with a newline');
  const rawLines = block.slice(0, -1).split('\n');
  if (rawLines.length > MAX_NOTE_SIGNATURES) throw malformed(`more than ${MAX_NOTE_SIGNATURES} signatures`);
  return { text, lines: rawLines.map(parseSignatureLine) };
}

// openNote checks a note's signatures and returns its text with the verifiers that signed it.
// Following c2sp.org/signed-note: the text ends at the LAST blank line; every signature line must be
// well formed (NOTE_MALFORMED), at most MAX_NOTE_SIGNATURES; lines whose (name, key ID) match no
// verifier are ignored (they may be witnesses or rotated keys); a line that matches a verifier but
// does not verify rejects the whole note (SIGNATURE_INVALID); no verified line means
// NO_TRUSTED_SIGNATURE. The text is not interpreted here: callers parse it only after this returns.
// https://c2sp.org/signed-note#verifying-notes
export function openNote(note: string, verifiers: NoteVerifier[]): { text: string; verifiedBy: NoteVerifier[] } {
  const { text, lines } = splitNote(note);
  const msg = new TextEncoder().encode(text);
  const verifiedBy: NoteVerifier[] = [];
  for (const line of lines) {
    const v = verifiers.find((k) => k.name === line.name && k.keyId === line.keyId);
    if (v === undefined) continue;
    if (!v.verify(msg, line.sig)) {
      throw new TailsealError('SIGNATURE_INVALID', `note signature by ${line.name} does not verify`);
    }
    if (!verifiedBy.includes(v)) verifiedBy.push(v);
  }
  if (verifiedBy.length === 0)
    throw new TailsealError('NO_TRUSTED_SIGNATURE', 'note has no signature by a trusted key');
  return { text, verifiedBy };
}
