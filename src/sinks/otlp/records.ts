// One OTLP LogRecord per decision, in the OTLP/JSON form (lowerCamelCase names, 64-bit integers
// as decimal strings, trace/span ids as hex: https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding).
// encode.ts turns the same objects into protobuf, so both encodings say the same thing.
//
// The body is the OPA event as a string of its exact JSON (OPA's own bytes: key order, escapes and
// integers beyond 2^53 untouched). A kvlist AnyValue would have to re-type every value: JSON
// null has no AnyValue, numbers would have to be guessed int64 or double, and a deep input would
// become a deep message some receivers refuse. The fields people filter on are attributes instead.
import { hostname } from 'node:os';
import { VERSION } from '../../version.js';
import type { DecisionEvent } from '../decisions/events.js';
import { cut } from '../decisions/fields.js';
import { SEVERITY_INFO } from './proto.js';

export type AnyValue = { stringValue: string } | { boolValue: boolean } | { intValue: string };
export interface KeyValue {
  key: string;
  value: AnyValue;
}

export interface LogRecordJson {
  timeUnixNano: string;
  observedTimeUnixNano: string;
  severityNumber: number;
  severityText: string;
  body: { stringValue: string };
  attributes: KeyValue[];
  /** W3C trace context of the decision (OPA's trace_id/span_id), lowercase hex. */
  traceId?: string;
  spanId?: string;
}

export interface ResourceLogsJson {
  resource: { attributes: KeyValue[] };
  scopeLogs: { scope: { name: string; version: string }; logRecords: LogRecordJson[] }[];
}

export interface ExportRequestJson {
  resourceLogs: ResourceLogsJson[];
}

/** A record with what batching needs: its seq, and the resource it belongs to. */
export interface DecisionRecord {
  seq: number;
  decisionId: string | undefined;
  record: LogRecordJson;
  resource: KeyValue[];
  /** Identifies the resource (its attributes as JSON). */
  resourceKey: string;
}

/** What the file source records of a container log (sources/file/container.ts) -> OpenTelemetry's names. */
const K8S_ATTRIBUTES: readonly [string, string][] = [
  ['k8s.namespace', 'k8s.namespace.name'],
  ['k8s.pod', 'k8s.pod.name'],
  ['k8s.pod_uid', 'k8s.pod.uid'],
  ['k8s.container', 'k8s.container.name'],
  ['k8s.container_id', 'container.id'],
];

export const SCOPE = { name: 'tailseal', version: VERSION };

const str = (key: string, v: string): KeyValue => ({ key, value: { stringValue: v } });

/**
 * The resource of a decision: host.name (where tailseal ran), the Kubernetes pod, namespace and
 * container when the decision came from a container log, then the configured attributes (which
 * win over the others).
 */
export function resourceOf(meta: DecisionEvent['meta'], configured: Record<string, string>): KeyValue[] {
  const attrs = new Map<string, string>([['host.name', hostname()]]);
  if (meta) for (const [from, to] of K8S_ATTRIBUTES) if (meta[from] !== undefined) attrs.set(to, cut(meta[from]));
  for (const [k, v] of Object.entries(configured)) attrs.set(k, v);
  return [...attrs].map(([k, v]) => str(k, v));
}

const NS_PER_MS = 1_000_000n;
const TIMESTAMP = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/;

/** An RFC 3339 timestamp (OPA's RFC3339Nano) as Unix nanoseconds, keeping every digit; undefined before 1970. */
export function unixNanos(ts: string): bigint | undefined {
  const m = TIMESTAMP.exec(ts);
  if (!m) return undefined;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (!Number.isFinite(ms) || ms < 0) return undefined;
  return BigInt(ms) * NS_PER_MS + BigInt((m[2] ?? '').padEnd(9, '0'));
}

const TRACE_ID = /^(?!0+$)[0-9a-f]{32}$/;
const SPAN_ID = /^(?!0+$)[0-9a-f]{16}$/;

/** The log record of one decision, with the seal's attributes naming the entry it came from. */
export function decisionRecord(e: DecisionEvent, stream: string, object: string, resource: KeyValue[]): DecisionRecord {
  const f = e.fields;
  const attrs: KeyValue[] = [];
  if (f.decisionId !== undefined) attrs.push(str('opa.decision_id', f.decisionId));
  if (f.path !== undefined) attrs.push(str('opa.path', f.path));
  if (f.query !== undefined) attrs.push(str('opa.query', f.query));
  if (f.allow !== undefined) attrs.push({ key: 'opa.allow', value: { boolValue: f.allow } });
  if (f.result !== undefined) attrs.push(str('opa.result', f.result));
  if (f.requestedBy !== undefined) attrs.push(str('opa.requested_by', f.requestedBy));
  for (const [name, rev] of Object.entries(f.bundles)) attrs.push(str(`opa.bundles.${name}.revision`, rev));
  for (const [k, v] of Object.entries(f.labels)) attrs.push(str(`opa.labels.${k}`, v));
  attrs.push(
    str('tailseal.stream', stream),
    { key: 'tailseal.seq', value: { intValue: String(e.seq) } },
    str('tailseal.chain', e.chain),
    str('tailseal.object', object),
  );
  const sealed = BigInt(e.sealedAt) * NS_PER_MS;
  const record: LogRecordJson = {
    timeUnixNano: String((f.timestamp !== undefined ? unixNanos(f.timestamp) : undefined) ?? sealed),
    observedTimeUnixNano: String(sealed),
    severityNumber: SEVERITY_INFO,
    severityText: 'INFO',
    body: { stringValue: e.json },
    attributes: attrs,
  };
  if (f.traceId !== undefined && TRACE_ID.test(f.traceId)) {
    record.traceId = f.traceId;
    if (f.spanId !== undefined && SPAN_ID.test(f.spanId)) record.spanId = f.spanId;
  }
  return { seq: e.seq, decisionId: e.decisionId, record, resource, resourceKey: JSON.stringify(resource) };
}

/** The export request of some records, grouped by resource (first appearance order; seq order within). */
export function exportRequest(records: readonly DecisionRecord[]): ExportRequestJson {
  const groups = new Map<string, ResourceLogsJson>();
  for (const r of records) {
    let g = groups.get(r.resourceKey);
    if (!g) {
      g = { resource: { attributes: r.resource }, scopeLogs: [{ scope: SCOPE, logRecords: [] }] };
      groups.set(r.resourceKey, g);
    }
    g.scopeLogs[0]!.logRecords.push(r.record);
  }
  return { resourceLogs: [...groups.values()] };
}
