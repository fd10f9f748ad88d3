// `tailseal verify`: proves a stored trail intact, or names its first break.
import { readFileSync } from 'node:fs';
import { loadVerifierKeys } from '../config/keyfile.js';
import { parseDuration } from '../config/units.js';
import { TailsealError, errorMessage } from '../errors.js';
import { fileStoreReader } from '../verify/file-store.js';
import { type StreamReport, verifyTrail } from '../verify/verify-trail.js';
import { EXIT_FAILURE, EXIT_OK, USAGE_CODES } from './exit.js';

export interface VerifyCliOptions {
  store: string;
  publicKey: string[];
  latest?: string[];
  maxAge?: string;
  json?: boolean;
}

function describe(r: StreamReport): string {
  const gaps = r.gaps.length === 0 ? 'no gap records' : `${r.gaps.length} gap record(s): ${r.gaps.map((g) => `seq ${g.seq} ${JSON.stringify(g.detail)} at ${g.source}:${g.offset}`).join('; ')}`;
  return `OK stream ${r.stream} (${r.origin}): ${r.entries} entries in ${r.objects} objects, root ${r.rootHash}, newest checkpoint ${new Date(r.newestCheckpointTime).toISOString()}, signed by ${r.signedBy.join(', ')}; ${gaps}`;
}

export async function verifyCommand(o: VerifyCliOptions): Promise<number> {
  const verifiers = loadVerifierKeys(o.publicKey);
  let maxAgeMs: number | undefined;
  if (o.maxAge !== undefined) {
    maxAgeMs = parseDuration(o.maxAge);
    if (maxAgeMs === undefined) throw new TailsealError('USAGE', `--max-age ${JSON.stringify(o.maxAge)} is not a duration such as 90s, 10m or 2h`);
  }
  const latest = (o.latest ?? []).map((f) => {
    try {
      return readFileSync(f, 'utf8');
    } catch (err) {
      throw new TailsealError('USAGE', `cannot read --latest ${f}: ${errorMessage(err)}`);
    }
  });
  try {
    const reports = await verifyTrail(fileStoreReader(o.store), { verifiers, latest, ...(maxAgeMs === undefined ? {} : { maxAgeMs }) });
    if (o.json) process.stdout.write(JSON.stringify({ ok: true, streams: reports }) + '\n');
    else {
      for (const r of reports) process.stdout.write(describe(r) + '\n');
      if (latest.length === 0 && maxAgeMs === undefined) process.stdout.write('note: tail completeness not checked; pass --latest <checkpoint> or --max-age <duration> to detect removed trailing objects\n');
    }
    return EXIT_OK;
  } catch (err) {
    // Bad usage (an unreadable store, a bad key) is not a verification result.
    if (!(err instanceof TailsealError) || USAGE_CODES.has(err.code)) throw err;
    if (o.json) process.stdout.write(JSON.stringify({ ok: false, code: err.code, message: err.message, ...err.details }) + '\n');
    else process.stdout.write(`FAIL ${err.code}: ${err.message}\n`);
    return EXIT_FAILURE;
  }
}
