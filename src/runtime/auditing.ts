// The daemon's integrity audit as one part: which sinks it reads back, with which keys and how far,
// started with the daemon, restarted when a reload changes the audit section, stopped with the daemon.
// The passes themselves are the Auditor's (audit.ts).
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import { loadConfiguredVerifiers } from '../seal/keyfile.js';
import { type Sink, readsBack } from '../sinks/sink.js';
import { type NoteSigner, type NoteVerifier, parseVerifierKey } from '../trail/keys.js';
import { type AuditResult, type AuditTarget, Auditor } from './audit.js';
import { objectReadLimit } from './read-limits.js';

/** The keys the daemon trusts when it reads its own trail back: its signer's and signing.verify_keys. */
export function trustedKeys(config: Pick<Config, 'signing'>, signer: NoteSigner): NoteVerifier[] {
  return [parseVerifierKey(signer.verifierKey), ...loadConfiguredVerifiers(config.signing)];
}

/** What the audit reads, each at the time of a pass. */
export interface AuditingDeps {
  /** The config in force (reload replaces it). */
  config: () => Config;
  /** The signing key in force (reload may replace it). */
  signer: () => NoteSigner;
  /** The running sinks by name (topology.ts); those that can read back are audited. */
  sinks: ReadonlyMap<string, { sink: Sink }>;
  /** Each stream's head (checkpointer.ts): how far it is checkpointed. */
  heads: ReadonlyMap<string, { checkpointedSize: number }>;
  /** Per sink and stream, the first entry of the oldest object not acknowledged yet (store/outbox.ts). */
  outbox: { unackedStarts(sink: string): Map<string, number> };
  /** Each pass's result (metrics). */
  report: (r: AuditResult) => void;
  /** The audit's logger (component "audit"). */
  log: Logger;
}

export class Auditing {
  private auditor: Auditor | null = null;

  constructor(private readonly deps: AuditingDeps) {}

  /**
   * The periodic integrity audit (audit.interval) over the file and s3 sinks (or audit.sinks).
   * The first pass comes soon after start (a minute at most), then one per interval.
   */
  start(): void {
    const a = this.deps.config().audit;
    if (a.interval === 0) return;
    const config = () => this.deps.config();
    this.auditor = new Auditor(
      () => this.targets(),
      () => trustedKeys(config(), this.deps.signer()),
      a.interval,
      a.full_interval,
      this.deps.log,
      this.deps.report,
      () => objectReadLimit(config()),
    );
    this.auditor.start(Math.min(a.interval, 60_000));
  }

  /** After a reload: restarts the audit when its section changed from `before`'s. */
  async reconfigure(before: Config): Promise<void> {
    if (JSON.stringify(before.audit) === JSON.stringify(this.deps.config().audit)) return;
    await this.stop();
    this.start();
  }

  /** Ends a pass in progress between two objects (no verdict) and the schedule. */
  async stop(): Promise<void> {
    await this.auditor?.stop();
    this.auditor = null;
  }

  /** The sinks audited now: those that can read back, of audit.sinks when it is set. */
  targets(): AuditTarget[] {
    const out: AuditTarget[] = [];
    const only = this.deps.config().audit.sinks;
    for (const [name, { sink }] of this.deps.sinks)
      if (readsBack(sink) && (only?.includes(name) ?? true))
        out.push({ name, reader: () => sink.reader(), upTo: () => this.limits(name) });
    return out;
  }

  /**
   * Per origin, how far `sink` is known to hold every object: up to the first object it has not
   * acknowledged, or, with none waiting, the last checkpoint (objects signed after this call may
   * still be in flight, stored out of order when in_flight > 1).
   */
  limits(sink: string): Map<string, number> {
    const limits = new Map<string, number>();
    const origin = this.deps.config().origin;
    for (const [stream, head] of this.deps.heads) limits.set(`${origin}/${stream}`, head.checkpointedSize);
    for (const [stream, first] of this.deps.outbox.unackedStarts(sink)) limits.set(`${origin}/${stream}`, first);
    return limits;
  }
}
