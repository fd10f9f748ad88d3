// Where a file input resumes after its offsets were lost with the state database (docs/operations.md "Lost
// state"): the verified trail still says which line of each path was sealed last, and the file
// itself tells whether that line is still at that offset.
import type { FileRegistry } from './registry.js';
import type { StateLossPolicy, FilePlacement, TrailPositions } from '../capabilities.js';
import { FINGERPRINT_BYTES, fingerprintOf, identify, readHead, readRange } from './identity.js';
import type { ProtectedPaths } from '../capabilities.js';
import { openGuarded } from './safe-open.js';

export interface ResumeOptions {
  input: string;
  maxLineBytes: number;
  protect?: () => ProtectedPaths;
}

/**
 * The offset just past the trail's last sealed line of `path`, if the file still holds that line
 * there: the same bytes (OPA's line as written), or a line with the same decision_id (a masked
 * decision was sealed as other bytes). Null when the path is not in the trail, or holds other
 * content there now (rotated, truncated, or a container log whose wrapper lines differ).
 */
async function confirmedPosition(
  fh: import('node:fs/promises').FileHandle,
  last: { offset: number; payload: Uint8Array } | undefined,
  maxLineBytes: number,
): Promise<number | null> {
  if (!last) return null;
  const bytes = await readRange(fh, last.offset, Math.max(last.payload.length, maxLineBytes) + 1);
  const nl = bytes.indexOf(0x0a);
  if (nl < 0) return null;
  const line = bytes.subarray(0, nl);
  if (line.equals(last.payload)) return last.offset + nl + 1;
  const id = (b: Uint8Array): unknown => {
    try {
      return (JSON.parse(Buffer.from(b).toString('utf8')) as { decision_id?: unknown }).decision_id;
    } catch {
      return undefined;
    }
  };
  const sealed = id(last.payload);
  return typeof sealed === 'string' && sealed !== '' && id(line) === sealed ? last.offset + nl + 1 : null;
}

/** The offset just past the last "\n" before `size` (within a line's length), else `size`. */
async function endOfLastLine(
  fh: import('node:fs/promises').FileHandle,
  size: number,
  maxLineBytes: number,
): Promise<number> {
  const window = Math.min(size, maxLineBytes + 1);
  const bytes = await readRange(fh, size - window, window);
  const nl = bytes.lastIndexOf(0x0a);
  return nl < 0 ? size : size - window + nl + 1;
}

/**
 * Registers each file in `paths` at the offset the policy gives it and returns what was decided,
 * for the sealed state-reset record. `chain_tail`: just past the trail's last line of the file,
 * or 0 when that cannot be confirmed (lines sealed before may then be sealed again, and the
 * record says so). `end_of_files`: the file's current size (what lies between the confirmed
 * position and the end is skipped, and the record says how much).
 */
export async function placeAfterStateLoss(
  paths: readonly string[],
  policy: StateLossPolicy,
  trail: TrailPositions,
  opts: ResumeOptions,
  registry: FileRegistry,
): Promise<FilePlacement[]> {
  const out: FilePlacement[] = [];
  for (const path of [...paths].sort()) {
    let fh;
    try {
      fh = await openGuarded(path, opts.protect);
    } catch {
      fh = null; // not to be read (FILE_* errors): discovery reports it
    }
    if (!fh) continue; // or gone since it was listed: nothing to place
    try {
      const { ident, size } = await identify(fh);
      const head = await readHead(fh, FINGERPRINT_BYTES);
      const confirmed = await confirmedPosition(fh, trail.lastDecision.get(path), opts.maxLineBytes);
      let offset: number;
      let placement: FilePlacement;
      if (policy === 'end_of_files') {
        // After the last complete line: a line being written now is read whole, not cut.
        offset = await endOfLastLine(fh, size, opts.maxLineBytes);
        placement = { path, ident, action: 'skipped', from: confirmed ?? 0, to: offset };
      } else if (confirmed !== null) {
        offset = confirmed;
        placement = { path, ident, action: 'resumed', from: confirmed };
      } else {
        offset = 0;
        placement = { path, ident, action: 'from_start', from: 0 };
      }
      registry.upsertFile(
        { input: opts.input, ident, path, fingerprint: fingerprintOf(head), fpLen: head.length, offset },
        registry.findFile(ident)?.id,
      );
      out.push(placement);
    } finally {
      await fh.close();
    }
  }
  return out;
}
