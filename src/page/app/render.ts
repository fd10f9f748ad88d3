// The verifier page's output: verdict, break and summary. Every string from a chosen file or a
// pasted text is attacker-controlled, so text goes in with textContent only, never as HTML.
import type { Break, Outcome, TrailSummary } from './check.js';

/** An element with text (textContent) and children. */
function el(tag: string, text?: string, ...children: Node[]): HTMLElement {
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

/**
 * The summary of a verified trail, in one function so a richer report model can replace it: totals,
 * one row per stream, and each stream's newest checkpoint note (to save for a consistency check).
 */
export function renderSummary(s: TrailSummary): HTMLElement {
  const out = el('div');
  const totals = el('p', `${s.streams.length} stream(s), `);
  const entries = el('span', String(s.entries));
  entries.id = 'total-entries';
  totals.append(entries, ` entries, ${s.checkpoints} checkpoints verified.`);
  out.append(totals);
  out.append(
    table(
      ['stream', 'entries', 'objects', 'checkpoints', 'gap records', 'duplicates', 'newest checkpoint', 'signed by'],
      s.streams.map((r) => [
        r.stream,
        String(r.entries),
        String(r.objects),
        String(r.checkpoints),
        String(r.gaps),
        String(r.duplicates),
        `${iso(r.newest.time)} (${r.newest.size} entries)`,
        r.signedBy.join(', '),
      ]),
    ),
  );
  for (const r of s.streams) {
    out.append(el('h3', `Newest checkpoint of ${r.origin}`), el('pre', r.newest.note));
  }
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

/** Shows `o` in the result section: verdict line (OK / FAIL <code>), then the break or the summary. */
export function renderOutcome(result: HTMLElement, o: Outcome): void {
  const verdict = el('p', o.ok ? 'OK' : `FAIL ${o.failure.code}`);
  verdict.id = 'verdict';
  verdict.className = o.ok ? 'ok' : 'fail';
  let body: HTMLElement;
  if (!o.ok) body = renderBreak(o.failure);
  else if (o.kind === 'trail') body = renderSummary(o.summary);
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
