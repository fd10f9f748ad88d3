// The `index` setting of the elasticsearch sink: a name with UTC date letters (`opa-decisions-%Y.%m.%d`),
// checked once at config time against Elasticsearch's index-name rules, so that a bad name is a
// config error rather than a rejected bulk item at 3 a.m.
// https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-indices-create (path param `index`)

/** The pattern letters supported, with the width of what each expands to. */
export const INDEX_PATTERN_LETTERS: Readonly<Record<string, { width: number; of: (d: Date) => number }>> = {
  Y: { width: 4, of: (d) => d.getUTCFullYear() },
  m: { width: 2, of: (d) => d.getUTCMonth() + 1 },
  d: { width: 2, of: (d) => d.getUTCDate() },
  H: { width: 2, of: (d) => d.getUTCHours() },
};

/** Elasticsearch's limit on an index name (bytes). */
export const MAX_INDEX_NAME_BYTES = 255;

// Literal characters kept to the safe subset of what Elasticsearch allows (lowercase, no
// \ / * ? " < > | space , # :), so that a name needs no escaping anywhere it is shown or typed.
const LITERAL_RE = /^[a-z0-9._+-]$/;

/** Why `pattern` is not a usable index pattern, or undefined when it is. */
export function indexPatternProblem(pattern: string): string | undefined {
  let bytes = 0;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '%') {
      const letter = pattern[i + 1];
      const spec = letter === undefined ? undefined : INDEX_PATTERN_LETTERS[letter];
      if (spec === undefined)
        return `unsupported pattern "%${letter ?? ''}" (supported: ${Object.keys(INDEX_PATTERN_LETTERS)
          .map((l) => `%${l}`)
          .join(' ')})`;
      bytes += spec.width;
      i++;
      continue;
    }
    if (!LITERAL_RE.test(c))
      return (
        `character ${JSON.stringify(c)} is not allowed ` +
        '(index names use lowercase letters, digits, ".", "_", "+", "-")'
      );
    bytes++;
  }
  if (bytes === 0) return 'must not be empty';
  if (/^[-_+]/.test(pattern)) return 'must not start with "-", "_" or "+"';
  if (pattern === '.' || pattern === '..') return 'must not be "." or ".."';
  if (bytes > MAX_INDEX_NAME_BYTES) return `expands to ${bytes} bytes, over Elasticsearch's ${MAX_INDEX_NAME_BYTES}`;
  return undefined;
}

/** The index for a document timestamped `ms` (Unix ms, UTC). `pattern` passed indexPatternProblem. */
export function indexName(pattern: string, ms: number): string {
  const d = new Date(ms);
  return pattern.replace(/%([A-Za-z])/g, (_, l: string) => {
    const spec = INDEX_PATTERN_LETTERS[l]!;
    return String(spec.of(d)).padStart(spec.width, '0');
  });
}
