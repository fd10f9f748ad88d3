// Ed25519 note keys in the string encodings of Go's golang.org/x/mod/sumdb/note, the de-facto
// standard for https://c2sp.org/signed-note keys (used by sum.golang.org, witnesses and Tessera):
//   verifier key: <name>+<8 hex key ID>+<base64(0x01 || 32-byte public key)>
//   signer key:   PRIVATE+KEY+<name>+<8 hex key ID>+<base64(0x01 || 32-byte seed)>
// Error messages never contain key material.
import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';
import { TailsealError } from './errors.js';
import { fromBase64Strict, sha256, toBase64 } from './hash.js';

// Enables @noble/ed25519's synchronous API (it ships without a SHA-512 of its own).
ed.hashes.sha512 = sha512;

// ED25519_SIGNATURE_TYPE is the signature type byte of Ed25519 note keys (c2sp.org/signed-note
// "Signature types"); it prefixes the key bytes in key strings and in the key ID hash.
export const ED25519_SIGNATURE_TYPE = 0x01;

const SIGNER_KEY_PREFIX = 'PRIVATE+KEY+';
const TYPE_NAMES: Record<number, string> = { 1: '1 (Ed25519)', 4: '4 (Ed25519 cosignature/v1, a witness key)' };
const ED25519_KEY_SIZE = 32;
const ED25519_SIGNATURE_SIZE = 64;

// NoteSigner signs note text for one named key. Its private key stays inside the closure, so
// logging a signer never prints it.
export interface NoteSigner {
  readonly name: string;
  readonly keyId: number;
  /** The public `<name>+<id>+<key>` verifier key of this signer (safe to log and share). */
  readonly verifierKey: string;
  sign(msg: Uint8Array): Uint8Array;
}

// NoteVerifier checks signatures of one named key; verify returns false (never throws) on a bad
// or malformed signature.
export interface NoteVerifier {
  readonly name: string;
  readonly keyId: number;
  verify(msg: Uint8Array, sig: Uint8Array): boolean;
}

function keyInvalid(why: string): TailsealError {
  return new TailsealError('KEY_INVALID', why);
}

// isValidKeyName applies the key name rules of c2sp.org/signed-note and Go's isValidName:
// non-empty, no Unicode white space, no '+'. Control characters and lone surrogates (not valid
// UTF-8) are rejected too, since a name is written into note signature lines.
export function isValidKeyName(name: string): boolean {
  return (
    name.length > 0 &&
    // eslint-disable-next-line no-control-regex -- the format forbids control characters, so the pattern must name them
    !/[\s+\u0000-\u001f\u007f]/u.test(name) &&
    !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(name)
  );
}

// keyId is the note key ID: the first 4 bytes, big-endian, of SHA-256(name || 0x0A || 0x01 || pk).
// It lets a verifier pick the key for a signature line without trying every key.
// https://c2sp.org/signed-note#signatures
// The signature type is in the hash, so one public key has a different ID per type: a witness
// (cosignature) key, type 0x04, is never taken for a log key of the same bytes (c2sp.org/tlog-cosignature).
export function keyId(name: string, publicKey: Uint8Array, type = ED25519_SIGNATURE_TYPE): number {
  const h = sha256(new TextEncoder().encode(name), Uint8Array.of(0x0a, type), publicKey);
  return new DataView(h.buffer, h.byteOffset, h.byteLength).getUint32(0, false);
}

function formatKeyId(id: number): string {
  return id.toString(16).padStart(8, '0');
}

function withType(key: Uint8Array, type: number): Uint8Array {
  const out = new Uint8Array(1 + key.length);
  out[0] = type;
  out.set(key, 1);
  return out;
}

// decodeKey parses "<name>+<hex id>+<base64 key>" (splitting on the first two '+', since base64
// may contain '+') and returns the 32 key bytes after checking name, id syntax, type and length.
function decodeKey(s: string, what: string, type: number): { name: string; id: number; key: Uint8Array } {
  const i = s.indexOf('+');
  const j = i < 0 ? -1 : s.indexOf('+', i + 1);
  if (j < 0) throw keyInvalid(`${what}: want <name>+<key id>+<key>`);
  const name = s.slice(0, i);
  const idHex = s.slice(i + 1, j);
  if (!isValidKeyName(name)) throw keyInvalid(`${what}: invalid key name`);
  if (!/^[0-9a-fA-F]{8}$/.test(idHex)) throw keyInvalid(`${what}: key id must be 8 hex digits`);
  const raw = fromBase64Strict(s.slice(j + 1), `${what}: key`, 'KEY_INVALID');
  if (raw.length !== 1 + ED25519_KEY_SIZE)
    throw keyInvalid(`${what}: key is ${raw.length} bytes, want ${1 + ED25519_KEY_SIZE}`);
  if (raw[0] !== type) throw keyInvalid(`${what}: unsupported signature type ${raw[0]}, want ${TYPE_NAMES[type]}`);
  return { name, id: parseInt(idHex, 16), key: raw.subarray(1) };
}

/** The name, seed and public key of a PRIVATE+KEY+ signer key of signature type `type`. KEY_INVALID. */
export function decodeSignerKey(
  skey: string,
  type = ED25519_SIGNATURE_TYPE,
): { name: string; seed: Uint8Array; publicKey: Uint8Array } {
  if (!skey.startsWith(SIGNER_KEY_PREFIX)) throw keyInvalid('signer key: must start with PRIVATE+KEY+');
  const { name, id, key: seed } = decodeKey(skey.slice(SIGNER_KEY_PREFIX.length), 'signer key', type);
  const publicKey = ed.getPublicKey(seed);
  if (keyId(name, publicKey, type) !== id) throw keyInvalid('signer key: key id does not match the key');
  return { name, seed, publicKey };
}

/** The `<name>+<id>+<base64(type || key)>` text of a public key (c2sp.org/signed-note#verifier-keys). */
export function formatVerifierKey(name: string, publicKey: Uint8Array, type = ED25519_SIGNATURE_TYPE): string {
  return `${name}+${formatKeyId(keyId(name, publicKey, type))}+${toBase64(withType(publicKey, type))}`;
}

/**
 * The name, key ID and a verify function (RFC 8032 rules, never throws) of a verifier key of
 * signature type `type`, after recomputing its key ID and checking the point. KEY_INVALID.
 */
export function decodeVerifierKey(
  vkey: string,
  type = ED25519_SIGNATURE_TYPE,
): { name: string; keyId: number; verify: (msg: Uint8Array, sig: Uint8Array) => boolean } {
  const { name, id, key } = decodeKey(vkey, 'verifier key', type);
  if (keyId(name, key, type) !== id) throw keyInvalid(`verifier key ${name}: key id does not match the key`);
  try {
    ed.Point.fromBytes(key, false);
  } catch {
    throw keyInvalid(`verifier key ${name}: not a valid Ed25519 public key`);
  }
  const publicKey = Uint8Array.from(key);
  return {
    name,
    keyId: id,
    verify(msg, sig) {
      if (sig.length !== ED25519_SIGNATURE_SIZE) return false;
      try {
        return ed.verify(sig, msg, publicKey, { zip215: false });
      } catch {
        return false;
      }
    },
  };
}

/** An Ed25519 signature of `msg` by the 32-byte `seed` (RFC 8032, deterministic). */
export function ed25519Sign(msg: Uint8Array, seed: Uint8Array): Uint8Array {
  return ed.sign(msg, seed);
}

// parseSignerKey reads a PRIVATE+KEY+... signer key, checking that its key ID matches the key.
// Throws TailsealError KEY_INVALID.
export function parseSignerKey(skey: string): NoteSigner {
  const { name, seed, publicKey } = decodeSignerKey(skey);
  return {
    name,
    keyId: keyId(name, publicKey),
    verifierKey: formatVerifierKey(name, publicKey),
    sign: (msg) => ed.sign(msg, seed),
  };
}

// parseVerifierKey reads a <name>+<id>+<key> verifier key, recomputing the key ID (like Go's
// NewVerifier) and checking that the bytes are a valid Ed25519 point. Throws TailsealError KEY_INVALID.
// Signatures are checked with RFC 8032 rules (noble's zip215: false), not the laxer ZIP 215.
/**
 * The verifier keys of a key file's text (`key.pub`): one `<name>+<id>+<key>` per line, blank lines
 * and `#` comments skipped. KEY_INVALID when a line is no key or there is none.
 */
export function parseVerifierKeys(text: string): NoteVerifier[] {
  return keyFileLines(text).map((l) => parseVerifierKey(l));
}

/** The key lines of a key file's text: blank lines and `#` comments skipped; KEY_INVALID when none. */
export function keyFileLines(text: string): string[] {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  if (lines.length === 0) throw keyInvalid('holds no key');
  return lines;
}

export function parseVerifierKey(vkey: string): NoteVerifier {
  return decodeVerifierKey(vkey);
}

// generateKeyPair makes a new Ed25519 note key pair named `name`, from `seed` (32 bytes, for
// deterministic tests) or from crypto.getRandomValues.
// `type` 0x04 makes a witness (cosignature/v1) key pair (cosignature.ts).
export function generateKeyPair(
  name: string,
  seed?: Uint8Array,
  type = ED25519_SIGNATURE_TYPE,
): { signerKey: string; verifierKey: string } {
  if (!isValidKeyName(name)) throw keyInvalid('key name must be non-empty, without spaces or "+"');
  const secret = seed ?? ed.utils.randomSecretKey();
  if (secret.length !== ED25519_KEY_SIZE) throw keyInvalid(`seed must be ${ED25519_KEY_SIZE} bytes`);
  const publicKey = ed.getPublicKey(secret);
  const id = formatKeyId(keyId(name, publicKey, type));
  return {
    signerKey: `${SIGNER_KEY_PREFIX}${name}+${id}+${toBase64(withType(secret, type))}`,
    verifierKey: formatVerifierKey(name, publicKey, type),
  };
}

// verifierKeyFromSigner derives the public verifier key string from a signer key string.
export function verifierKeyFromSigner(skey: string): string {
  const { name, publicKey } = decodeSignerKey(skey);
  return formatVerifierKey(name, publicKey);
}
