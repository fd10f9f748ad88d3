// Exit codes and how command-line errors are printed.
import { type ErrorCode, TailsealError, errorMessage } from '../errors.js';

export const EXIT_OK = 0;
/** A verification break, or a runtime failure. */
export const EXIT_FAILURE = 1;
/** Bad usage, config or key: the input must be fixed. */
export const EXIT_USAGE = 2;
/** `verify`: the trail is intact, but the store holds changes over it (STORE_TAMPERED). */
export const EXIT_TAMPERED = 3;

/** Codes that mean the input (config, key, arguments) must be fixed: exit 2. */
export const USAGE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'CONFIG_INVALID',
  'CONFIG_NOT_FOUND',
  'USAGE',
  'KEY_INVALID',
  'KEY_EXISTS',
  'KEY_PERMISSIONS',
]);

/** Prints `err` on stderr as `tailseal: CODE: message` lines and returns the exit code it maps to. */
export function reportError(err: unknown): number {
  if (err instanceof TailsealError) {
    for (const line of err.message.split('\n')) process.stderr.write(`tailseal: ${err.code}: ${line}\n`);
    return USAGE_CODES.has(err.code) ? EXIT_USAGE : EXIT_FAILURE;
  }
  process.stderr.write(`tailseal: ${errorMessage(err)}\n`);
  return EXIT_FAILURE;
}
