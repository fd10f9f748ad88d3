// Typed errors with a stable `code`. Callers and tests branch on `code`, never on message text
// (the pattern of undici's UND_ERR_* codes and sigstore's VerificationError).

/** Every error code tailseal raises. Adding a code is fine; renaming one breaks scripts and tests. */
export type ErrorCode =
  // configuration and command line
  | 'CONFIG_INVALID'
  | 'CONFIG_NOT_FOUND'
  | 'USAGE'
  // keys and signed notes (c2sp.org/signed-note)
  | 'KEY_INVALID'
  | 'KEY_EXISTS'
  | 'KEY_PERMISSIONS'
  | 'NOTE_MALFORMED'
  | 'SIGNATURE_INVALID'
  | 'NO_TRUSTED_SIGNATURE'
  | 'CHECKPOINT_MALFORMED'
  | 'PROOF_INVALID'
  // state database
  | 'STATE_UNAVAILABLE'
  | 'STATE_VERSION'
  | 'STATE_CORRUPT'
  | 'STATE_LOST'
  // verification of a stored trail
  | 'CHAIN_BROKEN'
  | 'ENTRY_ALTERED'
  | 'ENTRY_MISSING'
  | 'ENTRY_REORDERED'
  | 'ENTRY_INSERTED'
  | 'ENTRY_MALFORMED'
  | 'TAIL_TRUNCATED'
  | 'STORE_EMPTY'
  | 'RETENTION_MISSING'
  // a versioned store holds later versions or delete markers over stored objects (verified: the oldest)
  | 'STORE_TAMPERED'
  // a store holds something where an object or its folder belongs that is not one (a FIFO, a
  // device, a symlinked directory): refused, never read or written through
  | 'STORE_UNSAFE'
  // sinks
  | 'SINK_RETRYABLE'
  | 'SINK_PERMANENT'
  | 'SINK_CONFLICT'
  // file input: one file that cannot be read (the input reads its other files)
  | 'FILE_UNREADABLE'
  | 'FILE_NOT_REGULAR'
  | 'FILE_PROTECTED';

export class TailsealError extends Error {
  readonly code: ErrorCode;
  /** Structured context for logs (seq, object, path ...). Never holds secrets. */
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, opts: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'TailsealError';
    this.code = code;
    this.details = opts.details ?? {};
  }
}

/** True when `err` is a TailsealError, optionally with the given code. */
export function isTailsealError(err: unknown, code?: ErrorCode): err is TailsealError {
  return err instanceof TailsealError && (code === undefined || err.code === code);
}

/** The message of any thrown value, for logs. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
