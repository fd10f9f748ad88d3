// The verifier page's output: verdict, break and the completeness report. Every string from a chosen file or a
// pasted text is attacker-controlled, so text goes in with textContent only, never as HTML.
import {
  type CompletenessReport,
  type Counted,
  type StreamSummary as ReportStream,
  duration,
  renderHtml,
  renderJson,
} from '../../report/index.js';
import type { Break, Outcome } from './check.js';

/** An element with text (textContent) and children. */
function el(tag: string, text?: string, ...children: (Node | string)[]): HTMLElement {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  e.append(...children);
  return e;
}

const iso = (ms: number): string => (ms > 0 ? new Date(ms).toISOString() : '-');

/** A table of `rows` (strings), under a header row. */
function table(head: string[], rows: string[][]): HTMLElement {
  const t = el('table');
  t.append(el('thead', undefined, el('tr', undefined, ...head.map((h) => el('th', h)))));
  t.append(el('tbody', undefined, ...rows.map((r) => el('tr', undefined, ...r.map((c) => el('td', c))))));
  return t;
}

/** A definition list of label -> value. */
function facts(pairs: [string, string][]): HTMLElement {
  const dl = el('dl');
  for (const [k, v] of pairs) dl.append(el('dt', k), el('dd', v));
  return dl;
}

const n = (x: number): string => x.toLocaleString('en-US');

/** A number marked with its JSON member in the report, as the report's HTML form marks it (src/report/html.ts). */
function num(field: string, x: number): HTMLElement {
  const e = el('span', n(x));
  e.dataset.field = field;
  return e;
}

/** A table whose cells are text or elements, under a header row. */
function grid(head: string[], rows: (string | Node)[][]): HTMLElement {
  const t = table(head, []);
  t.lastElementChild!.append(...rows.map((r) => el('tr', undefined, ...r.map((c) => el('td', undefined, c)))));
  return t;
}

/** Label -> value rows (a two-column table: compact, and printable as the report's HTML form is). */
function pairs(list: [string, string | Node][]): HTMLElement {
  const t = el('table');
  t.append(el('tbody', undefined, ...list.map(([k, v]) => el('tr', undefined, el('th', k), el('td', undefined, v)))));
  return t;
}

/** Counts by name (policy path, result, pointer...), each count marked `<field>.<i>.count`. */
function counted(title: string, field: string, list: Counted[]): HTMLElement {
  if (list.length === 0) return el('p', 'none');
  return grid(
    [title, 'count'],
    list.map((c, i) => [c.name, num(`${field}.${i}.count`, c.count)]),
  );
}

/** Gap records shown one by one; the report lists up to MAX_LISTED, the page fewer (the rest are counted). */
export const GAPS_SHOWN = 50;

const span = (a: string | null, b: string | null): string => `${a ?? '-'} … ${b ?? '-'}`;

function stream(s: ReportStream, i: number): HTMLElement {
  const f = (k: string) => `streams.${i}.${k}`;
  const result = el('span', s.result);
  result.dataset.field = f('result');
  result.className = s.result === 'OK' ? 'ok' : 'fail';
  const silence = s.longest_silence;
  const out = el('div', undefined, el('h3', `Stream ${s.stream}`));
  out.append(
    pairs([
      ['origin', s.origin],
      ['verification', result],
      ['entries', num(f('entries'), s.entries)],
      ['objects', num(f('objects'), s.objects)],
      ['root hash', s.root_hash ?? '-'],
      ['covered (first … last sealed_at)', span(s.covered.first_sealed_at, s.covered.last_sealed_at)],
      ['decisions', num(f('decisions'), s.decisions)],
      ['gap records', num(f('gap_records.count'), s.gap_records.count)],
      ['heartbeats', num(f('heartbeats'), s.heartbeats)],
      ['checkpoints checked', num(f('checkpoints_checked'), s.checkpoints_checked)],
      ['longest silence', silence === null ? '-' : `${duration(silence.ms)} (${span(silence.from, silence.to)})`],
      ['duplicate objects', num(f('duplicates'), s.duplicates)],
      ['signed by', s.keys.map((k) => `${k.name} ${k.key_id}`).join(', ') || '-'],
    ]),
  );
  if (s.gap_records.count > 0) {
    const shown = s.gap_records.listed.slice(0, GAPS_SHOWN);
    out.append(
      grid(
        ['seq', 'reason', 'source', 'from offset', 'bytes', 'sealed_at'],
        shown.map((g) => [
          String(g.seq),
          g.reason,
          g.source,
          String(g.offset),
          g.length === null ? `at least ${g.at_least ?? '?'}` : String(g.length),
          g.sealed_at,
        ]),
      ),
    );
    const more = s.gap_records.count - shown.length;
    if (more > 0)
      out.append(el('p', `and ${n(more)} more gap records (all counted above; the saved report lists more).`));
  }
  if (s.newest_checkpoint !== null) {
    const note = el('pre', s.newest_checkpoint);
    note.dataset.field = f('newest_checkpoint');
    out.append(
      el('p', `Newest checkpoint (${s.newest_checkpoint_time ?? '-'}): save it for tailseal prove --consistency.`),
      note,
    );
  }
  return out;
}

/** What OPA decided: totals by result, by policy path, the bundle revisions, masked and erased fields. */
function decisions(d: CompletenessReport['decisions']): HTMLElement {
  const results = ['allow', 'deny', 'other', 'none'] as const;
  const out = el('div', undefined, el('h3', 'What OPA decided'));
  out.append(
    pairs([
      ['decisions', num('decisions.total', d.total)],
      ['decisions with masked fields', num('decisions.masked_decisions', d.masked_decisions)],
      ['decisions with erased fields', num('decisions.erased_decisions', d.erased_decisions)],
      ['not JSON', num('decisions.not_json', d.not_json)],
    ]),
    grid([...results], [results.map((k) => num(`decisions.by_result.${k}`, d.by_result[k]))]),
    el('h4', 'By policy path'),
    counted('path', 'decisions.by_path', d.by_path),
    el('h4', 'Policy bundle revisions'),
    d.revisions.length === 0
      ? el('p', 'none')
      : grid(
          ['bundle', 'revision', 'decisions'],
          d.revisions.map((r, i) => [r.bundle, r.revision, num(`decisions.revisions.${i}.count`, r.count)]),
        ),
    el('h4', 'Masked fields'),
    counted('JSON pointer', 'decisions.masked', d.masked),
    el('h4', 'Erased fields'),
    counted('JSON pointer', 'decisions.erased', d.erased),
  );
  return out;
}

/**
 * Offers `text` as a file: a Blob behind a blob: URL, followed by an <a download>. The page's CSP
 * (default-src 'none') needs nothing more: a download is a navigation, which no fetch directive
 * governs, and the bytes come from this page's memory, not from a request (src/page/build.ts).
 */
function save(name: string, type: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  // The download has taken the URL once click() returns; the next task may free it.
  setTimeout(() => URL.revokeObjectURL(url), 0);
}

function button(id: string, text: string, onClick: () => void): HTMLElement {
  const b = el('button', text);
  b.id = id;
  b.setAttribute('type', 'button');
  b.addEventListener('click', onClick);
  return b;
}

/**
 * The completeness report (`tailseal report`'s document, built in the same pass as the check): the
 * totals, each stream, what OPA decided, and buttons to save it as `tailseal report` writes it.
 */
export function renderReport(r: CompletenessReport): HTMLElement {
  const out = el('div', undefined, el('h2', 'Completeness report'));
  const entries = el('span', String(r.streams.reduce((x, s) => x + s.entries, 0)));
  entries.id = 'total-entries';
  const checkpoints = r.streams.reduce((x, s) => x + s.checkpoints_checked, 0);
  const totals = el('p', `${r.streams.length} stream(s), `);
  totals.append(entries, ` entries, ${n(checkpoints)} checkpoints checked, generated ${r.generated_at}.`);
  const stamp = r.generated_at.replace(/[:.]/g, '-');
  out.append(
    totals,
    el(
      'p',
      undefined,
      button('save-html', 'Save report (HTML)', () =>
        save(`tailseal-report-${stamp}.html`, 'text/html', renderHtml(r)),
      ),
      ' ',
      button('save-json', 'Save report (JSON)', () =>
        save(`tailseal-report-${stamp}.json`, 'application/json', renderJson(r)),
      ),
    ),
    ...r.streams.map(stream),
    decisions(r.decisions),
  );
  return out;
}

function renderBreak(b: Break): HTMLElement {
  const pairs: [string, string][] = [['code', b.code]];
  if (b.object !== undefined) pairs.push(['object', b.object]);
  if (b.stream !== undefined) pairs.push(['stream', b.stream]);
  if (b.seq !== undefined) pairs.push(['seq', String(b.seq)]);
  pairs.push(['message', b.message]);
  return facts(pairs);
}

/** Shows `o` in the result section: verdict line (OK / FAIL <code>), then the break and/or the report. */
export function renderOutcome(result: HTMLElement, o: Outcome): void {
  const verdict = el('p', o.ok ? 'OK' : `FAIL ${o.failure.code}`);
  verdict.id = 'verdict';
  verdict.className = o.ok ? 'ok' : 'fail';
  let body: HTMLElement;
  if (!o.ok) {
    body = el('div', undefined, renderBreak(o.failure));
    if (o.report) body.append(renderReport(o.report));
  } else if (o.kind === 'trail') body = renderReport(o.report);
  else if (o.kind === 'consistency') {
    const c = o.consistency;
    body = facts([
      ['origin', c.origin],
      ['old tree', `${c.oldSize} entries, checkpoint of ${iso(c.oldTime)}`],
      ['is a prefix of', `${c.newSize} entries, checkpoint of ${iso(c.newTime)}`],
      ['signed by', c.signedBy.join(', ')],
    ]);
  } else
    body = table(
      ['stream', 'seq', 'kind', 'sealed at', 'origin', 'tree size', 'checkpoint time', 'signed by'],
      o.proofs.map((p) => [
        p.envelope.stream,
        String(p.envelope.seq),
        p.envelope.kind,
        iso(p.envelope.sealedAt),
        p.origin,
        String(p.treeSize),
        iso(p.checkpointTime),
        p.signedBy.join(', '),
      ]),
    );
  result.replaceChildren(verdict, body);
  result.dataset.state = 'done';
}
