// The trail's typed errors, with a stable `code`. Callers and tests branch on `code`, never on
// message text (the pattern of undici's UND_ERR_* codes and sigstore's VerificationError).
//
// One error class for all of tailseal: it lives here, in the trail core (which may import
// nothing else of tailseal), and src/errors.ts gives the same class its wider set of codes
// (configuration, state, sinks ...). So an error the trail throws is a TailsealError to the
// daemon and the CLI too (`instanceof`, isTailsealError), and the trail needs no other code.

/** The codes the trail core raises. Adding a code is fine; renaming one breaks scripts and tests. */
export type TrailErrorCode =
  // keys and signed notes (c2sp.org/signed-note)
  | 'KEY_INVALID'
  | 'NOTE_MALFORMED'
  | 'SIGNATURE_INVALID'
  | 'NO_TRUSTED_SIGNATURE'
  | 'CHECKPOINT_MALFORMED'
  | 'PROOF_INVALID'
  // witness cosignatures (c2sp.org/tlog-cosignature): a trusted witness's line that is no
  // cosignature/v1, or dated ahead of the verifier's clock; two inconsistent checkpoints of one
  // origin; fewer valid cosignatures than required
  | 'COSIGNATURE_MALFORMED'
  | 'COSIGNATURE_TIME'
  | 'CHECKPOINT_FORK'
  | 'WITNESS_QUORUM'
  // a c2sp.org/tlog-witness add-checkpoint request or response that does not follow the protocol
  | 'WITNESS_PROTOCOL'
  // a proof bundle (bundle.ts) that is not one: bad JSON, a missing, mistyped or unknown member
  | 'BUNDLE_MALFORMED'
  // a stored compact range (CompactRange.deserialize) that cannot be what was written
  | 'STATE_CORRUPT'
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
  | 'STORE_UNSAFE';

/** A coded error. `C` is the set of codes: the trail's own here, all of tailseal's in src/errors.ts. */
export class TailsealError<C extends string = TrailErrorCode> extends Error {
  readonly code: C;
  /** Structured context for logs (seq, object, path ...). Never holds secrets. */
  readonly details: Record<string, unknown>;

  constructor(code: C, message: string, opts: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'TailsealError';
    this.code = code;
    this.details = opts.details ?? {};
  }
}

/** True when `err` is a TailsealError, optionally with the given code. */
export function isTailsealError<C extends string = TrailErrorCode>(err: unknown, code?: C): err is TailsealError<C> {
  return err instanceof TailsealError && (code === undefined || err.code === code);
}
