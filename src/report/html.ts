// The completeness report as one self-contained HTML page: no script, no external stylesheet, font
// or image (a Content-Security-Policy forbids loading any), printable, with an inline SVG chart of
// decisions per hour and the silences marked. Every string from the store goes through escapeHtml.
// Numbers carry data-field attributes naming their JSON member, so a test can match them to the JSON form.
import { escapeHtml as h } from './escape.js';
import { duration } from './markdown.js';
import { type CompletenessReport, type Counted, type StreamSummary } from './model.js';

const n = (x: number): string => x.toLocaleString('en-US');
const num = (field: string, x: number): string => `<span data-field="${h(field)}">${n(x)}</span>`;
const orDash = (s: string | null): string => (s === null ? '–' : h(s));

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1b1b1b;max-width:1000px;margin:2em auto;
padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em}h2{margin-top:1.6em;border-bottom:1px solid #ccc}h3{margin-top:1.2em}
table{border-collapse:collapse;margin:.5em 0 1em}
td,th{border:1px solid #ccc;padding:.2em .6em;text-align:left;vertical-align:top}
th{background:#f2f2f2}td.n{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#0a6b2a;font-weight:700}.fail{color:#b00020;font-weight:700}.muted{color:#666}
code,pre{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.9em;word-break:break-all}
pre{background:#f6f6f6;padding:.6em;white-space:pre-wrap}
svg{width:100%;height:auto;border:1px solid #ddd}.bar{fill:#3466a8}.silence{fill:#e3a21a;fill-opacity:.35}
.axis{font-size:11px;fill:#444}
@media print{body{margin:0;max-width:none;font-size:11pt}h2{break-after:avoid}table,svg,pre{break-inside:avoid}
a{color:inherit;text-decoration:none}}
`;

/** Nothing loads: no script, no font, no image, no request (the page may be opened offline). */
const CSP = "default-src 'none'; style-src 'unsafe-inline'";

/** A table row of cells that are already HTML. */
const tr = (cells: string[], tag = 'td'): string => `<tr>${cells.map((c) => `<${tag}>${c}</${tag}>`).join('')}</tr>`;

function rows(list: [string, string][]): string {
  return `<table>${list.map(([k, v]) => `<tr><th>${k}</th><td>${v}</td></tr>`).join('')}</table>`;
}

function counted(title: string, field: string, list: Counted[]): string {
  if (list.length === 0) return '<p class="muted">none</p>';
  const body = list
    .map((c, i) => `<tr><td>${h(c.name)}</td><td class="n">${num(`${field}.${i}.count`, c.count)}</td></tr>`)
    .join('');
  return `<table><tr><th>${title}</th><th>count</th></tr>${body}</table>`;
}

/** The chart: one bar per hour with decisions, silences as shaded bands, over the hours covered. */
export function chart(r: CompletenessReport): string {
  const hours = r.decisions.per_hour.map((x) => ({ t: Date.parse(x.hour), count: x.count }));
  const silences = r.streams.flatMap((s) => {
    const list = s.silences.length > 0 ? s.silences : s.longest_silence ? [s.longest_silence] : [];
    return list.map((x) => ({ from: Date.parse(x.from), to: Date.parse(x.to), stream: s.stream, ms: x.ms }));
  });
  if (hours.length === 0) return '<p class="muted">No decisions in the range: no chart.</p>';
  const HOUR = 3_600_000;
  const start = hours[0]!.t;
  const end = hours.at(-1)!.t + HOUR;
  const W = 900;
  const H = 220;
  const left = 50;
  const bottom = 30;
  const top = 10;
  const plotW = W - left - 10;
  const plotH = H - top - bottom;
  const x = (t: number): number => left + ((Math.min(Math.max(t, start), end) - start) / (end - start)) * plotW;
  const max = Math.max(...hours.map((b) => b.count));
  const barW = Math.max(1, (HOUR / (end - start)) * plotW - 1);
  const bands = silences
    .filter((s) => s.to > start && s.from < end)
    .map((s) => {
      const x0 = x(s.from);
      const w = Math.max(1, x(s.to) - x0);
      const when = `${new Date(s.from).toISOString()} to ${new Date(s.to).toISOString()}`;
      const title = `stream ${s.stream}: no checkpoint for ${duration(s.ms)} (${when})`;
      const at = `x="${x0.toFixed(1)}" y="${top}" width="${w.toFixed(1)}" height="${plotH}"`;
      return `<rect class="silence" ${at}><title>${h(title)}</title></rect>`;
    });
  const bars = hours.map((b) => {
    const bh = Math.max(1, (b.count / max) * plotH);
    const title = `${new Date(b.t).toISOString().slice(0, 13)}:00Z: ${b.count} decisions`;
    return (
      `<rect class="bar" data-hour="${new Date(b.t).toISOString()}" data-count="${b.count}" x="${x(b.t).toFixed(1)}" ` +
      `y="${(top + plotH - bh).toFixed(1)}" width="${barW.toFixed(1)}" height="${bh.toFixed(1)}">` +
      `<title>${title}</title></rect>`
    );
  });
  const label = (t: number) => new Date(t).toISOString().slice(0, 13).replace('T', ' ') + 'h';
  const axis = [
    `<line x1="${left}" y1="${top + plotH}" x2="${W - 10}" y2="${top + plotH}" stroke="#888"/>`,
    `<text class="axis" x="${left}" y="${H - 10}">${label(start)}</text>`,
    `<text class="axis" x="${W - 10}" y="${H - 10}" text-anchor="end">${label(end)}</text>`,
    `<text class="axis" x="${left - 4}" y="${top + 10}" text-anchor="end">${n(max)}</text>`,
    `<text class="axis" x="${left - 4}" y="${top + plotH}" text-anchor="end">0</text>`,
  ];
  return (
    `<svg id="chart" viewBox="0 0 ${W} ${H}" role="img" aria-label="decisions per hour, UTC" xmlns="http://www.w3.org/2000/svg">` +
    [...bars, ...bands, ...axis].join('') +
    '</svg>' +
    `<p class="muted">Bars: decisions per hour (UTC). Shaded: silences, times without a checkpoint longer than ` +
    `${duration(r.max_silence_ms)} (a running writer checkpoints at least every checkpoint.heartbeat).</p>`
  );
}

function stream(s: StreamSummary, i: number): string {
  const f = (k: string) => `streams.${i}.${k}`;
  const ok = s.result === 'OK';
  const out = [
    `<h3>Stream <code>${h(s.stream)}</code></h3>`,
    rows([
      ['origin', `<code>${h(s.origin)}</code>`],
      ['verification', `<span class="${ok ? 'ok' : 'fail'}" data-field="${f('result')}">${h(s.result)}</span>`],
      ['entries (whole stream)', num(f('entries'), s.entries)],
      ['objects', num(f('objects'), s.objects)],
      ['root hash', s.root_hash === null ? '–' : `<code>${h(s.root_hash)}</code>`],
      ['stored (first … last sealed_at)', `${orDash(s.stored.first_sealed_at)} … ${orDash(s.stored.last_sealed_at)}`],
      [
        'in range (first … last sealed_at)',
        `${orDash(s.covered.first_sealed_at)} … ${orDash(s.covered.last_sealed_at)}`,
      ],
      ['decisions in range', num(f('decisions'), s.decisions)],
      ['gap records in range', num(f('gap_records.count'), s.gap_records.count)],
      ['checkpoints checked', num(f('checkpoints_checked'), s.checkpoints_checked)],
      ['heartbeats in range', num(f('heartbeats'), s.heartbeats)],
      [
        'median checkpoint interval',
        s.median_checkpoint_interval_ms === null ? '–' : duration(s.median_checkpoint_interval_ms),
      ],
      [
        'longest silence',
        s.longest_silence === null
          ? '–'
          : `${duration(s.longest_silence.ms)} (${h(s.longest_silence.from)} … ${h(s.longest_silence.to)})`,
      ],
      ['duplicate objects', num(f('duplicates'), s.duplicates)],
      ['signed by', s.keys.map((k) => `${h(k.name)} <code>${h(k.key_id)}</code>`).join(', ') || '–'],
    ]),
  ];
  if (s.gap_records.count > 0) {
    out.push('<p>Gap records by reason:</p>', counted('reason', f('gap_records.by_reason'), s.gap_records.by_reason));
    const body = s.gap_records.listed
      .map((g) => {
        const bytes = g.length === null ? `at least ${g.at_least ?? '?'}` : String(g.length);
        const cells = [g.seq, h(g.reason), `<code>${h(g.source)}</code>`, g.offset, bytes, h(g.sealed_at)];
        return tr(cells.map(String));
      })
      .join('');
    out.push(`<table>${tr(['seq', 'reason', 'source', 'from offset', 'bytes', 'sealed_at'], 'th')}${body}</table>`);
    if (s.gap_records.not_listed > 0) out.push(`<p>… and ${n(s.gap_records.not_listed)} more gap records.</p>`);
  }
  if (s.silences.length > 0) {
    const body = s.silences
      .map((x) => `<tr><td>${h(x.from)}</td><td>${h(x.to)}</td><td>${duration(x.ms)}</td></tr>`)
      .join('');
    out.push(`<p>Silences:</p><table><tr><th>from</th><th>to</th><th>length</th></tr>${body}</table>`);
  }
  if (s.newest_checkpoint !== null)
    out.push(
      `<p>Newest checkpoint (${orDash(s.newest_checkpoint_time)}): ` +
        'save it for <code>tailseal prove --consistency</code>.</p>',
      `<pre data-field="${f('newest_checkpoint')}">${h(s.newest_checkpoint)}</pre>`,
    );
  return out.join('\n');
}

export function renderHtml(r: CompletenessReport): string {
  const v = r.verification;
  const d = r.decisions;
  const verdict = v.ok
    ? '<span class="ok" data-field="verification.ok">OK</span>: every object verified'
    : `<span class="fail" data-field="verification.code">${h(v.code ?? '')}</span>` +
      `${v.stream ? ` stream <code>${h(v.stream)}</code>` : ''}${v.seq !== undefined ? ` seq ${v.seq}` : ''}` +
      `${v.object ? ` object <code>${h(v.object)}</code>` : ''}: ${h(v.message ?? '')}`;
  const revisions =
    d.revisions.length === 0
      ? '<p class="muted">none</p>'
      : `<table><tr><th>bundle</th><th>revision</th><th>decisions</th></tr>${d.revisions
          .map((x, i) =>
            tr([h(x.bundle), `<code>${h(x.revision)}</code>`, num(`decisions.revisions.${i}.count`, x.count)]),
          )
          .join('')}</table>`;
  const body = [
    '<h1>tailseal completeness report</h1>',
    rows([
      ['store', `<code>${h(r.store)}</code>`],
      ['range (sealed_at)', `${h(r.range.since ?? 'start')} … ${h(r.range.until ?? 'end')}`],
      ['generated', h(r.generated_at)],
      ['verification', verdict],
      ['decisions in range', num('decisions.total', d.total)],
    ]),
    '<h2>Decisions per hour</h2>',
    chart(r),
    '<h2>Streams</h2>',
    ...r.streams.map(stream),
    '<h2>What OPA decided</h2>',
    `<table><tr><th>allow</th><th>deny</th><th>other</th><th>none</th></tr><tr>${(
      ['allow', 'deny', 'other', 'none'] as const
    )
      .map((k) => `<td class="n">${num(`decisions.by_result.${k}`, d.by_result[k])}</td>`)
      .join('')}</tr></table>`,
    '<h3>By policy path</h3>',
    counted('path', 'decisions.by_path', d.by_path),
    '<h3>Policy bundle revisions</h3>',
    revisions,
    `<h3>Masked fields (${num('decisions.masked_decisions', d.masked_decisions)} decisions)</h3>`,
    counted('pointer', 'decisions.masked', d.masked),
    `<h3>Erased fields (${num('decisions.erased_decisions', d.erased_decisions)} decisions)</h3>`,
    counted('pointer', 'decisions.erased', d.erased),
  ];
  if (d.not_json > 0)
    body.push(`<p>${num('decisions.not_json', d.not_json)} decision payloads are not JSON objects.</p>`);
  if (r.retention) {
    const t = r.retention;
    body.push(
      '<h2>Retention (Object Lock)</h2>',
      rows([
        ['objects', num('retention.objects', t.objects)],
        ['locked', num('retention.locked', t.locked)],
        ['modes', t.modes.map((m) => `${h(m.name)} ${n(m.count)}`).join(', ') || '–'],
        ['retained until at least', orDash(t.earliest_retain_until)],
        ['latest retain-until', orDash(t.latest_retain_until)],
        ['objects without a lock', num('retention.unlocked_count', t.unlocked_count)],
      ]),
    );
    if (t.unlocked.length > 0) body.push(`<ul>${t.unlocked.map((o) => `<li><code>${h(o)}</code></li>`).join('')}</ul>`);
  }
  body.push('<h2>Changes over stored objects</h2>');
  if (r.tampering.count === 0) body.push('<p>None seen (later versions, delete markers).</p>');
  else
    body.push(
      `<p class="fail">${num('tampering.count', r.tampering.count)} change(s) over stored objects ` +
        'after tailseal wrote them:</p>',
      `<table><tr><th>object</th><th>kind</th><th>version</th><th>when</th><th>owner</th></tr>${r.tampering.listed
        .map((t) => tr([`<code>${h(t.key)}</code>`, h(t.kind), h(t.versionId), h(t.lastModified), h(t.owner ?? '–')]))
        .join('')}</table>`,
    );
  return (
    '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">' +
    `<meta http-equiv="Content-Security-Policy" content="${CSP}">` +
    '<meta name="viewport" content="width=device-width, initial-scale=1">' +
    `<title>tailseal completeness report: ${h(r.store)}</title><style>${CSS}</style></head><body>\n` +
    body.join('\n') +
    `\n<p class="muted">Report format ${h(r.report)} version ${r.version}.</p></body></html>\n`
  );
}
