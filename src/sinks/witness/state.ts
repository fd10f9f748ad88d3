// What a witness sink remembers per stream: the size of the checkpoint the witness cosigned last
// and the tree's compact range there, from which the next submission's consistency proof is made
// (trail/proofs.ts consistencyProofFrom). A small versioned JSON file below state_dir, replaced
// atomically after each cosignature (common/synced-file.ts replaceFile):
//
//   {"format":"tailseal-witness-sink","version":1,"url":"<submission prefix>",
//    "streams":{"<stream>":{"size":8,"edge":"<base64 CompactRange.serialize()>"}}}
//
// Losing it loses no decision: the next submission then starts from what the witness says it has
// (409) and, where this daemon cannot prove from there, the sink parks the object saying so.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { replaceFile } from '../../common/synced-file.js';
import { TailsealError, errorMessage } from '../../errors.js';
import { CompactRange, fromBase64Strict, toBase64 } from '../../trail/index.js';

const FORMAT = 'tailseal-witness-sink';
const VERSION = 1;

export interface StreamWitnessState {
  size: number;
  /** The compact range at `size`. */
  edge: CompactRange;
}

/** The state file of sink `name` below `stateDir`. */
export function witnessStatePath(stateDir: string, name: string): string {
  return join(stateDir, 'witness', `${name}.json`);
}

export class WitnessSinkState {
  private readonly streams = new Map<string, StreamWitnessState>();

  private constructor(
    private readonly file: string,
    private readonly url: string,
  ) {}

  /**
   * Reads the state of the sink submitting to `url` (none yet: empty). A state written for another
   * witness URL is not this witness's: it starts empty (and the witness's 409 says where it is).
   */
  static open(file: string, url: string): WitnessSinkState {
    const s = new WitnessSinkState(file, url);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return s;
      throw new TailsealError('STATE_UNAVAILABLE', `witness sink state ${file}: ${errorMessage(err)}`, { cause: err });
    }
    const corrupt = (why: string) =>
      new TailsealError(
        'STATE_CORRUPT',
        `witness sink state ${file}: ${why}; delete it to start again from the witness`,
      );
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      throw corrupt('not JSON');
    }
    const o = raw as { format?: unknown; version?: unknown; url?: unknown; streams?: unknown };
    if (typeof o !== 'object' || o === null || o.format !== FORMAT) throw corrupt(`not a ${FORMAT} file`);
    if (o.version !== VERSION)
      throw new TailsealError('STATE_VERSION', `witness sink state ${file}: version ${String(o.version)}, want 1`);
    if (o.url !== url) return s;
    if (typeof o.streams !== 'object' || o.streams === null) throw corrupt('no streams');
    for (const [stream, v] of Object.entries(o.streams as Record<string, { size?: unknown; edge?: unknown }>)) {
      if (typeof v?.edge !== 'string') throw corrupt(`stream ${stream}: no edge`);
      const edge = CompactRange.deserialize(fromBase64Strict(v.edge, `edge of ${stream}`, 'STATE_CORRUPT'));
      if (v.size !== edge.size) throw corrupt(`stream ${stream}: size ${String(v.size)} is not the edge's`);
      s.streams.set(stream, { size: edge.size, edge });
    }
    return s;
  }

  get(stream: string): StreamWitnessState | undefined {
    return this.streams.get(stream);
  }

  /** Records that the witness cosigned `stream` at `edge.size`, on disk before it returns. */
  set(stream: string, edge: CompactRange): void {
    this.streams.set(stream, { size: edge.size, edge: edge.clone() });
    const streams = Object.fromEntries(
      [...this.streams]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => [k, { size: v.size, edge: toBase64(v.edge.serialize()) }]),
    );
    mkdirSync(join(this.file, '..'), { recursive: true, mode: 0o700 });
    replaceFile(this.file, JSON.stringify({ format: FORMAT, version: VERSION, url: this.url, streams }) + '\n', 0o600);
  }
}
