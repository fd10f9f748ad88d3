// Files an input matches but cannot read (no permission, a FIFO or device, one of tailseal's own
// files): each one's problem is its own. The input reads its other files; the file is looked at
// again at every poll; its problem is logged once, shown by /readyz, a metric and `tailseal status`.
import type { Logger } from 'pino';
import { type TailsealError, errorMessage, isTailsealError } from '../../errors.js';
import type { FileProblem } from '../capabilities.js';
import type { FileRegistry } from './registry.js';

const FILE_CODES: ReadonlySet<string> = new Set(['FILE_UNREADABLE', 'FILE_NOT_REGULAR', 'FILE_PROTECTED']);
/** How many paths /readyz names before it only counts. */
const NAMED_IN_HEALTH = 5;

/** Whether `err` is about one file only (safe-open.ts), not about the input or the state database. */
export function isFileProblem(err: unknown): err is TailsealError {
  return isTailsealError(err) && FILE_CODES.has(err.code);
}

export class FileProblems {
  private readonly byPath = new Map<string, FileProblem>();
  /** Whether the state database's copy is behind; true at first, to clear what a previous run left. */
  private unsaved = true;

  constructor(
    private readonly input: string,
    private readonly registry: FileRegistry,
    private readonly log: Logger,
  ) {}

  /** Records `err` for `path`; logged only when the path had no problem or another one before. */
  note(path: string, err: TailsealError): void {
    const was = this.byPath.get(path);
    if (was?.code === err.code && was.message === err.message) return;
    const since = new Date().toISOString();
    this.byPath.set(path, { path, code: err.code, message: err.message, since });
    this.unsaved = true;
    const fields = { input: this.input, path, code: err.code, err: err.message };
    const msg =
      "A file matching the input's paths is not read; the other files are, " +
      'and this one is looked at again at every poll.';
    if (err.code === 'FILE_UNREADABLE') this.log.error(fields, msg);
    else this.log.warn(fields, msg);
  }

  /** `path` was opened, or leads nowhere now: whatever problem it had is over. */
  clear(path: string): void {
    const was = this.byPath.get(path);
    if (!was) return;
    this.byPath.delete(path);
    this.unsaved = true;
    const msg = 'A file that was not read is no longer a problem (readable now, or gone).';
    this.log.info({ input: this.input, path, code: was.code }, msg);
  }

  /** The FILE_* code of `path`'s problem, if it has one. */
  codeOf(path: string): string | undefined {
    return this.byPath.get(path)?.code;
  }

  paths(): string[] {
    return [...this.byPath.keys()];
  }

  list(): FileProblem[] {
    return [...this.byPath.values()];
  }

  /** /readyz detail naming the files, or null when there are none. */
  summary(): string | null {
    const all = this.list();
    if (all.length === 0) return null;
    const named = all
      .slice(0, NAMED_IN_HEALTH)
      .map((p) => `${p.path} (${p.code})`)
      .join(', ');
    const more = all.length > NAMED_IN_HEALTH ? `, and ${all.length - NAMED_IN_HEALTH} more` : '';
    return `${all.length} file(s) not read: ${named}${more}`;
  }

  /**
   * Stores the list for `tailseal status` when it changed. A failing state database leaves it
   * unsaved (tried again at the next save); that failure is reported by the commits themselves.
   */
  save(): void {
    if (!this.unsaved) return;
    try {
      this.registry.setFileProblems(this.input, this.list());
      this.unsaved = false;
    } catch (err) {
      this.log.debug({ input: this.input, err: errorMessage(err) }, 'Could not store the unreadable files; retrying.');
    }
  }
}
