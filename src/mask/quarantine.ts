// Decisions the mask rules could not process: kept (not sealed, not sent, not dropped) in a
// private file under state_dir for an operator, while a gap record in the trail says one was
// set aside. Appended and fsynced before the commit that seals that gap record.
import { closeSync, fsyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export class Quarantine {
  constructor(private readonly dir: string) {}

  /** The file that holds an input's quarantined decisions (one JSON object per line). */
  file(input: string): string {
    return join(this.dir, `${input}.ndjson`);
  }

  /** Appends one decision and syncs it; throws when it cannot (then nothing is committed). */
  put(
    input: string,
    entry: { decision_id: string | undefined; error: string; source: string; offset: number; payload: Uint8Array },
  ): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const record = {
      time: new Date().toISOString(),
      input,
      decision_id: entry.decision_id,
      error: entry.error,
      source: entry.source,
      offset: entry.offset,
      payload: Buffer.from(entry.payload).toString('utf8'),
    };
    const line = `${JSON.stringify(record)}\n`;
    const fd = openSync(this.file(input), 'a', 0o600);
    try {
      writeSync(fd, line);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
}
