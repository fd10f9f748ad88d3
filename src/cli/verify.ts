// `tailseal verify`: proves a stored trail intact, or names its first break.
import { readFileSync } from 'node:fs';
import { loadVerifierKeys } from '../seal/keyfile.js';
import { parseDuration, parseSize } from '../common/units.js';
import { NODE_VERIFY } from '../seal/gzip.js';
import { TailsealError, errorMessage } from '../errors.js';
import { loadConfig } from '../config/load.js';
import { createLogger } from '../log.js';
import { s3ClientFor } from '../sinks/s3/index.js';
import { type S3WitnessStore, s3WitnessStore } from '../sinks/witness/writer.js';
import { fileStoreReader } from '../sinks/file/reader.js';
import { parseS3Url, s3StoreReader } from '../sinks/s3/reader.js';
import {
  DEFAULT_MAX_OBJECT_BYTES,
  type ObjectReader,
  type StoreTampering,
  type StreamReport,
  describeTampering,
  storeTampering,
  tamperedError,
  verifyTrail,
} from '../trail/index.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_TAMPERED, USAGE_CODES } from './exit.js';
import {
  type WitnessCheck,
  type WitnessCliOptions,
  describeWitnessed,
  witnessCheck,
  witnessOptions,
} from './witnessed.js';

export interface VerifyCliOptions extends WitnessCliOptions {
  store: string;
  publicKey: string[];
  latest?: string[];
  maxAge?: string;
  minRetention?: string;
  /** Largest object read, stored and after gunzip (a size such as 256MiB). */
  maxObjectBytes?: string;
  json?: boolean;
  /** Also list every gap record and duplicate object, one per line. */
  verbose?: boolean;
  /** For s3:// stores: take endpoint, region, addressing, TLS and credentials from this sink of --config. */
  config?: string;
  sink?: string;
  endpoint?: string;
  region?: string;
  pathStyle?: boolean;
}

/** The options that say how to open `--store` (shared by verify and prove). */
export type StoreOptions = Pick<VerifyCliOptions, 'store' | 'config' | 'sink' | 'endpoint' | 'region' | 'pathStyle'>;

/**
 * The object reader for `--store`: a directory, or s3://bucket/prefix. It lists trail objects, or
 * the names `match` takes (a witness store's `.cosigned` objects).
 */
export function readerFor(o: StoreOptions, match?: RegExp): { reader: ObjectReader; close: () => Promise<void> } {
  const url = parseS3Url(o.store);
  if (!url) return { reader: fileStoreReader(o.store, match), close: async () => undefined };
  const { client, dispatcher } = s3StoreClient(o);
  return { reader: s3StoreReader(client, url.prefix, match), close: () => dispatcher.close() };
}

/**
 * The S3 client, sink settings and prefix for an s3:// `--store`: the s3 sink `--sink` of
 * `--config` (its endpoint, TLS, credentials, Object Lock), or `--endpoint`/`--region`/`--path-style`.
 */
export function s3StoreClient(o: StoreOptions): S3WitnessStore {
  const log = () => createLogger('warn');
  const url = parseS3Url(o.store);
  if (!url) throw new TailsealError('USAGE', `${o.store} is not an s3://bucket/prefix URL`);
  if (!o.sink)
    return s3WitnessStore(o.store, { endpoint: o.endpoint, region: o.region, path_style: o.pathStyle }, log());
  if (!o.config) throw new TailsealError('USAGE', '--sink needs --config');
  const found = loadConfig(o.config).sinks.find((s) => s.name === o.sink);
  if (!found || found.type !== 's3') throw new TailsealError('USAGE', `${o.config} has no s3 sink named ${o.sink}`);
  const sink = { ...found, bucket: url.bucket };
  const { client, dispatcher } = s3ClientFor(sink, log());
  return { client, dispatcher, sink, prefix: url.prefix };
}

/**
 * Later versions and delete markers over stored objects (s3:// on a versioned bucket): printed
 * after the verdict on the original versions, as STORE_TAMPERED lines or a `tampering` member.
 */
function tamperingReport(reader: ObjectReader): { list: readonly StoreTampering[]; json: object; text: string } {
  const list = storeTampering(reader);
  if (list.length === 0) return { list, json: {}, text: '' };
  const { code, message } = tamperedError(list);
  // The trail verified: `ok` false with the tampering code, `intact` true for the content.
  const json = { ok: false, code, message, intact: true, tampering: list };
  const head = message.slice(0, message.indexOf(': '));
  const lines = [`TAMPERED ${code}: ${head}:`, ...list.map((t) => `  ${describeTampering(t)}`)];
  return { list, json, text: lines.join('\n') + '\n' };
}

/** The reason of a gap record's payload, for the summary ("unknown" when it has none). */
function gapReason(detail: unknown): string {
  const reason = (detail as { reason?: unknown } | null)?.reason;
  return typeof reason === 'string' ? reason : 'unknown';
}

/**
 * One line per stream: gap records counted by reason, not printed (a stream may hold thousands,
 * with the head of an over-long line each); --verbose or --json gives each one.
 */
function describe(r: StreamReport): string {
  const byReason = new Map<string, number>();
  for (const g of r.gaps) byReason.set(gapReason(g.detail), (byReason.get(gapReason(g.detail)) ?? 0) + 1);
  const counts = [...byReason].sort(([a, x], [b, y]) => y - x || a.localeCompare(b)).map(([k, v]) => `${v} ${k}`);
  const gaps = r.gaps.length === 0 ? 'no gap records' : `${r.gaps.length} gap record(s): ${counts.join(', ')}`;
  const dups = r.duplicates.length === 0 ? '' : `; ${r.duplicates.length} duplicate object(s) ignored`;
  const checkpoint = new Date(r.newestCheckpointTime).toISOString();
  return (
    `OK stream ${r.stream} (${r.origin}): ${r.entries} entries in ${r.objects} objects, root ${r.rootHash}, ` +
    `newest checkpoint ${checkpoint}, signed by ${r.signedBy.join(', ')}; ${gaps}${dups}`
  );
}

/** --verbose: each gap record and duplicate object of a stream on its own line. */
function details(r: StreamReport): string {
  return [
    ...r.gaps.map((g) => `  gap seq ${g.seq} at ${g.source}:${g.offset} ${JSON.stringify(g.detail)}\n`),
    ...r.duplicates.map((d) => `  duplicate ${d.object} (same bytes as ${d.sameAs})\n`),
  ].join('');
}

export async function verifyCommand(o: VerifyCliOptions): Promise<number> {
  const verifiers = loadVerifierKeys(o.publicKey);
  let maxAgeMs: number | undefined;
  if (o.maxAge !== undefined) {
    maxAgeMs = parseDuration(o.maxAge);
    if (maxAgeMs === undefined)
      throw new TailsealError(
        'USAGE',
        `--max-age ${JSON.stringify(o.maxAge)} is not a duration such as 90s, 10m or 2h`,
      );
  }
  let minRetentionMs: number | undefined;
  if (o.minRetention !== undefined) {
    minRetentionMs = parseDuration(o.minRetention);
    if (minRetentionMs === undefined)
      throw new TailsealError(
        'USAGE',
        `--min-retention ${JSON.stringify(o.minRetention)} is not a duration such as 365d`,
      );
  }
  let maxObjectBytes = DEFAULT_MAX_OBJECT_BYTES;
  if (o.maxObjectBytes !== undefined) {
    const n = parseSize(o.maxObjectBytes);
    if (n === undefined || n < 1024) {
      const got = JSON.stringify(o.maxObjectBytes);
      throw new TailsealError('USAGE', `--max-object-bytes ${got} is not a size of at least 1KiB, such as 64MiB`);
    }
    maxObjectBytes = n;
  }
  const latest = (o.latest ?? []).map((f) => {
    try {
      return readFileSync(f, 'utf8');
    } catch (err) {
      throw new TailsealError('USAGE', `cannot read --latest ${f}: ${errorMessage(err)}`);
    }
  });
  const witnessKeys = witnessOptions(o);
  const { reader, close } = readerFor(o);
  try {
    let witness: WitnessCheck | undefined;
    if (witnessKeys)
      witness = await witnessCheck(o, { ...witnessKeys, writers: verifiers }, (store, match) =>
        readerFor({ ...o, store }, match),
      );
    const reports = await verifyTrail(reader, {
      verifiers,
      latest: [...latest, ...(witness?.latest ?? [])],
      ...(witness ? { onCheckpoint: witness.onCheckpoint } : {}),
      maxObjectBytes,
      ...NODE_VERIFY,
      ...(maxAgeMs === undefined ? {} : { maxAgeMs }),
      ...(minRetentionMs === undefined ? {} : { minRetentionMs, minRetentionText: o.minRetention!.trim() }),
    });
    const witnessed = witness?.finish(reports);
    const tampered = tamperingReport(reader);
    // The report's resume state and object list are for the daemon's audit, not for output.
    const streams = reports.map(({ resume: _r, objectNames: _o, tail: _t, ...r }) => r);
    const witnessedJson = witnessed ? { witnessed } : {};
    if (o.json) process.stdout.write(JSON.stringify({ ok: true, streams, ...witnessedJson, ...tampered.json }) + '\n');
    else {
      for (const r of reports) process.stdout.write(describe(r) + '\n' + (o.verbose ? details(r) : ''));
      for (const w of witnessed ?? []) process.stdout.write(describeWitnessed(w) + '\n');
      // A warning on stderr too: a copy is no break, but something wrote it.
      for (const r of reports) {
        for (const d of r.duplicates) {
          process.stderr.write(`warning: ${d.object} is a byte-identical copy of ${d.sameAs} (verified once)\n`);
        }
      }
      if (latest.length === 0 && maxAgeMs === undefined && o.witnessStore === undefined)
        process.stdout.write(
          'note: tail completeness not checked; pass --latest <checkpoint> or --max-age <duration> to detect ' +
            'removed trailing objects\n',
        );
      process.stdout.write(tampered.text);
    }
    return tampered.list.length > 0 ? EXIT_TAMPERED : EXIT_OK;
  } catch (err) {
    // Bad usage (an unreadable store, a bad key) is not a verification result.
    if (!(err instanceof TailsealError) || USAGE_CODES.has(err.code)) throw err;
    // A break in the original versions outranks tampering over them (exit 1), but both are shown.
    const tampered = tamperingReport(reader);
    const also = tampered.list.length > 0 ? { tampering: tampered.list } : {};
    const out = { ok: false, code: err.code, message: err.message, ...err.details, ...also };
    if (o.json) process.stdout.write(JSON.stringify(out) + '\n');
    else process.stdout.write(`FAIL ${err.code}: ${err.message}\n${tampered.text}`);
    return EXIT_FAILURE;
  } finally {
    await close();
  }
}
