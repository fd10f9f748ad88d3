// The fields of an OPA decision event that people filter on in their log search, read
// defensively: every value comes from a decision log (attacker-influenced input included), so
// each field is taken only with the type OPA gives it (docs: "Decision Logs", the event fields)
// and strings are bounded; anything else is left out, never coerced.
// https://www.openpolicyagent.org/docs/management-decision-logs

/** The longest string value a field keeps (longer ones are cut, with the cut marked by "…"). */
export const MAX_FIELD_CHARS = 1024;
/** The most bundles or labels kept (OPA's own are a handful). */
export const MAX_MAP_ENTRIES = 64;

export interface DecisionFields {
  decisionId?: string;
  /** The policy path queried, e.g. `authz/allow` (OPA's `path`), or the ad-hoc `query`. */
  path?: string;
  query?: string;
  /** `result` when it is a boolean, or `result.allow` when that is one: what most policies decide. */
  allow?: boolean;
  /** `result` as compact JSON, bounded (absent when the event has none, e.g. an undefined decision). */
  result?: string;
  /** bundle name -> revision. */
  bundles: Record<string, string>;
  /** OPA's labels (`id`, `version` and the configured ones). */
  labels: Record<string, string>;
  /** The event's `timestamp` (RFC 3339) as Unix ms, when it parses. */
  timestampMs?: number;
  timestamp?: string;
  requestedBy?: string;
  traceId?: string;
  spanId?: string;
}

/** `s` cut to MAX_FIELD_CHARS, the cut marked by "…". */
export const cut = (s: string): string => (s.length <= MAX_FIELD_CHARS ? s : `${s.slice(0, MAX_FIELD_CHARS - 1)}…`);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? cut(v) : undefined);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
// RFC 3339 as OPA writes it (RFC3339Nano, UTC or an offset); Date.parse alone accepts far more.
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/** The search fields of a parsed OPA event (the object consoleLineToEvent's JSON text parses to). */
export function decisionFields(event: unknown): DecisionFields {
  const e = isObject(event) ? event : {};
  // No prototype: a key such as "__proto__" stays an ordinary key.
  const out: DecisionFields = {
    bundles: Object.create(null) as Record<string, string>,
    labels: Object.create(null) as Record<string, string>,
  };
  const set = <K extends keyof DecisionFields>(k: K, v: DecisionFields[K] | undefined) => {
    if (v !== undefined) out[k] = v;
  };
  set('decisionId', str(e.decision_id));
  set('path', str(e.path));
  set('query', str(e.query));
  set('requestedBy', str(e.requested_by));
  set('traceId', str(e.trace_id));
  set('spanId', str(e.span_id));
  if ('result' in e && e.result !== undefined) {
    set('result', cut(JSON.stringify(e.result)));
    if (typeof e.result === 'boolean') out.allow = e.result;
    else if (isObject(e.result) && typeof e.result.allow === 'boolean') out.allow = e.result.allow;
  }
  if (isObject(e.bundles))
    for (const [name, b] of Object.entries(e.bundles).slice(0, MAX_MAP_ENTRIES)) {
      const rev = isObject(b) ? str(b.revision) : undefined;
      if (rev !== undefined) out.bundles[cut(name)] = rev;
    }
  if (isObject(e.labels))
    for (const [k, v] of Object.entries(e.labels).slice(0, MAX_MAP_ENTRIES)) {
      const s = str(v);
      if (s !== undefined) out.labels[cut(k)] = s;
    }
  const ts = str(e.timestamp);
  if (ts !== undefined && RFC3339.test(ts)) {
    const ms = Date.parse(ts);
    if (Number.isFinite(ms)) {
      out.timestamp = ts;
      out.timestampMs = ms;
    }
  }
  return out;
}
