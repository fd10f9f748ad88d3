// Typed errors with a stable `code`. Callers and tests branch on `code`, never on message text
// (the pattern of undici's UND_ERR_* codes and sigstore's VerificationError).

import { TailsealError as CodedError, type TrailErrorCode } from './trail/errors.js';

/** Every error code tailseal raises: the trail's (src/trail/errors.ts) and these. */
export type ErrorCode =
  | TrailErrorCode
  // configuration and command line
  | 'CONFIG_INVALID'
  | 'CONFIG_NOT_FOUND'
  | 'USAGE'
  // `tailseal prove`: the store holds no entry that matches
  | 'NOT_FOUND'
  // `tailseal index` / `prove --index`: an object indexed before was changed or removed since
  | 'INDEX_STALE'
  // key files
  | 'KEY_EXISTS'
  | 'KEY_PERMISSIONS'
  // state database
  | 'STATE_UNAVAILABLE'
  | 'STATE_VERSION'
  | 'STATE_LOST'
  // sinks
  | 'SINK_RETRYABLE'
  | 'SINK_PERMANENT'
  | 'SINK_CONFLICT'
  // file input: one file that cannot be read (the input reads its other files)
  | 'FILE_UNREADABLE'
  | 'FILE_NOT_REGULAR'
  | 'FILE_PROTECTED';

/**
 * The one coded error class of tailseal (defined in the trail core, which raises it too), typed
 * here with every code: `instanceof TailsealError` holds for the trail's errors as well.
 */
export type TailsealError = CodedError<ErrorCode>;
export const TailsealError = CodedError as new (
  code: ErrorCode,
  message: string,
  opts?: { cause?: unknown; details?: Record<string, unknown> },
) => TailsealError;

/** True when `err` is a TailsealError, optionally with the given code. */
export function isTailsealError(err: unknown, code?: ErrorCode): err is TailsealError {
  return err instanceof CodedError && (code === undefined || err.code === code);
}

/** The message of any thrown value, for logs. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
