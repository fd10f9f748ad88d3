// Reading and writing key files. The signer key file holds one line in the Go
// golang.org/x/mod/sumdb/note format (PRIVATE+KEY+<name>+<id>+<base64>), mode 0600; the
// verifier key file beside it (<file>.pub) holds `<name>+<id>+<base64>`.
import { type Stats, mkdirSync, openSync, statSync, writeSync, closeSync, fsyncSync } from 'node:fs';
import { dirname } from 'node:path';
import { TailsealError, errorMessage } from '../errors.js';
import { readRegularFile } from '../common/read-file.js';
import {
  generateKeyPair,
  parseSignerKey,
  parseVerifierKeys,
  type NoteSigner,
  type NoteVerifier,
} from '../trail/keys.js';
import {
  type WitnessSigner,
  type WitnessVerifier,
  generateWitnessKeyPair,
  parseWitnessSignerKey,
  parseWitnessVerifierKeys,
} from '../trail/cosignature.js';

/**
 * The configured signer: from `signing.key_env` (an environment variable holding the key text)
 * or from `signing.key_file` (see loadSignerKey).
 */
export function loadConfiguredSigner(
  signing: { key_file?: string | undefined; key_env?: string | undefined; allow_group_read: boolean },
  env: NodeJS.ProcessEnv = process.env,
): NoteSigner {
  if (signing.key_env !== undefined) {
    const text = env[signing.key_env]?.trim();
    if (!text)
      throw new TailsealError(
        'KEY_INVALID',
        `signing.key_env: environment variable ${signing.key_env} is not set or empty; set it to the signer key ` +
          `(the line \`tailseal keygen\` writes to its key file)`,
      );
    try {
      return parseSignerKey(text);
    } catch (err) {
      throw new TailsealError('KEY_INVALID', `signing key in ${signing.key_env}: ${errorMessage(err)}`, { cause: err });
    }
  }
  return loadSignerKey(signing.key_file!, { allowGroupRead: signing.allow_group_read });
}

/**
 * Loads the signer key; refuses a file that others can read, or its group (like ssh does)
 * unless `allowGroupRead` (a Kubernetes Secret mounted with fsGroup and mode 0440).
 */
export function loadSignerKey(file: string, opts: { allowGroupRead?: boolean } = {}): NoteSigner {
  return parseKeyFile(file, readSignerKeyText(file, opts), parseSignerKey);
}

/** Loads a witness signer key (type 0x04, `tailseal keygen --witness`), with loadSignerKey's checks. */
export function loadWitnessSignerKey(file: string): WitnessSigner {
  return parseKeyFile(file, readSignerKeyText(file, {}), parseWitnessSignerKey);
}

function parseKeyFile<T>(file: string, text: string, parse: (text: string) => T): T {
  try {
    return parse(text);
  } catch (err) {
    throw new TailsealError('KEY_INVALID', `signing key ${file}: ${errorMessage(err)}`, { cause: err });
  }
}

function readSignerKeyText(file: string, opts: { allowGroupRead?: boolean }): string {
  let text: string;
  try {
    // The mode is checked on the opened file, before it is read.
    const check = (st: Stats) => refuseOpenKey(file, st, opts.allowGroupRead === true);
    text = readRegularFile(file, { code: 'KEY_INVALID', label: `signing key ${file}`, check })
      .toString('utf8')
      .trim();
  } catch (err) {
    if (err instanceof TailsealError) throw err;
    throw new TailsealError(
      'KEY_INVALID',
      `signing key ${file} cannot be read: ${errorMessage(err)}; create one with \`tailseal keygen --name <origin> ` +
        `--out ${file}\``,
      { cause: err },
    );
  }
  return text;
}

/** KEY_PERMISSIONS when others can read the key, or its group (unless `allowGroupRead`; never write). */
function refuseOpenKey(file: string, st: Stats, allowGroupRead: boolean): void {
  const forbidden = allowGroupRead ? 0o037 : 0o077;
  if ((st.mode & forbidden) === 0) return;
  const fix = allowGroupRead
    ? `run \`chmod 640 ${file}\` (or 440)`
    : `run \`chmod 600 ${file}\`, or for a Kubernetes Secret mounted with fsGroup and defaultMode 0440 set ` +
      'signing.allow_group_read';
  const who = allowGroupRead ? 'others, or writable by its group' : 'group or others';
  const msg = `signing key ${file} is accessible by ${who} (mode ${(st.mode & 0o777).toString(8)}); ${fix}`;
  throw new TailsealError('KEY_PERMISSIONS', msg);
}

/** Loads verifier keys: each file holds one or more `<name>+<id>+<base64>` lines. */
export function loadVerifierKeys(files: readonly string[]): NoteVerifier[] {
  return loadKeyFiles(files, parseVerifierKeys);
}

/** Loads witness verifier keys (type 0x04): each file holds one or more `<name>+<id>+<base64>` lines. */
export function loadWitnessVerifierKeys(files: readonly string[]): WitnessVerifier[] {
  return loadKeyFiles(files, parseWitnessVerifierKeys);
}

function loadKeyFiles<T>(files: readonly string[], parse: (text: string) => T[]): T[] {
  const out: T[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readRegularFile(file, { code: 'KEY_INVALID', label: `public key ${file}` }).toString('utf8');
    } catch (err) {
      if (err instanceof TailsealError) throw err;
      throw new TailsealError('KEY_INVALID', `public key ${file} cannot be read: ${errorMessage(err)}`, { cause: err });
    }
    try {
      out.push(...parse(text));
    } catch (err) {
      throw new TailsealError('KEY_INVALID', `public key ${file}: ${errorMessage(err)}`, { cause: err });
    }
  }
  return out;
}

/**
 * signing.verify_keys, loaded: at start and at every reload, so a mistyped path or key line is
 * refused at once instead of failing every later audit and lost-state recovery.
 */
export function loadConfiguredVerifiers(signing: { verify_keys: readonly string[] }): NoteVerifier[] {
  try {
    return loadVerifierKeys(signing.verify_keys);
  } catch (err) {
    const fix = 'fix the path, or the line `tailseal keygen` wrote to the .pub file, or remove the entry';
    throw new TailsealError('KEY_INVALID', `signing.verify_keys: ${errorMessage(err)}; ${fix}`, { cause: err });
  }
}

function writeNew(file: string, text: string, mode: number): void {
  // 'wx': never overwrite an existing key.
  const fd = openSync(file, 'wx', mode);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes a new key pair: `file` (signer key, 0600) and `file.pub` (verifier key, 0644).
 * Refuses to overwrite either. Returns the verifier key string.
 */
export function writeKeyPair(file: string, name: string, opts: { witness?: boolean } = {}): string {
  const pub = `${file}.pub`;
  for (const f of [file, pub]) {
    let exists = true;
    try {
      statSync(f);
    } catch {
      exists = false;
    }
    if (exists)
      throw new TailsealError(
        'KEY_EXISTS',
        `${f} already exists; tailseal never overwrites a key (move it away first)`,
      );
  }
  const { signerKey, verifierKey } = opts.witness ? generateWitnessKeyPair(name) : generateKeyPair(name);
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeNew(file, signerKey + '\n', 0o600);
  writeNew(pub, verifierKey + '\n', 0o644);
  return verifierKey;
}
