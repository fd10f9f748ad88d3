// Loading a config file: YAML, `${ENV}` expansion in string values, schema validation, and one
// clear line per problem naming the file and the key.
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { TailsealError, errorMessage } from '../errors.js';
import { MAX_READ_BYTES, readRegularFile } from '../common/read-file.js';
import { opaChunkProblems } from '../sources/opa-service/limits.js';
import { TRAIL_SINK_TYPES } from '../sinks/sink.js';
import { type Config, configSchema } from './schema.js';

type Path = (string | number)[];

/** A config is a few KB; reading more than this (a wrong path such as /dev/zero, a log file) is refused. */
export const MAX_CONFIG_BYTES = MAX_READ_BYTES;

/** Alias (`*name`) expansions a config may make in total; real configs need a handful. */
const MAX_ALIAS_COUNT = 100;

function keyPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  return out || '(top level)';
}

/**
 * Replaces `${NAME}` and `${NAME:-default}` in every string value with the environment's value.
 * `$${` stands for a literal `${`. An unset variable without a default is an error.
 */
export function expandEnv(value: unknown, env: NodeJS.ProcessEnv, path: Path = [], problems: string[] = []): unknown {
  if (typeof value === 'string') {
    return value.replace(
      /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g,
      (m, v: string | undefined, def: string | undefined) => {
        if (m === '$${') return '${';
        const got = env[v!];
        if (got !== undefined && got !== '') return got;
        if (def !== undefined) return def;
        problems.push(`${keyPath(path)}: environment variable ${v} is not set (set it, or write \${${v}:-default})`);
        return '';
      },
    );
  }
  if (Array.isArray(value)) return value.map((v, i) => expandEnv(v, env, [...path, i], problems));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = expandEnv(v, env, [...path, k], problems);
    return out;
  }
  return value;
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let v = raw;
  for (const p of path) v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[p] : undefined;
  return v;
}

/** One line for a zod issue, naming the key (shared by every config file tailseal reads). */
export function describeIssue(issue: z.core.$ZodIssue, raw: unknown): string {
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((k) => keyPath([...issue.path, k])).join(', ');
    return `${keys}: unknown key (check the spelling against docs/configuration.md)`;
  }
  if (issue.code === 'invalid_type' && valueAt(raw, issue.path) === undefined)
    return `${keyPath(issue.path)}: required`;
  return `${keyPath(issue.path)}: ${issue.message}`;
}

/** Validates an already-parsed config object; `file` is only for messages. */
export function parseConfig(raw: unknown, file: string, env: NodeJS.ProcessEnv = process.env): Config {
  const problems: string[] = [];
  const expanded = expandEnv(raw ?? {}, env, [], problems);
  if (problems.length === 0) {
    const res = configSchema.safeParse(expanded);
    if (res.success) {
      const dup = duplicates([...res.data.inputs.map((i) => i.name)]) ?? duplicates(res.data.sinks.map((s) => s.name));
      if (dup) problems.push(`name "${dup}" is used twice; input and sink names must be unique`);
      const from = res.data.recovery.sink;
      const readable = res.data.sinks.filter((s) => s.type === 'file' || s.type === 's3').map((s) => s.name);
      if (from !== undefined && !readable.includes(from))
        problems.push(
          `recovery.sink: "${from}" is not a file or s3 sink of this config (those are: ` +
            `${readable.join(', ') || 'none'}); the trail is read back from one of them`,
        );
      for (const name of res.data.audit.sinks ?? []) {
        if (!readable.includes(name))
          problems.push(
            `audit.sinks: "${name}" is not a file or s3 sink of this config (those are: ` +
              `${readable.join(', ') || 'none'}); only those can be read back`,
          );
      }
      problems.push(...streamProblems(res.data));
      if (res.data.sinks.every((s) => s.type === 'witness'))
        problems.push(
          'sinks: a witness sink keeps cosignatures, not the trail: add a file, s3, http or opa sink for the objects',
        );
      // Limits that could refuse a chunk OPA may send: OPA would re-send it forever (stalled).
      res.data.inputs.forEach((i, at) => {
        if (i.type === 'opa_service') problems.push(...opaChunkProblems(i, at, res.data.outbox.max_bytes));
      });
      if (problems.length === 0) return res.data;
    } else {
      problems.push(...res.error.issues.map((i) => describeIssue(i, expanded)));
    }
  }
  throw new TailsealError('CONFIG_INVALID', problems.map((p) => `${file}: ${p}`).join('\n'), {
    details: { file, problems },
  });
}

/**
 * Sinks' `streams`: each names a stream some input writes, every stream reaches a sink that keeps the
 * trail (else its objects would be acknowledged by every sink and kept by none), and the recovery sink
 * holds every stream (the state is rebuilt from it).
 */
function streamProblems(c: Config): string[] {
  const written = [...new Set(c.inputs.map((i) => i.stream ?? i.name))];
  const takes = (s: Config['sinks'][number], stream: string) =>
    !('streams' in s) || s.streams === undefined || s.streams.includes(stream);
  const out: string[] = [];
  c.sinks.forEach((s, i) => {
    for (const name of ('streams' in s ? s.streams : undefined) ?? [])
      if (!written.includes(name))
        out.push(`sinks[${i}].streams: no input writes stream "${name}" (the inputs write: ${written.join(', ')})`);
  });
  if (out.length > 0) return out;
  // (A config with no trail sink at all, e.g. only an opa sink, keeps no trail by choice: docs/operations.md.)
  const trail = c.sinks.filter((s) => TRAIL_SINK_TYPES.has(s.type));
  for (const stream of written)
    if (trail.length > 0 && !trail.some((s) => takes(s, stream)))
      out.push(
        `sinks: no file, s3 or http sink takes stream "${stream}" (check their \`streams\`): its trail would be kept ` +
          'nowhere',
      );
  const from = c.sinks.find((s) => s.name === c.recovery.sink);
  if (from && 'streams' in from && from.streams !== undefined && !written.every((w) => takes(from, w)))
    out.push(
      `recovery.sink: "${from.name}" takes only some streams (\`streams\`); the state is rebuilt from every stream, ` +
        'so recover from a sink that takes them all',
    );
  return out;
}

function duplicates(names: string[]): string | undefined {
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) return n;
    seen.add(n);
  }
  return undefined;
}

/** Reads, expands and validates the config file at `file`. */
export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): Config {
  return loadYamlFile(file, (raw) => parseConfig(raw, file, env));
}

/**
 * Reads the YAML file at `file` (a regular file of at most MAX_CONFIG_BYTES, unique keys, bounded
 * aliases) and hands its value to `parse`; every failure is CONFIG_NOT_FOUND or CONFIG_INVALID naming the file.
 */
export function loadYamlFile<T>(file: string, parse: (raw: unknown) => T): T {
  let text: string;
  try {
    const hint = 'a config file is a few KB (is this the right file?)';
    text = readRegularFile(file, { code: 'CONFIG_INVALID', label: file, maxBytes: MAX_CONFIG_BYTES, hint }).toString(
      'utf8',
    );
  } catch (err) {
    if (err instanceof TailsealError) throw err;
    throw new TailsealError('CONFIG_NOT_FOUND', `${file}: cannot read config file: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const where = e.linePos?.[0] ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}: ` : '';
    throw new TailsealError('CONFIG_INVALID', `${file}: ${where}invalid YAML: ${e.message.split('\n')[0]}`);
  }
  try {
    // An alias bomb (anchors referencing anchors) makes toJS build an exponential tree: yaml stops
    // it after maxAliasCount expansions, with a RangeError/ReferenceError that would otherwise exit
    // 1 without naming the file, and a supervisor would restart into the same error forever.
    return parse(doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }));
  } catch (err) {
    if (err instanceof TailsealError) throw err;
    const msg = errorMessage(err);
    const hint = /alias/i.test(msg) ? ` (at most ${MAX_ALIAS_COUNT} alias expansions; write the values out)` : '';
    throw new TailsealError('CONFIG_INVALID', `${file}: cannot load: ${msg}${hint}`, { cause: err, details: { file } });
  }
}
