// `tailseal status`: what the state database says, readable while the daemon runs: streams and
// their last checkpoint, files and how far behind their end we are, the outbox, each sink's
// cursor and backlog, parked objects, and the counters. `--json` for scripts.
import { statSync } from 'node:fs';
import { isDone } from '../sources/file/registry.js';
import { loadConfig } from '../config/load.js';
import { stateDbPath } from '../daemon.js';
import { openDatabase } from '../store/db.js';
import { StateStore } from '../store/state.js';
import { EXIT_OK } from './exit.js';

function sizeOf(path: string): number | null {
  try {
    return statSync(path).size;
  } catch {
    return null;
  }
}

export function statusCommand(o: { config: string; json?: boolean }): number {
  const config = loadConfig(o.config);
  const store = new StateStore(openDatabase(stateDbPath(config), { readonly: true }));
  try {
    const status = {
      streams: store.listStreams().map((s) => ({ name: s.name, entries: s.nextSeq, checkpointed_size: s.checkpointedSize, checkpointed_at: s.checkpointedAt ? new Date(s.checkpointedAt).toISOString() : null })),
      // Files being read; finished generations (rotated away and read to their end, or
      // accounted for by a gap record) are only counted.
      files: store
        .listFiles()
        .filter((f) => !isDone(f.path))
        .map((f) => {
          const size = sizeOf(f.path);
          return { path: f.path, input: f.input, offset: f.offset, size, lag_bytes: size === null ? null : Math.max(0, size - f.offset) };
        }),
      finished_files: store.listFiles().filter((f) => isDone(f.path)).length,
      // Files an input matches but does not read, as the daemon last saw them (it retries them).
      unread_files: store.fileProblems().filter((p) => config.inputs.some((i) => i.name === p.input)),
      outbox_bytes: store.outboxBytes(),
      outbox_max_bytes: config.outbox.max_bytes,
      sinks: config.sinks.map((s) => {
        const cursor = store.cursor(s.name);
        return { name: s.name, type: s.type, acked_object_id: cursor, backlog_objects: store.objectsAfter(cursor) };
      }),
      parked: store.listParked(),
      counters: store.counters(),
    };
    if (o.json) {
      process.stdout.write(JSON.stringify(status) + '\n');
      return EXIT_OK;
    }
    const out: string[] = [];
    for (const s of status.streams) out.push(`stream ${s.name}: ${s.entries} entries, last checkpoint at size ${s.checkpointed_size} (${s.checkpointed_at ?? 'never'})`);
    for (const f of status.files) out.push(`file ${f.path}: offset ${f.offset}${f.size === null ? ' (gone)' : `, ${f.lag_bytes} bytes behind its end`}`);
    for (const p of status.unread_files) {
      out.push(`NOT READ file ${p.path} (input ${p.input}, since ${p.since}) ${p.code}: ${p.message}`);
    }
    out.push(`finished files (kept until they are gone and a day old): ${status.finished_files}`);
    out.push(`outbox: ${status.outbox_bytes} of ${status.outbox_max_bytes} bytes`);
    for (const s of status.sinks) out.push(`sink ${s.name} (${s.type}): ${s.backlog_objects} object(s) waiting`);
    for (const p of status.parked) out.push(`PARKED sink ${p.sink}: object ${p.objectId} (stream ${p.stream ?? '?'} seq ${p.firstSeq ?? '?'}..${p.size === null ? '?' : p.size - 1}) ${p.code}: ${p.reason} — fix it, then \`tailseal requeue ${p.sink}\``);
    out.push(`counters: ${Object.entries(status.counters).map(([k, v]) => `${k}=${v}`).join(' ')}`);
    process.stdout.write(out.join('\n') + '\n');
    return EXIT_OK;
  } finally {
    store.close();
  }
}
