// `tailseal report`: the completeness report an auditor signs off on (docs/report.md). One verified
// pass over the whole store (the chain needs every entry) feeds the report model (src/report/);
// --since/--until only choose what is counted. Exit 0: written, trail intact; 1: written, the trail
// failed verification or the store holds changes over it (the report says where); 2: usage or I/O.
import { writeFileSync } from 'node:fs';
import { loadVerifierKeys } from '../seal/keyfile.js';
import { NODE_VERIFY } from '../seal/gzip.js';
import { parseDuration } from '../common/units.js';
import { TailsealError, errorMessage } from '../errors.js';
import { type StreamReport, readsRetention, storeTampering, verifyTrail } from '../trail/index.js';
import { ReportBuilder, renderHtml, renderJson, renderMarkdown } from '../report/index.js';
import { EXIT_FAILURE, EXIT_OK, USAGE_CODES } from './exit.js';
import { type StoreOptions, readerFor } from './verify.js';

export interface ReportCliOptions extends StoreOptions {
  publicKey: string[];
  since?: string;
  until?: string;
  maxSilence?: string;
  format?: string;
  out?: string;
}

const FORMATS = { html: renderHtml, json: renderJson, md: renderMarkdown } as const;

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

/** An RFC 3339 time or Unix milliseconds, as Unix ms; USAGE naming both forms otherwise. */
export function parseTime(option: string, s: string): number {
  const t = s.trim();
  const ms = /^\d{1,16}$/.test(t) ? Number(t) : RFC3339.test(t) ? Date.parse(t) : NaN;
  if (!Number.isSafeInteger(ms) || Number.isNaN(new Date(ms).getTime()))
    throw new TailsealError(
      'USAGE',
      `${option} ${JSON.stringify(s)} is not a time: give RFC 3339 (2026-11-29T12:00:00Z) or Unix milliseconds ` +
        '(1795953600000)',
    );
  return ms;
}

export async function reportCommand(o: ReportCliOptions): Promise<number> {
  const format = o.format ?? 'html';
  if (!Object.hasOwn(FORMATS, format))
    throw new TailsealError('USAGE', `--format ${JSON.stringify(format)} is not one of html, json, md`);
  const since = o.since === undefined ? undefined : parseTime('--since', o.since);
  const until = o.until === undefined ? undefined : parseTime('--until', o.until);
  if (since !== undefined && until !== undefined && since > until)
    throw new TailsealError('USAGE', '--since is after --until: swap them');
  const maxSilenceMs = o.maxSilence === undefined ? undefined : parseDuration(o.maxSilence);
  if (maxSilenceMs === undefined && o.maxSilence !== undefined)
    throw new TailsealError('USAGE', `--max-silence ${JSON.stringify(o.maxSilence)} is not a duration (e.g. 2m, 90s)`);
  const verifiers = loadVerifierKeys(o.publicKey);
  const builder = new ReportBuilder({
    verifiers,
    store: o.store,
    now: Date.now(),
    ...(since === undefined ? {} : { since }),
    ...(until === undefined ? {} : { until }),
    ...(maxSilenceMs === undefined ? {} : { maxSilenceMs }),
  });
  const { reader, close } = readerFor(o);
  let result: StreamReport[] | TailsealError;
  try {
    try {
      result = await verifyTrail(reader, {
        verifiers,
        ...NODE_VERIFY,
        onEntry: builder.onEntry,
        onCheckpoint: builder.onCheckpoint,
      });
    } catch (err) {
      // An unreadable store or a bad key is not a verification result.
      if (!(err instanceof TailsealError) || USAGE_CODES.has(err.code)) throw err;
      result = err;
    }
    // S3 Object Lock per verified object: what --min-retention reads, summarised.
    if (Array.isArray(result) && readsRetention(reader))
      for (const r of result)
        for (const name of r.objectNames) builder.addRetention(name, await reader.retention(name));
    builder.setTampering(storeTampering(reader));
  } finally {
    await close();
  }
  const report = builder.finish(result);
  const text = FORMATS[format as keyof typeof FORMATS](report);
  if (o.out === undefined) process.stdout.write(text);
  else {
    try {
      writeFileSync(o.out, text);
    } catch (err) {
      throw new TailsealError('USAGE', `cannot write --out ${o.out}: ${errorMessage(err)}`);
    }
    const v = report.verification;
    const verdict = v.ok ? 'OK' : `FAIL ${v.code}: ${v.message}`;
    process.stdout.write(`${verdict}\nwrote ${o.out} (${report.decisions.total} decisions in range)\n`);
  }
  if (!report.verification.ok) {
    if (o.out === undefined) process.stderr.write(`FAIL ${report.verification.code}: ${report.verification.message}\n`);
    return EXIT_FAILURE;
  }
  if (report.tampering.count > 0) {
    process.stderr.write(`STORE_TAMPERED: ${report.tampering.count} change(s) over stored objects (see the report)\n`);
    return EXIT_FAILURE;
  }
  return EXIT_OK;
}
