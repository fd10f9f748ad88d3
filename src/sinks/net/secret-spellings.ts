// Where a known secret value stands in a text, in any spelling a server may echo it back in
// (issue 15 item 9): a store that quotes our request may percent-encode it (either hex case,
// `+` for space), JSON-escape it (`\/`, `\uXXXX`), XML-escape it or base64 it. Rather than one
// regex per spelling (and per case), the text is decoded into a few views, each remembering the
// source span of every character, and the plain value (and its base64 forms) is looked up in each
// with indexOf: linear work per view, no pattern built from a secret, nothing to backtrack.

/** Secrets shorter than this are not looked for: they would redact common words. */
export const MIN_SECRET_CHARS = 8;

/** A decoded text: `text[i]` came from the source characters `from[i]` up to `to[i]`. */
interface View {
  text: string;
  from: number[];
  to: number[];
}

const JSON_SHORT: Record<string, string> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};
const XML_NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** Builds a view: `decode` says, at source index i, how many source characters yield which text. */
function view(src: string, decode: (i: number) => [number, string] | undefined): View {
  const v: View = { text: '', from: [], to: [] };
  const parts: string[] = [];
  for (let i = 0; i < src.length;) {
    const [n, s] = decode(i) ?? [1, src[i]!];
    for (let k = 0; k < s.length; k++) {
      v.from.push(i);
      v.to.push(i + n);
    }
    parts.push(s);
    i += n;
  }
  v.text = parts.join('');
  return v;
}

const latin1 = (s: string): string => Buffer.from(s, 'utf8').toString('latin1');

/** Percent-decoded at the byte level (UTF-8 as latin1 characters), `%2f` and `%2F` alike. */
function percentView(src: string, plusIsSpace: boolean): View {
  return view(src, (i) => {
    const c = src[i]!;
    if (c === '%' && /^[0-9a-f]{2}$/i.test(src.slice(i + 1, i + 3))) {
      return [3, String.fromCharCode(parseInt(src.slice(i + 1, i + 3), 16))];
    }
    if (c === '+' && plusIsSpace) return [1, ' '];
    // A surrogate pair is one character of UTF-8: encode it whole.
    const n = /[\ud800-\udbff]/.test(c) && /[\udc00-\udfff]/.test(src[i + 1] ?? '') ? 2 : 1;
    return [n, latin1(src.slice(i, i + n))];
  });
}

/** JSON string escapes undone: `\/`, `\"`, `\n`..., and `\uXXXX` in either hex case. */
function jsonView(src: string): View {
  return view(src, (i) => {
    if (src[i] !== '\\') return undefined;
    const e = src[i + 1] ?? '';
    if (e === 'u' && /^[0-9a-f]{4}$/i.test(src.slice(i + 2, i + 6))) {
      return [6, String.fromCharCode(parseInt(src.slice(i + 2, i + 6), 16))];
    }
    return Object.hasOwn(JSON_SHORT, e) ? [2, JSON_SHORT[e]!] : undefined;
  });
}

/** XML/HTML character references undone: `&amp;`, `&#47;`, `&#x2F;`. */
function xmlView(src: string): View {
  return view(src, (i) => {
    if (src[i] !== '&') return undefined;
    const m = /^&(?:#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6})|(amp|lt|gt|quot|apos));/.exec(src.slice(i, i + 12));
    if (!m) return undefined;
    if (m[3] !== undefined) return [m[0].length, XML_NAMED[m[3]]!];
    const cp = m[1] !== undefined ? Number(m[1]) : parseInt(m[2]!, 16);
    return cp <= 0x10ffff ? [m[0].length, String.fromCodePoint(cp)] : undefined;
  });
}

/** The value itself and its base64 and base64url forms, padded and not. */
function needles(value: string): string[] {
  const b64 = Buffer.from(value, 'utf8').toString('base64');
  const url = b64.replace(/\+/g, '-').replace(/\//g, '_');
  return [value, b64, b64.replace(/=+$/, ''), url, url.replace(/=+$/, '')];
}

/** Adds to `spans` the source span of every occurrence of each needle in the view. */
function find(v: View, list: readonly string[], spans: [number, number][]): void {
  for (const n of list) {
    if (n.length === 0) continue;
    for (let at = v.text.indexOf(n); at !== -1; at = v.text.indexOf(n, at + n.length)) {
      spans.push([v.from[at]!, v.to[at + n.length - 1]!]);
    }
  }
}

/**
 * The source spans, merged and in order, where any of `secrets` (at least MIN_SECRET_CHARS long)
 * stands in `text`: plain, percent-encoded (either hex case, or form-encoded with `+`), JSON- or
 * XML-escaped, or as base64/base64url; and base64 forms inside the escaped spellings too.
 */
export function secretSpans(text: string, secrets: readonly string[]): [number, number][] {
  const values = [...new Set(secrets)].filter((s) => s.length >= MIN_SECRET_CHARS);
  if (values.length === 0) return [];
  const plain = [...new Set(values.flatMap(needles))];
  const spans: [number, number][] = [];
  find(
    view(text, () => undefined),
    plain,
    spans,
  );
  const bytes = plain.map(latin1);
  find(percentView(text, false), bytes, spans);
  if (plain.some((n) => n.includes(' '))) find(percentView(text, true), bytes, spans);
  find(jsonView(text), plain, spans);
  find(xmlView(text), plain, spans);
  spans.sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const s of spans) {
    const last = merged[merged.length - 1];
    if (last && s[0] <= last[1]) last[1] = Math.max(last[1], s[1]);
    else merged.push([s[0], s[1]]);
  }
  return merged;
}
