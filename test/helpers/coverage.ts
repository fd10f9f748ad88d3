// Accounting for every line a RotatingWriter wrote against what reached the store: sealed byte
// for byte at its offset, or covered by a gap record of its own content, or lost where tailseal
// could not know of it. Anything else is a problem.
import { createHash } from 'node:crypto';
import type { Envelope } from '../../src/trail/envelope.js';
import type { Content, Line } from './rotating-writer.js';

/** A gap record's payload as the file source writes it. */
export interface GapPayload {
  reason: string;
  length: number | null;
  from?: number;
  at_least?: number;
  file?: string;
  fp?: string;
  fp_len?: number;
}

interface Gap extends GapPayload {
  offset: number;
  sealedAt: number;
}

export interface Accounting {
  sealed: number;
  covered: number;
  /** Lines of contents tailseal did not know when they left the live path. */
  unknowable: number;
  gapReasons: Record<string, number>;
  /** What is wrong, one line each (empty when all is well). */
  problems: string[];
}

const sha256hex = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

export function account(entries: Envelope[], contents: Content[], lines: Map<string, Line>): Accounting {
  const problems: string[] = [];
  const sealedIds = new Set<string>();
  const gaps: Gap[] = [];
  const gapReasons: Record<string, number> = {};
  const gapKeys = new Set<string>();
  for (const e of entries) {
    const text = Buffer.from(e.payload).toString('utf8');
    if (e.kind === 'gap') {
      const g = JSON.parse(text) as GapPayload;
      gapReasons[g.reason] = (gapReasons[g.reason] ?? 0) + 1;
      const key = `${e.source}@${e.offset} ${text}`;
      if (gapKeys.has(key)) problems.push(`gap record sealed twice: seq ${e.seq} ${key}`);
      gapKeys.add(key);
      gaps.push({ ...g, offset: e.offset, sealedAt: e.sealedAt });
      continue;
    }
    const id = (JSON.parse(text) as { decision_id: string }).decision_id;
    const line = lines.get(id);
    if (!line) problems.push(`seq ${e.seq}: decision ${id} was never written`);
    else if (line.text !== text) problems.push(`seq ${e.seq}: decision ${id} differs from the line written`);
    else if (line.off !== e.offset)
      problems.push(
        `seq ${e.seq}: decision ${id} sealed at offset ${e.offset}, written at ${line.off} of content ` +
          `${line.content.n}`,
      );
    if (sealedIds.has(id)) problems.push(`seq ${e.seq}: decision ${id} sealed twice`);
    sealedIds.add(id);
  }
  let covered = 0;
  let unknowable = 0;
  for (const line of lines.values()) {
    if (sealedIds.has(line.id)) continue;
    if (gaps.some((g) => covers(g, line, contents))) covered++;
    else if (line.content.left === 'unknown') unknowable++;
    else {
      const c = line.content;
      problems.push(
        `decision ${line.id} at offset ${line.off} of content ${c.n} (inode ${c.ident}, ${c.left}, ` +
          `${c.died === null ? 'alive' : 'destroyed'}) is neither sealed nor covered by a gap record`,
      );
    }
  }
  return { sealed: sealedIds.size, covered, unknowable, gapReasons, problems };
}

/** Whether the content's first bytes are what the gap's fingerprint was taken over. */
function fingerprinted(g: Gap, c: Content): boolean {
  if (g.fp === undefined || g.fp_len === undefined) return true; // no fingerprint: any content of the inode
  return c.head.length >= g.fp_len && sha256hex(c.head.subarray(0, g.fp_len)) === g.fp;
}

/**
 * A gap covers a line of its own content (same inode, fingerprint matching, begun before the
 * gap was sealed) from its offset: `length` bytes, or, when the length is unknown, everything
 * after it plus every later content of that inode destroyed before the gap was sealed (those
 * went while tailseal could not look).
 */
function covers(g: Gap, line: Line, contents: Content[]): boolean {
  const c = line.content;
  if (g.file !== c.ident) return false;
  const own = contents.filter((t) => t.ident === g.file && t.born <= g.sealedAt && fingerprinted(g, t));
  if (own.includes(c)) {
    if (g.length === null) return line.off >= (g.from ?? g.offset);
    return line.off >= g.offset && line.end <= g.offset + g.length;
  }
  return g.length === null && c.died !== null && c.died <= g.sealedAt && own.some((t) => t.n < c.n);
}
