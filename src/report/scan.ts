// A cheap read of an OPA decision event: only the top-level members the report counts, without
// parsing the rest (the input, the result's data, metrics). JSON.parse of every payload is ~3x slower
// on a 1M-decision store (docs/benchmarks.md, "Auditor's tools"); the members found are small and are
// then parsed with JSON.parse, so their values are exactly what JSON says. A payload that is not a JSON
// object gives null; one broken after the members sought may still give them (it is counted, not judged).

/** The index just past the JSON string starting at `i` (at its opening quote); -1 when unterminated. */
function skipString(s: string, i: number): number {
  let j = i + 1;
  for (;;) {
    const k = s.indexOf('"', j);
    if (k < 0) return -1;
    let backslashes = 0;
    while (s.charCodeAt(k - 1 - backslashes) === 0x5c) backslashes++;
    if (backslashes % 2 === 0) return k + 1;
    j = k + 1;
  }
}

/** The index just past the JSON value starting at `i`; -1 when it does not end. */
function skipValue(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c === 0x22) return skipString(s, i);
  if (c === 0x7b || c === 0x5b) {
    let depth = 0;
    for (let j = i; j < s.length; j++) {
      const d = s.charCodeAt(j);
      if (d === 0x22) {
        j = skipString(s, j) - 1;
        if (j < 0) return -1;
      } else if (d === 0x7b || d === 0x5b) depth++;
      else if ((d === 0x7d || d === 0x5d) && --depth === 0) return j + 1;
    }
    return -1;
  }
  // A number or literal: up to the next delimiter.
  let j = i;
  while (j < s.length) {
    const d = s.charCodeAt(j);
    if (d === 0x2c || d === 0x7d || d === 0x5d || d === 0x20 || d === 0x0a || d === 0x0d || d === 0x09) break;
    j++;
  }
  return j === i ? -1 : j;
}

function skipSpace(s: string, i: number): number {
  for (;;) {
    const c = s.charCodeAt(i);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return i;
    i++;
  }
}

/**
 * The JSON text of each top-level member of the object `s` whose name is in `want` (the last one
 * where a name repeats, as JSON.parse keeps); null when `s` is not an object.
 */
export function topLevelMembers(s: string, want: ReadonlySet<string>): Map<string, string> | null {
  const out = new Map<string, string>();
  // Most members are not wanted: a longer name is never sliced out of the text.
  let longest = 0;
  for (const w of want) longest = Math.max(longest, w.length);
  let i = skipSpace(s, 0);
  if (s.charCodeAt(i) !== 0x7b) return null;
  i = skipSpace(s, i + 1);
  if (s.charCodeAt(i) === 0x7d) return out;
  for (;;) {
    if (s.charCodeAt(i) !== 0x22) return null;
    const keyEnd = skipString(s, i);
    if (keyEnd < 0) return null;
    // (A wanted name written with escapes, "p\u0061th", is at most 6 characters per character.)
    let key = keyEnd - i - 2 <= longest * 6 ? s.slice(i + 1, keyEnd - 1) : '';
    if (key.includes('\\')) {
      try {
        key = JSON.parse(s.slice(i, keyEnd)) as string;
      } catch {
        return null;
      }
    }
    i = skipSpace(s, keyEnd);
    if (s.charCodeAt(i) !== 0x3a) return null;
    const start = skipSpace(s, i + 1);
    const end = skipValue(s, start);
    if (end < 0) return null;
    if (want.has(key)) out.set(key, s.slice(start, end));
    i = skipSpace(s, end);
    const c = s.charCodeAt(i);
    if (c === 0x7d) return out;
    if (c !== 0x2c) return null;
    i = skipSpace(s, i + 1);
  }
}

/**
 * The same member text recurs in nearly every decision (one policy path, one bundle revision): what
 * it parses to is kept for up to CACHED texts per member, cleared when full.
 */
const CACHED = 256;
function cached<T>(cache: Map<string, T>, text: string | undefined, make: (t: string | undefined) => T): T {
  if (text === undefined) return make(text);
  let v = cache.get(text);
  if (v === undefined) {
    if (cache.size >= CACHED) cache.clear();
    v = make(text);
    cache.set(text, v);
  }
  return v;
}

/** JSON.parse of a member's text, undefined when it is not JSON. */
function parsed(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export type DecisionResult = 'allow' | 'deny' | 'other' | 'none';

/** What the report counts of one decision event. */
export interface DecisionFacts {
  /** OPA's policy `path`, or undefined when it has none (or the event is not a JSON object). */
  path: string | undefined;
  result: DecisionResult;
  /** [bundle name, revision] of each bundle in OPA's `bundles` map that names a string revision. */
  revisions: [string, string][];
  /** The JSON pointers in the event's `masked` and `erased` arrays (OPA's and tailseal's masking). */
  masked: string[];
  erased: string[];
  /** False when the payload is not a JSON object. */
  json: boolean;
}

const EVENT = new Set(['path', 'result', 'bundles', 'masked', 'erased']);
const ALLOW = new Set(['allow']);

/** allow/deny for a boolean result or an object with a boolean `allow`; other otherwise; none when absent. */
function resultOf(text: string | undefined): DecisionResult {
  if (text === undefined) return 'none';
  if (text === 'true') return 'allow';
  if (text === 'false') return 'deny';
  if (text.charCodeAt(0) !== 0x7b) return 'other';
  const allow = topLevelMembers(text, ALLOW)?.get('allow');
  return allow === 'true' ? 'allow' : allow === 'false' ? 'deny' : 'other';
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

function pathOf(text: string | undefined): string | undefined {
  const path = parsed(text);
  return typeof path === 'string' ? path : undefined;
}

/** [bundle, revision] of OPA's `bundles` map ({"<bundle>": {"revision": "..."}}). */
function revisionsOf(text: string | undefined): [string, string][] {
  const bundles = parsed(text);
  const revisions: [string, string][] = [];
  if (bundles !== null && typeof bundles === 'object' && !Array.isArray(bundles)) {
    for (const [name, b] of Object.entries(bundles as Record<string, unknown>)) {
      const revision = (b as { revision?: unknown } | null)?.revision;
      if (typeof revision === 'string') revisions.push([name, revision]);
    }
  }
  return revisions;
}

const PATHS = new Map<string, string | undefined>();
const REVISIONS = new Map<string, [string, string][]>();

/** The facts of one decision event's text (the arrays may be shared between calls: do not change them). */
export function decisionFacts(text: string): DecisionFacts {
  const m = topLevelMembers(text, EVENT);
  if (m === null) return { path: undefined, result: 'none', revisions: [], masked: [], erased: [], json: false };
  return {
    path: cached(PATHS, m.get('path'), pathOf),
    result: resultOf(m.get('result')),
    revisions: cached(REVISIONS, m.get('bundles'), revisionsOf),
    masked: strings(parsed(m.get('masked'))),
    erased: strings(parsed(m.get('erased'))),
    json: true,
  };
}
