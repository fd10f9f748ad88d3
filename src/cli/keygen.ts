// `tailseal keygen`: writes an Ed25519 key pair in the Go sumdb/note key formats.
import { existsSync } from 'node:fs';
import { writeKeyPair } from '../seal/keyfile.js';
import { TailsealError } from '../errors.js';
import { EXIT_OK } from './exit.js';

export interface KeygenOptions {
  name: string;
  out: string;
  ifMissing?: boolean;
  /** A witness key (cosignature/v1, type 0x04) instead of a log key. */
  witness?: boolean;
}

export function keygen(opts: KeygenOptions): number {
  if (opts.ifMissing && existsSync(opts.out)) {
    process.stderr.write(`tailseal: key ${opts.out} exists; keeping it\n`);
    return EXIT_OK;
  }
  if (/[\s+]/.test(opts.name) || opts.name === '')
    throw new TailsealError('USAGE', `key name ${JSON.stringify(opts.name)} must be non-empty with no spaces or "+"`);
  const vkey = writeKeyPair(opts.out, opts.name, { witness: opts.witness === true });
  const kind = opts.witness ? 'witness ' : '';
  process.stderr.write(`tailseal: wrote ${kind}signer key ${opts.out} (mode 0600) and verifier key ${opts.out}.pub\n`);
  process.stdout.write(vkey + '\n');
  return EXIT_OK;
}
