// Generates the config reference from the zod schemas: docs/configuration.md (key, type, default,
// meaning, from each field's .describe()) and docs/config.schema.json (JSON Schema for editors).
//   npm run docs                                   (writes both files)
//   node dist/test/docs/generate-config.js --check (fails if the files on disk differ)
// The schemas are the one source of the defaults and descriptions, so the page cannot drift from
// what the daemon accepts; test/unit/docs.test.ts runs the check.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { configSchema } from '../../src/config/schema.js';
import { monitorConfigSchema } from '../../src/monitor/config.js';
import { formatDuration, formatSize } from '../../src/common/units.js';
import { REPO_ROOT } from '../helpers/paths.js';

export const CONFIG_DOC = 'docs/configuration.md';
export const CONFIG_JSON_SCHEMA = 'docs/config.schema.json';

/** A JSON Schema node, as far as this generator reads it. */
interface Js {
  type?: string | string[];
  format?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  properties?: Record<string, Js>;
  required?: string[];
  additionalProperties?: Js | boolean;
  items?: Js;
  oneOf?: Js[];
  anyOf?: Js[];
  [k: string]: unknown;
}

/**
 * The config file's JSON Schema, as written (io: 'input'). zod leaves out the default of a field
 * whose schema transforms (durations, sizes), since its default is the parsed value; the override
 * puts it back in the spelling a config file uses ("500ms", "8MiB"), which is also a valid input.
 */
export function configJsonSchema(of: z.ZodType = configSchema): Js {
  const schema = z.toJSONSchema(of, {
    io: 'input',
    unrepresentable: 'any',
    override: ({ zodSchema, jsonSchema }) => {
      const def = zodSchema._zod.def as { type: string; defaultValue?: unknown };
      if (def.type !== 'default' || jsonSchema.default !== undefined || typeof def.defaultValue !== 'number') return;
      const v = def.defaultValue;
      const format = jsonSchema.format;
      jsonSchema.default = format === 'duration' ? formatDuration(v) : format === 'size' ? formatSize(v) : v;
    },
  }) as Js;
  return {
    $schema: schema.$schema,
    title: 'tailseal configuration',
    description: `Generated from the zod schemas by test/docs/generate-config.ts; see ${CONFIG_DOC}.`,
    ...schema,
  };
}

const INTRO = `One YAML file. Unknown keys, wrong types and missing required fields are errors: tailseal prints one
line per problem naming the file and the key (\`config.yaml: sinks[0].dri: unknown key ...\`) and
exits 2. String values may use \`\${VAR}\` (error if unset), \`\${VAR:-default}\`, and \`$\${\` for a literal
\`\${\`. Durations are \`250ms\`, \`5s\`, \`1m\`, \`1h\`, \`1d\` (a bare number is milliseconds), at most
2147483647 ms (about 24.8 days, the longest wait a Node.js timer holds; \`audit.full_interval\` and
\`object_lock.retention\`, only compared with timestamps, allow up to \`36500d\`); sizes are \`64KiB\`,
\`256MiB\`, \`1GB\` (a bare number is bytes). Input, stream and sink names are at most 64 characters
(they become file names and object keys). A config that cannot be loaded at all (invalid YAML,
more than 100 alias expansions, a file over 4 MiB, a FIFO, device or directory) is refused the
same way, naming the file, with exit 2; key, token and PEM files named in it must be regular files
too (a FIFO without a writer would block start-up). Relative paths are relative to the working
directory. \`state_dir\` and a \`file\` sink's \`dir\` are at most 3840 bytes (PATH_MAX less room for the
files made in them), each name in them at most 255 bytes.

Editors that read JSON Schema (e.g. the YAML language server: \`# yaml-language-server: $schema=...\`)
can check a config file against [config.schema.json](config.schema.json). Ready configs are in
\`config/\` and \`deploy/\`; how each input and sink behaves is in [operations.md](operations.md).`;

/** Where operations.md describes how each input and sink type behaves. */
const BEHAVIOUR: Record<string, string> = {
  'file input': 'tailing-rotation-and-failures',
  'opa_service input': 'opa_service-input',
  'file sink': 'file-sink',
  's3 sink': 's3-sink',
  'http sink': 'http-sink',
  'opa sink': 'opa-sink',
};

const code = (v: unknown) => `\`${typeof v === 'string' ? v : JSON.stringify(v)}\``;

function oneOf(values: unknown[]): string {
  const shown = values.map(code);
  return shown.length === 1 ? shown[0]! : `${shown.slice(0, -1).join(', ')} or ${shown.at(-1)!}`;
}

function typeOf(js: Js): string {
  if (js.format === 'duration' || js.format === 'size') return js.format;
  if (js.enum) return oneOf(js.enum);
  if (js.const !== undefined) return code(js.const);
  if (js.type === 'integer') {
    const min = js.minimum;
    const max = js.maximum !== undefined && js.maximum < Number.MAX_SAFE_INTEGER ? js.maximum : undefined;
    if (min !== undefined && max !== undefined) return `integer ${min}–${max}`;
    return min !== undefined ? `integer ≥ ${min}` : 'integer';
  }
  if (js.type === 'string') return js.format === 'uri' ? 'URL' : 'string';
  if (js.type === 'boolean' || js.type === 'number') return js.type;
  if (js.type === 'array') {
    const items = js.items ?? {};
    const what = items.oneOf || items.anyOf ? 'objects' : `${typeOf(items)}s`;
    return `list of ${what}${js.minItems ? `, ≥ ${js.minItems}` : ''}`;
  }
  if (js.type === 'object') return typeof js.additionalProperties === 'object' ? 'map of strings' : 'object';
  return 'any';
}

interface Row {
  key: string;
  type: string;
  dflt: string;
  meaning: string;
}
interface Section {
  title: string;
  intro: string;
  rows: Row[];
}

function defaultOf(js: Js, required: boolean): string {
  if (js.default === undefined) return required ? 'required' : '—';
  if (typeof js.default === 'object' && js.default !== null && !Array.isArray(js.default)) return '—';
  return js.default === '' ? '`""`' : code(js.default);
}

/**
 * Rows for an object's keys, depth first: a row for each leaf and each described object (then
 * its keys); a list of typed variants (inputs, sinks) gets a row here and a section of its own.
 */
function walk(obj: Js, prefix: string, rows: Row[], sections: Section[], missing: string[], items = false): void {
  for (const [name, js] of Object.entries(obj.properties ?? {})) {
    const key = `${prefix}${name}`;
    const nested = js.type === 'object' && js.properties !== undefined;
    const variants = js.type === 'array' ? js.items?.oneOf : undefined;
    if (name === 'type' && js.const !== undefined) continue; // the section's heading says it
    if (!nested || js.description !== undefined || variants) {
      if (js.description === undefined) missing.push(key);
      const meaning = (js.description ?? '').replace(/\|/g, '\\|');
      rows.push({ key, type: typeOf(js), dflt: defaultOf(js, obj.required?.includes(name) ?? false), meaning });
    }
    if (nested) walk(js, `${key}.`, rows, sections, missing, items);
    // `items`: a list of one kind of object gets a row per key of its entries (`stores[].name`).
    const entry = js.type === 'array' && !variants ? js.items : undefined;
    if (items && entry?.type === 'object' && entry.properties) walk(entry, `${key}[].`, rows, sections, missing, items);
    for (const v of variants ?? []) {
      const kind = `${String(v.properties?.type?.const)} ${name.replace(/s$/, '')}`;
      const anchor = BEHAVIOUR[kind];
      const how = anchor ? ` How it behaves: [operations.md](operations.md#${anchor}).` : '';
      const intro = `An entry of \`${key}\` with \`type: ${String(v.properties?.type?.const)}\`.${how}`;
      const section: Section = { title: kind.replace(/^(\S+)/, '`$1`'), intro, rows: [] };
      sections.push(section);
      walk(v, '', section.rows, sections, missing);
    }
  }
}

function table(rows: Row[]): string {
  const lines = ['| key | type | default | meaning |', '|---|---|---|---|'];
  for (const r of rows) lines.push(`| \`${r.key}\` | ${r.type} | ${r.dflt} | ${r.meaning} |`);
  return lines.join('\n');
}

const MONITOR_INTRO = `The config file of \`tailseal monitor\` (the fleet monitor,
[operations.md](operations.md#the-fleet-monitor)), loaded and refused the same way as the daemon's
(exit 2, one line per problem). An example is \`config/monitor.yaml\`.`;

/** The config reference page, and the keys that have no description (none may be left). */
export function configReference(
  schema: Js = configJsonSchema(),
  monitor: Js = configJsonSchema(monitorConfigSchema),
): { markdown: string; undocumented: string[] } {
  const rows: Row[] = [];
  const sections: Section[] = [];
  const missing: string[] = [];
  walk(schema, '', rows, sections, missing);
  const monitorRows: Row[] = [];
  walk(monitor, '', monitorRows, sections, missing, true);
  const parts = [
    '# Configuration reference',
    '<!-- Generated by test/docs/generate-config.ts from the zod schemas (src/config/schema.ts, ' +
      'src/sources/*/config.ts, src/sinks/*/config.ts): edit their .describe() texts, then run `npm run docs`. -->',
    INTRO,
    '## Top-level keys',
    table(rows),
    ...sections.flatMap((s) => [`## ${s.title}`, s.intro, table(s.rows)]),
    '## Monitor configuration',
    MONITOR_INTRO,
    table(monitorRows),
  ];
  return { markdown: `${parts.join('\n\n')}\n`, undocumented: missing };
}

/** Each generated file's path (from the repository root) and content. */
export function generatedDocs(): Record<string, string> {
  const schema = configJsonSchema();
  return {
    [CONFIG_DOC]: configReference(schema).markdown,
    [CONFIG_JSON_SCHEMA]: `${JSON.stringify(schema, null, 2)}\n`,
  };
}

function main(): void {
  const check = process.argv.includes('--check');
  const { undocumented } = configReference();
  if (undocumented.length > 0) {
    console.error(`keys without a .describe() text: ${undocumented.join(', ')}`);
    process.exit(1);
  }
  let stale = 0;
  for (const [path, text] of Object.entries(generatedDocs())) {
    const file = join(REPO_ROOT, path);
    let old = '';
    try {
      old = readFileSync(file, 'utf8');
    } catch {
      // missing: written below, or stale under --check
    }
    if (old === text) continue;
    if (check) {
      console.error(`${path} differs from what the schemas generate: run npm run docs`);
      stale++;
    } else {
      writeFileSync(file, text);
      console.log(`wrote ${path}`);
    }
  }
  process.exit(stale > 0 ? 1 : 0);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main();
