// Request bodies of the otlp sink: an ExportLogsServiceRequest in either OTLP encoding, packed
// into batches of at most max_batch_bytes (before gzip), and the answer decoded back.
// https://opentelemetry.io/docs/specs/otlp/#otlphttp-request
import { TailsealError } from '../../errors.js';
import { otlpTypes } from './proto.js';
import { type DecisionRecord, type ExportRequestJson, exportRequest } from './records.js';

export type Encoding = 'protobuf' | 'json';

export const CONTENT_TYPE: Record<Encoding, string> = {
  protobuf: 'application/x-protobuf',
  json: 'application/json',
};

/**
 * The protobufjs message object of a request in OTLP/JSON form: the same names; only the ids
 * differ (hex in OTLP/JSON, where protobufjs would read a string as base64).
 */
function protobufObject(req: ExportRequestJson): unknown {
  return {
    resourceLogs: req.resourceLogs.map((rl) => ({
      ...rl,
      scopeLogs: rl.scopeLogs.map((sl) => ({
        ...sl,
        logRecords: sl.logRecords.map((r) => ({
          ...r,
          ...(r.traceId !== undefined ? { traceId: Buffer.from(r.traceId, 'hex') } : {}),
          ...(r.spanId !== undefined ? { spanId: Buffer.from(r.spanId, 'hex') } : {}),
        })),
      })),
    })),
  };
}

/** The request body in `encoding` (uncompressed). */
export function encodeRequest(req: ExportRequestJson, encoding: Encoding): Buffer {
  if (encoding === 'json') return Buffer.from(JSON.stringify(req), 'utf8');
  const T = otlpTypes().ExportLogsServiceRequest;
  const bytes = T.encode(T.fromObject(protobufObject(req) as Record<string, unknown>)).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export interface Batch {
  body: Buffer;
  /** Index of the first record and how many. */
  first: number;
  count: number;
}

/** The fill aimed at when packing by estimate (the real encoding then decides). */
const TARGET_FILL = 0.95;

/**
 * Splits the records, in order, into requests of at most `limit` encoded bytes each. Records are
 * packed by an estimate (each record's JSON length times the encoded/estimated ratio of the last
 * batch, plus each resource's empty request once), then every batch is checked on its real
 * encoding and halved while over the limit: two encodings per record rather than one per guess.
 * A record that alone makes a request over the limit is SINK_PERMANENT naming its seq: it is
 * never dropped, and nothing of the object is sent.
 */
export function batchRecords(
  records: readonly DecisionRecord[],
  limit: number,
  encoding: Encoding,
  sink: string,
  object: string,
): Batch[] {
  const out: Batch[] = [];
  let ratio = 1;
  const emit = (first: number, count: number, estimate: number): void => {
    const body = encodeRequest(exportRequest(records.slice(first, first + count)), encoding);
    if (body.length <= limit) {
      out.push({ body, first, count });
      if (estimate > 0) ratio = Math.min(Math.max(body.length / estimate, 0.1), 2);
      return;
    }
    if (count === 1) {
      const r = records[first]!;
      throw new TailsealError(
        'SINK_PERMANENT',
        `sink ${sink}: the log record of entry seq ${r.seq}${r.decisionId ? ` (decision_id ${r.decisionId})` : ''} ` +
          `in ${object} makes a ${body.length}-byte request, over max_batch_bytes ${limit}; it is not dropped: raise ` +
          `max_batch_bytes (and the receiver's limit) to deliver it`,
        { details: { seq: r.seq, object, size: body.length, limit } },
      );
    }
    const half = Math.ceil(count / 2);
    emit(first, half, 0);
    emit(first + half, count - half, 0);
  };
  const overhead = new Map<string, number>();
  const resourceCost = (r: DecisionRecord): number => {
    let n = overhead.get(r.resourceKey);
    if (n === undefined) overhead.set(r.resourceKey, (n = resourceBytes(r, encoding)));
    return n;
  };
  let start = 0;
  let estimate = 0;
  const seen = new Set<string>();
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    const cost = Buffer.byteLength(JSON.stringify(r.record), 'utf8') + (seen.has(r.resourceKey) ? 0 : resourceCost(r));
    if (i > start && (estimate + cost) * ratio > limit * TARGET_FILL) {
      emit(start, i - start, estimate);
      start = i;
      estimate = 0;
      seen.clear();
      i--; // this record starts the next batch (its resource counted again)
      continue;
    }
    estimate += cost;
    seen.add(r.resourceKey);
  }
  if (start < records.length) emit(start, records.length - start, estimate);
  return out;
}

/** What a request for this record's resource costs without any record. */
function resourceBytes(r: DecisionRecord, encoding: Encoding): number {
  const req = exportRequest([r]);
  req.resourceLogs[0]!.scopeLogs[0]!.logRecords = [];
  return encodeRequest(req, encoding).length;
}

/** partial_success of an ExportLogsServiceResponse; absent fields are 0 / "". */
export interface PartialSuccess {
  rejectedLogRecords: number;
  errorMessage: string;
}

/**
 * The partial_success of a 2xx answer, decoded in the request's encoding (the spec's rule);
 * undefined for an empty body (a full success, or a receiver that answers nothing).
 * Throws when the body is not a response in that encoding.
 */
export function decodeResponse(body: Buffer, encoding: Encoding): PartialSuccess | undefined {
  if (body.length === 0) return undefined;
  let ps: { rejectedLogRecords?: unknown; errorMessage?: unknown } | undefined;
  if (encoding === 'json') {
    const o = JSON.parse(body.toString('utf8')) as { partialSuccess?: typeof ps } | null;
    ps = typeof o === 'object' && o !== null ? o.partialSuccess : undefined;
  } else {
    const T = otlpTypes().ExportLogsServiceResponse;
    const o = T.toObject(T.decode(body), { longs: String }) as { partialSuccess?: typeof ps };
    ps = o.partialSuccess;
  }
  if (typeof ps !== 'object' || ps === null) return undefined;
  const n = Number(ps.rejectedLogRecords ?? 0);
  return {
    rejectedLogRecords: Number.isSafeInteger(n) && n > 0 ? n : 0,
    errorMessage: typeof ps.errorMessage === 'string' ? ps.errorMessage : '',
  };
}
