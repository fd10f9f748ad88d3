// The largest upload OPA may legally send, from its `upload_size_limit_bytes`, and the start-time
// check that the receiver's limits take it. OPA never splits or drops a chunk that was refused: it
// re-sends it forever and every later upload waits behind it, so a limit that can refuse one of
// OPA's chunks is a stall waiting to happen, refused at start instead.
//
// OPA caps a chunk's gzip'd size at upload_size_limit_bytes but grows the uncompressed size it
// packs into one (doubling while chunks come out under 90% of the limit), with no cap of its own:
// observed, a 1 MiB limit gave a 420 KB body that decoded to 74 MB. What bounds a chunk is deflate
// itself: at best a 258-byte match costs 2 bits (RFC 1951), so no gzip body expands more than
// 1032-fold, and one decision whose input repeats a character comes close.
import { entryLineOverhead } from '../../seal/encoder.js';
import type { OpaServiceInputConfig } from './config.js';

/** Deflate's largest expansion (258 bytes from 2 bits). */
export const DEFLATE_MAX_RATIO = 1032;

/** OPA clamps upload_size_limit_bytes to at least this (v1/plugins/logs/plugin.go). */
export const OPA_MIN_UPLOAD_LIMIT = 90;

/** OPA's default decision_logs.reporting.upload_size_limit_bytes. */
export const OPA_DEFAULT_UPLOAD_LIMIT = 32 * 1024;

/** Longest `<partition>` in `<resource>/<partition>` (it is sealed into every entry's source). */
export const MAX_PARTITION_CHARS = 64;

/**
 * Body bytes as sent that one of OPA's events takes at least, gzip'd (see max_events in
 * config.ts: its random decision_id alone is ~16 bytes after any compression) or not (a bare
 * decision_id, timestamp and labels are over 150 bytes of JSON).
 */
export const MIN_SENT_BYTES_PER_EVENT = { gzip: 16, identity: 128 };

/** The most one of OPA's uploads can hold: as sent, decoded, events, and entry bytes in the outbox. */
export interface ChunkBound {
  sent: number;
  decoded: number;
  events: number;
  stored: number;
}

type LimitInput = Pick<OpaServiceInputConfig, 'name' | 'stream' | 'resource' | 'opa_upload_size_limit_bytes'>;

/** The most one chunk OPA sends under `opa_upload_size_limit_bytes` can hold (gzip at its best ratio). */
export function largestOpaChunk(input: LimitInput): ChunkBound {
  const sent = input.opa_upload_size_limit_bytes;
  const decoded = DEFLATE_MAX_RATIO * sent;
  const events = Math.floor(sent / MIN_SENT_BYTES_PER_EVENT.gzip);
  return { sent, decoded, events, stored: 2 * decoded + events * entryOverhead(input) };
}

/** Entry-line bytes besides the payload, for the longest source a partition can make. */
function entryOverhead(input: LimitInput): number {
  const source = `opa_service/${input.name}${input.resource.replace(/\/+$/, '')}/${'p'.repeat(MAX_PARTITION_CHARS)}`;
  return entryLineOverhead('decision', input.stream ?? input.name, source);
}

/**
 * Outbox bytes per byte of OPA's limit: escaping a payload into its entry line at most doubles it
 * (`"` and `\`; JSON has no raw control characters and its whitespace escapes to two bytes).
 */
function storedPerSentByte(input: LimitInput): number {
  return 2 * DEFLATE_MAX_RATIO + entryOverhead(input) / MIN_SENT_BYTES_PER_EVENT.gzip;
}

type CheckedInput = LimitInput & Pick<OpaServiceInputConfig, 'max_body_bytes' | 'max_decoded_bytes'>;

/**
 * Why `input` (the `at`-th input) could refuse a chunk OPA may send, one line per limit, each
 * naming both fixes; empty when every such chunk is taken. max_events needs no check (it grows
 * with the body) nor max_inflight_decoded_bytes (the schema keeps it at least max_decoded_bytes).
 */
export function opaChunkProblems(input: CheckedInput, at: number, outboxMaxBytes: number): string[] {
  const b = largestOpaChunk(input);
  const key = `inputs[${at}]`;
  const opa = `opa_upload_size_limit_bytes (${b.sent}, OPA's decision_logs.reporting.upload_size_limit_bytes)`;
  const lower = (most: number) =>
    most >= OPA_MIN_UPLOAD_LIMIT
      ? `or lower OPA's upload_size_limit_bytes and ${key}.opa_upload_size_limit_bytes to at most ${most}`
      : `(OPA's upload_size_limit_bytes cannot go below ${OPA_MIN_UPLOAD_LIMIT})`;
  const stall = 'OPA re-sends a refused chunk forever and every later upload waits behind it';
  const out: string[] = [];
  if (input.max_body_bytes < b.sent) {
    out.push(
      `${key}.max_body_bytes: ${input.max_body_bytes} is below ${opa}; ${stall}. ` +
        `Raise max_body_bytes to at least ${b.sent} ${lower(input.max_body_bytes)}`,
    );
  }
  if (input.max_decoded_bytes < b.decoded) {
    out.push(
      `${key}.max_decoded_bytes: ${input.max_decoded_bytes} is below what a chunk of ${opa} can decode to ` +
        `(${DEFLATE_MAX_RATIO} x ${b.sent} = ${b.decoded}: OPA packs chunks up to gzip's ratio); ${stall}. ` +
        `Raise max_decoded_bytes and max_inflight_decoded_bytes to at least ${b.decoded} ` +
        lower(Math.floor(input.max_decoded_bytes / DEFLATE_MAX_RATIO)),
    );
  }
  if (outboxMaxBytes < b.stored) {
    const most = Math.floor(outboxMaxBytes / storedPerSentByte(input));
    out.push(
      `outbox.max_bytes: ${outboxMaxBytes} is below the entries one chunk of ${key}'s ${opa} can make ` +
        `(${b.stored} bytes); ${stall}. Raise outbox.max_bytes to at least ${b.stored} ${lower(most)}`,
    );
  }
  return out;
}
