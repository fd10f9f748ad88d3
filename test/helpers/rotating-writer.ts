// A stand-in for OPA plus logrotate, for the chaos test: appends decision lines (each after one
// of OPA's other lines) to one live file and rotates it by rename, copytruncate or delete and
// recreate. It remembers every content the live file ever had and where each line went in it,
// so that afterwards each line can be accounted for.
import {
  closeSync,
  copyFileSync,
  fstatSync,
  ftruncateSync,
  openSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { decisionLine, otherLine } from './opa-sample.js';
import { FINGERPRINT_BYTES } from '../../src/sources/file/identity.js';

/**
 * What one inode held between two truncations: a file generation, or one of its copytruncate
 * epochs (same inode, new bytes). Numbered in the order they began.
 */
export interface Content {
  n: number;
  /** "<dev>:<ino>", as tailseal keys generations. */
  ident: string;
  /** When it began (taken just before the call that began it). */
  born: number;
  /**
   * When its bytes were destroyed (truncated, or its last name unlinked; taken just before that
   * call, so never after tailseal could have noticed); null while they exist.
   */
  died: number | null;
  /** Its first bytes (as many as a fingerprint covers). */
  head: Buffer;
  size: number;
  lines: Line[];
  /**
   * Whether tailseal knew this content when it left the live path (renamed away, truncated or
   * deleted): 'unknown' when it had not registered it by then, so nothing of it can be expected.
   * 'live' while it has not left.
   */
  left: 'live' | 'known' | 'unknown';
}

/** A decision line as written: its bytes (no "\n") and where they are in their content. */
export interface Line {
  id: string;
  text: string;
  content: Content;
  off: number;
  end: number;
}

/** How a content leaves the live path: renamed (its bytes live on) or destroyed. */
export type Leaving = 'rename' | 'destroy';

export class RotatingWriter {
  readonly contents: Content[] = [];
  readonly lines = new Map<string, Line>();
  private fd = -1;
  private cur!: Content;
  /** Rotated files and copies, oldest first (content: the bytes a rename kept; null for a copy). */
  private readonly rotated: { path: string; content: Content | null }[] = [];
  private rotations = 0;
  private i = 0;

  constructor(
    private readonly log: string,
    private readonly rnd: () => number,
    /** Asks tailseal's state whether it knows `c` (see Content.left). */
    private readonly knows: (c: Content, how: Leaving) => boolean,
  ) {
    this.create();
  }

  /** Appends 5..64 decision lines (each after one other line) in one write, as OPA's buffered log does. */
  burst(into: Content = this.cur, fd: number = this.fd): number {
    const count = 5 + Math.floor(this.rnd() * 60);
    const parts: string[] = [];
    let off = into.size;
    for (let k = 0; k < count; k++, this.i++) {
      const other = `${otherLine(this.i)}\n`;
      const text = decisionLine(this.i, this.rnd);
      off += Buffer.byteLength(other);
      const line: Line = {
        id: (JSON.parse(text) as { decision_id: string }).decision_id,
        text,
        content: into,
        off,
        end: off + Buffer.byteLength(text),
      };
      if (this.lines.has(line.id)) throw new Error(`decision_id ${line.id} generated twice`);
      this.lines.set(line.id, line);
      into.lines.push(line);
      off = line.end + 1;
      parts.push(other, `${text}\n`);
    }
    const buf = Buffer.from(parts.join(''));
    writeSync(fd, buf);
    if (into.head.length < FINGERPRINT_BYTES)
      into.head = Buffer.concat([into.head, buf]).subarray(0, FINGERPRINT_BYTES);
    into.size += buf.length;
    return count;
  }

  /** logrotate's default: rename to opa.log.N, the writer's last lines land there, then a new file. */
  renameRotate(): void {
    const c = this.leave('rename');
    const to = `${this.log}.${++this.rotations}`;
    renameSync(this.log, to);
    this.rotated.push({ path: to, content: c });
    if (this.rnd() < 0.5) this.burst(c, this.fd); // written through the old descriptor
    closeSync(this.fd);
    this.create();
  }

  /** logrotate's copytruncate, copy and truncation back to back (the writer loses nothing). */
  copyTruncate(): void {
    const c = this.leave('destroy');
    const to = `${this.log}.${++this.rotations}`;
    copyFileSync(this.log, to);
    const at = Date.now();
    ftruncateSync(this.fd, 0);
    c.died = at;
    this.rotated.push({ path: to, content: null });
    this.begin(c.ident, at);
  }

  /** The live file deleted and created anew; sometimes old rotated files are removed too. */
  deleteRecreate(): void {
    const c = this.leave('destroy');
    c.died = Date.now();
    unlinkSync(this.log);
    closeSync(this.fd);
    if (this.rnd() < 0.5) {
      for (const r of this.rotated.splice(0, Math.ceil(this.rotated.length * this.rnd()))) {
        if (r.content) r.content.died ??= Date.now();
        unlinkSync(r.path);
      }
    }
    this.create();
  }

  close(): void {
    closeSync(this.fd);
  }

  private leave(how: Leaving): Content {
    const c = this.cur;
    c.left = this.knows(c, how) ? 'known' : 'unknown';
    return c;
  }

  private create(): void {
    const at = Date.now();
    this.fd = openSync(this.log, 'a');
    const st = fstatSync(this.fd, { bigint: true });
    this.begin(`${st.dev}:${st.ino}`, at);
  }

  private begin(ident: string, born: number): void {
    this.cur = {
      n: this.contents.length,
      ident,
      born,
      died: null,
      head: Buffer.alloc(0),
      size: 0,
      lines: [],
      left: 'live',
    };
    this.contents.push(this.cur);
  }
}
