// Escaping for the report's renderers. Every string taken from a store (policy paths, revisions,
// sources, gap reasons, key names, object names) is attacker-controlled: in HTML it must not open a
// tag or an attribute, in Markdown it must not end a table cell, start a link or become raw HTML.

const HTML: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text or attribute value (quoted with " or ') in HTML. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => HTML[c]!);
}

// eslint-disable-next-line no-control-regex -- control characters are what must not reach the page
const CONTROL = /[\u0000-\u001f\u007f\u2028\u2029]/g;

const MD_ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };

/**
 * Inline Markdown text (a table cell, a list item): &, < and > as entities (never raw HTML, and no
 * entity can be formed from the input), other ASCII punctuation backslash-escaped (CommonMark §2.4:
 * any ASCII punctuation may be), line breaks and other control characters shown as \uXXXX.
 */
export function escapeMd(s: string): string {
  return s
    .replace(/[\\`*_{}[\]()#+\-.!|<>~&"'=:$%^,?@/]/g, (c) => MD_ENTITIES[c] ?? `\\${c}`)
    .replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A fenced code block around `text` with a fence longer than any backtick run inside it (CommonMark §4.5). */
export function mdCodeBlock(text: string): string {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}text\n${text.replace(/\n$/, '')}\n${fence}`;
}
