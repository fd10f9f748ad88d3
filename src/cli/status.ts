// `tailseal status`: what the state database says, readable while the daemon runs: streams and
// their last checkpoint, files and how far behind their end we are, the outbox, each sink's
// cursor and backlog, parked objects, and the counters. `--json` for scripts.
import { generationAt } from '../sources/file/recover.js';
import { FileTail } from '../sources/file/tail.js';
import { loadConfig } from '../config/load.js';
import { openDatabase, stateDbPath } from '../store/db.js';
import { StateStore } from '../store/state.js';
import { EXIT_OK } from './exit.js';

/**
 * A file generation measured by its own identity: after a rotation its path names another file,
 * whose size says nothing about how far this one is read. `found_at`: where it is now (its path,
 * or the name it was renamed to); null when it is not beside its path any more (deleted, though
 * the daemon may still hold it open to finish it), and then its size is unknown.
 */
async function fileLag(f: { path: string; input: string; ident: string; offset: number }) {
  const at = await generationAt(f.path, f.ident);
  const size = at === null ? null : ((await FileTail.statOf(at))?.size ?? null);
  const lag = size === null ? null : Math.max(0, size - f.offset);
  return { path: f.path, input: f.input, ident: f.ident, found_at: at, offset: f.offset, size, lag_bytes: lag };
}

/** The text line for one file of fileLag. */
function fileLine(f: Awaited<ReturnType<typeof fileLag>>): string {
  const head = `file ${f.path}: offset ${f.offset}`;
  if (f.found_at === null || f.lag_bytes === null) {
    return `${head}, not at its path or beside it any more (rotated away or deleted; size unknown)`;
  }
  return `${head}${f.found_at === f.path ? '' : `, now ${f.found_at}`}, ${f.lag_bytes} bytes behind its end`;
}

export async function statusCommand(o: { config: string; json?: boolean }): Promise<number> {
  const config = loadConfig(o.config);
  const store = new StateStore(openDatabase(stateDbPath(config), { readonly: true }));
  try {
    const files = await Promise.all(
      store.files
        .listFiles()
        .filter((f) => !f.done)
        .map(fileLag),
    );
    const status = {
      streams: store.streams.listStreams().map((s) => ({
        name: s.name,
        entries: s.nextSeq,
        checkpointed_size: s.checkpointedSize,
        checkpointed_at: s.checkpointedAt ? new Date(s.checkpointedAt).toISOString() : null,
      })),
      // Files being read; finished generations (rotated away and read to their end, or
      // accounted for by a gap record) are only counted.
      files,
      finished_files: store.files.listFiles().filter((f) => f.done).length,
      // Files an input matches but does not read, as the daemon last saw them (it retries them).
      unread_files: store.files.fileProblems().filter((p) => config.inputs.some((i) => i.name === p.input)),
      outbox_bytes: store.outbox.bytes(),
      outbox_max_bytes: config.outbox.max_bytes,
      sinks: config.sinks.map((s) => {
        const cursor = store.outbox.cursor(s.name);
        return {
          name: s.name,
          type: s.type,
          acked_object_id: cursor,
          backlog_objects: store.outbox.objectsAfter(cursor),
        };
      }),
      parked: store.outbox.listParked(),
      counters: store.counters.all(),
    };
    if (o.json) {
      process.stdout.write(JSON.stringify(status) + '\n');
      return EXIT_OK;
    }
    const out: string[] = [];
    for (const s of status.streams)
      out.push(
        `stream ${s.name}: ${s.entries} entries, last checkpoint at size ${s.checkpointed_size} ` +
          `(${s.checkpointed_at ?? 'never'})`,
      );
    for (const f of status.files) out.push(fileLine(f));
    for (const p of status.unread_files) {
      out.push(`NOT READ file ${p.path} (input ${p.input}, since ${p.since}) ${p.code}: ${p.message}`);
    }
    out.push(`finished files (kept until they are gone and a day old): ${status.finished_files}`);
    out.push(`outbox: ${status.outbox_bytes} of ${status.outbox_max_bytes} bytes`);
    for (const s of status.sinks) out.push(`sink ${s.name} (${s.type}): ${s.backlog_objects} object(s) waiting`);
    for (const p of status.parked)
      out.push(
        `PARKED sink ${p.sink}: object ${p.objectId} (stream ${p.stream ?? '?'} seq ` +
          `${p.firstSeq ?? '?'}..${p.size === null ? '?' : p.size - 1}) ${p.code}: ${p.reason} — fix it, then ` +
          `\`tailseal requeue ${p.sink}\``,
      );
    out.push(
      `counters: ${Object.entries(status.counters)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}`,
    );
    process.stdout.write(out.join('\n') + '\n');
    return EXIT_OK;
  } finally {
    store.close();
  }
}
