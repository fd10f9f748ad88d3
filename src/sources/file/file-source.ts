// The file source: finds files matching the input's paths/globs (chokidar), keeps one FileTail
// per file generation, and reads them in turns. Rotation by rename keeps the old generation
// open ("retired") until it has been quiet for rotate_wait, so late writes to it are read.
import { watch, type FSWatcher } from 'chokidar';
import type { Stats } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import picomatch from 'picomatch';
import type { Logger } from 'pino';
import { errorMessage } from '../../errors.js';
import type {
  FileProblem,
  FileProblemReporter,
  FilePlacement,
  FinishedExpirer,
  FinishedRecord,
  HealthReporter,
  LagReporter,
  Releaser,
  StateLossPlacer,
  StateLossPolicy,
  TrailPositions,
} from '../capabilities.js';
import type { BatchConsumer, Source } from '../source.js';
import type { FileInputConfig } from './config.js';
import { placeAfterStateLoss } from './resume.js';
import { gapRecord, sealLostGeneration } from './gap.js';
import { finishedGenerationGone, recoverGeneration, unfinished } from './recover.js';
import type { FileRegistry, KnownFile, ListedFile } from './registry.js';
import { FileTail, type TailDeps, type TailOptions } from './tail.js';
import { FileProblems, isFileProblem } from './problems.js';
import { specialFile } from './safe-open.js';

export interface FileSourceOptions extends TailOptions {
  paths: string[];
  pollIntervalMs: number;
  rotateWaitMs: number;
  /** On a reload, what happens to a file the input no longer covers (see config `unmatched`). */
  unmatched: 'finish' | 'drop';
  /** Use file events (inotify) besides directory scans. */
  watch: boolean;
  /** Open file descriptors this input may hold; idle files beyond it are closed (dormant). */
  maxOpenFiles: number;
  /** How often the directories are listed for new files. */
  scanIntervalMs: number;
}

/** A reload waits this long (attempts x delay) for backpressure to clear a file leaving scope. */
const RELEASE_ATTEMPTS = 300;
const RELEASE_RETRY_MS = 100;

/** Reads per file per turn, so one busy file cannot starve the others. */
const CHUNKS_PER_TURN = 16;

export class FileSource
  implements
    Source,
    StateLossPlacer,
    Releaser<FileInputConfig>,
    HealthReporter,
    LagReporter,
    FileProblemReporter,
    FinishedExpirer
{
  readonly name: string;
  private readonly matchers: ((p: string) => boolean)[];
  private readonly watchRoots: string[];
  /** Directories to list for new files, and whether their globs reach below them. */
  private readonly scanRoots: Map<string, boolean>;
  /** Live tails by path, and retired ones (rotated away) still being drained. */
  private readonly live = new Map<string, FileTail>();
  private retired: FileTail[] = [];
  private readonly candidates = new Set<string>();
  /**
   * Files read to their end and closed to stay under max_open_files, with their identity and
   * size then: reopened (resuming at the committed offset) once a scan or file event shows them
   * changed.
   */
  private readonly dormant = new Map<string, { ident: string; size: number }>();
  private limitWarned = false;
  /** Paths not opened yet because the input is at max_open_files. */
  private readonly waiting = new Set<string>();
  /** Identity and size the watcher last reported for files not open yet (see lostBeforeOpen). */
  private readonly seen = new Map<string, { ident: string; size: number }>();
  /**
   * Generations left unfinished by the previous run that still have to be found or reported
   * (see recover.ts); loaded at the first read, emptied as they are settled.
   */
  private recovering: ListedFile[] | null = null;
  /** Matching symlinks whose target is missing for now (see watchDangling). */
  private readonly dangling = new Set<string>();
  private watcher: FSWatcher | null = null;
  private timer: NodeJS.Timeout | null = null;
  private scanTimer: NodeJS.Timeout | null = null;
  private pumping: Promise<void> | null = null;
  private again = false;
  private closed = false;
  private blocked = false;
  private lastError: string | null = null;
  /** Matching files not read (unreadable, not regular, tailseal's own): looked at on every read. */
  private readonly problems: FileProblems;
  /** Unfinished generations whose file recovery could not open, by row id: the path reported. */
  private readonly recoverProblems = new Map<number, string>();

  constructor(
    private readonly opts: FileSourceOptions,
    private readonly deps: { registry: FileRegistry; consumer: BatchConsumer; log: Logger } & Pick<TailDeps, 'protect'>,
  ) {
    this.name = opts.input;
    this.problems = new FileProblems(opts.input, deps.registry, deps.log);
    const abs = opts.paths.map((p) => resolve(p));
    this.matchers = abs.map((p) => picomatch(p, { dot: true }));
    this.watchRoots = abs.map((p) => picomatch.scan(p).base || '/');
    // A glob like /var/log/opa/*.log needs one listing; only "**" or a deeper pattern recurses.
    this.scanRoots = new Map();
    for (const p of abs) {
      const { base, glob } = picomatch.scan(p);
      // A literal path (no glob) is listed through its directory.
      const root = glob === '' ? dirname(p) : base || '/';
      this.scanRoots.set(root, (this.scanRoots.get(root) ?? false) || glob.includes('/') || glob.includes('**'));
    }
  }

  private matches(p: string): boolean {
    return this.matchers.some((m) => m(p));
  }

  async start(): Promise<void> {
    if (this.closed) return;
    // Directory listings find new files on every filesystem; file events (inotify) only make
    // that faster, and are missing on network and some overlay filesystems or once the inotify
    // limit is reached. Open files are checked every poll_interval either way.
    await this.scan();
    this.scanTimer = setInterval(() => void this.scan().then(() => this.wake()), this.opts.scanIntervalMs);
    if (this.opts.watch) await this.startWatcher();
    this.timer = setInterval(() => this.wake(), this.opts.pollIntervalMs);
    this.wake();
  }

  /** See StateLossPlacer: every file matching now is registered per the policy. */
  async placeAfterStateLoss(policy: StateLossPolicy, trail: TrailPositions): Promise<FilePlacement[]> {
    await this.scan();
    const opts = { input: this.name, maxLineBytes: this.opts.maxLineBytes, protect: this.deps.protect };
    return placeAfterStateLoss([...this.candidates], policy, trail, opts, this.deps.registry);
  }

  /** Lists the directories under each glob's base and takes the matching files as candidates. */
  private async scan(): Promise<void> {
    for (const [root, recursive] of this.scanRoots) {
      let names: string[];
      try {
        names = await readdir(root, { recursive });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
          this.deps.log.warn(
            { input: this.name, dir: root, err: errorMessage(err) },
            'Cannot list a directory of the input; retrying at the next scan.',
          );
        continue;
      }
      for (const n of names) {
        const abs = join(root, n);
        if (this.matches(abs) && !this.live.has(abs)) this.candidates.add(abs);
      }
    }
  }

  private async startWatcher(): Promise<void> {
    const matches = (p: string) => this.matches(p);
    this.watcher = watch(this.watchRoots, {
      persistent: true,
      ignoreInitial: false,
      followSymlinks: true,
      alwaysStat: true,
      // Directories must pass so chokidar descends; files only when a glob matches.
      ignored: (p, stats) => stats?.isFile() === true && !matches(resolve(p)),
    });
    const onFile = (p: string, stats?: Stats) => {
      const abs = resolve(p);
      if (!matches(abs)) return;
      // What the watcher saw of a file not open yet: if it is gone before it could be opened,
      // this is all there is to say about it (a gap record, see lostBeforeOpen).
      if (stats && !this.live.has(abs)) {
        const ident = `${stats.dev}:${stats.ino}`;
        if (this.seen.get(abs)?.ident !== ident)
          this.deps.log.debug({ input: this.name, path: abs, ident, bytes: stats.size }, 'File seen by the watcher.');
        this.seen.set(abs, { ident, size: stats.size });
      }
      this.candidates.add(abs);
      this.wake();
    };
    this.watcher
      .on('add', onFile)
      .on('change', onFile)
      .on('unlink', (p) => onFile(p));
    this.watcher.on('error', (err) =>
      this.deps.log.warn(
        { input: this.name, err: errorMessage(err) },
        'File watcher error; directory scans and polling continue.',
      ),
    );
    await new Promise<void>((res) => this.watcher!.once('ready', () => res()));
  }

  wake(): void {
    if (this.closed) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = this.pump().finally(() => {
      this.pumping = null;
      if (this.again && !this.closed) {
        this.again = false;
        this.wake();
      }
    });
  }

  /** Resolves once any read in progress has finished. For tests and shutdown. */
  async idle(): Promise<void> {
    while (this.pumping) await this.pumping;
  }

  private async pump(): Promise<void> {
    try {
      await this.recover();
      await this.discover();
      this.problems.save();
      this.blocked = false;
      let more = true;
      const atEnd = new Set<FileTail>();
      while (more && !this.closed && !this.blocked) {
        more = false;
        for (const tail of [...this.live.values(), ...this.retired]) {
          if (this.closed) return;
          const r =
            (await tail.checkTruncation()) === 'blocked' ? 'blocked' : await tail.readAvailable(CHUNKS_PER_TURN);
          if (r === 'blocked') {
            this.blocked = true;
            break;
          }
          if (r === 'more') more = true;
          else atEnd.add(tail);
        }
      }
      if (!this.blocked) {
        await this.expireRetired();
        await this.closeIdle(atEnd);
      }
      if (this.lastError) {
        this.deps.log.info({ input: this.name }, 'Reading resumed.');
        this.lastError = null;
      }
    } catch (err) {
      // Typically the state database failing (busy, read-only, disk full). Nothing advanced;
      // the next poll retries from the committed offsets.
      const msg = errorMessage(err);
      if (msg !== this.lastError)
        this.deps.log.error(
          { input: this.name, err: msg },
          'Reading paused: a commit or read failed; retrying on the next poll.',
        );
      this.lastError = msg;
    }
  }

  /**
   * At the first read after a start: the generations the previous run had not finished whose
   * path leads elsewhere now are found under their new name and drained like rotated files, or
   * sealed as gone. Retried on later reads while the outbox refuses a gap record or the input
   * is at max_open_files.
   */
  private async recover(): Promise<void> {
    if (this.recovering?.length === 0) return;
    // Every unfinished generation of this input: those its globs no longer match (the config
    // changed while tailseal was stopped) are settled by `unmatched`, like on a reload.
    this.recovering ??= unfinished(this.deps, this.name, () => true);
    const later: ListedFile[] = [];
    for (const listed of this.recovering) {
      if (this.closed) return;
      // As the registry holds it now: opened, read and finished meanwhile, or still pending.
      const row = this.deps.registry.findFile(listed.ident);
      if (!row || row.id !== listed.id || row.done) continue;
      if (this.openTails().some((t) => t.ident === row.ident)) continue; // being read: the tail carries on
      if (!this.matches(row.path)) {
        if (!(await this.settleOutOfScope(row))) later.push(listed);
        continue;
      }
      const r = await this.recoverFile(row);
      // Still at its path: kept until discovery has opened it, as it may be renamed away before.
      if (r.kind === 'later' || r.kind === 'here') later.push(listed);
      else if (r.kind === 'found') {
        r.tail.retiredAt = Date.now();
        this.retired.push(r.tail);
        this.deps.log.info(
          { input: this.name, path: row.path, found: r.at, offset: r.tail.position },
          'File rotated while tailseal was stopped; reading it to its end.',
        );
      } else {
        // Sealed as gone: the watcher may have reported this file before it vanished, and its
        // gap record is the one just sealed; lostBeforeOpen must not seal a second from byte 0.
        for (const [path, s] of this.seen) if (s.ident === row.ident) this.seen.delete(path);
      }
    }
    this.recovering = later;
  }

  /**
   * recoverGeneration, with a file it finds but cannot open (FILE_UNREADABLE) reported as the
   * input's problem and tried again later: the generation is still there, not lost.
   */
  private async recoverFile(row: KnownFile): Promise<Awaited<ReturnType<typeof recoverGeneration>>> {
    try {
      const canOpen = this.live.size + this.retired.length < this.opts.maxOpenFiles;
      const r = await recoverGeneration(row, this.opts, this.deps, canOpen);
      const reported = this.recoverProblems.get(row.id);
      if (reported !== undefined && r.kind !== 'later') {
        this.recoverProblems.delete(row.id);
        this.problems.clear(reported);
      }
      return r;
    } catch (err) {
      if (!isFileProblem(err)) throw err;
      const path = typeof err.details.path === 'string' ? err.details.path : row.path;
      this.recoverProblems.set(row.id, path);
      this.problems.note(path, err);
      return { kind: 'later' };
    }
  }

  /**
   * An unfinished generation whose path the input's globs no longer match: found (at its path,
   * or renamed beside it) it is read to its end (`unmatched: finish`) or its unread bytes are
   * sealed as an out_of_scope gap record (`drop`); gone, recover.ts seals its gap record.
   * Returns false to be tried again later (outbox full, no descriptor free).
   */
  private async settleOutOfScope(row: KnownFile): Promise<boolean> {
    const canOpen = this.live.size + this.retired.length < this.opts.maxOpenFiles;
    let tail: FileTail | null = null;
    if ((await FileTail.statOf(row.path))?.ident === row.ident) {
      if (!canOpen) return false;
      const t = await FileTail.resume(row.path, row.path, row, this.opts, this.deps).catch((err: unknown) => {
        if (!isFileProblem(err)) throw err;
        this.problems.note(row.path, err);
        return 'blocked' as const; // tried again at the next read
      });
      if (t === 'blocked') return false;
      this.problems.clear(row.path);
      tail = t;
    }
    if (!tail) {
      const r = await this.recoverFile(row);
      if (r.kind === 'later') return false;
      if (r.kind === 'sealed') return true; // gone: its gap record is sealed
      if (r.kind === 'here') {
        // Still at its path but with other first bytes (truncated and rewritten while stopped):
        // what it held past the offset is unknowable; say so and finish the generation.
        return sealLostGeneration(row, 'truncated_unread', this.opts, this.deps.consumer);
      }
      tail = r.tail;
    }
    const mode = this.opts.unmatched;
    this.deps.log.info(
      { input: this.name, path: row.path, offset: tail.position, unmatched: mode },
      mode === 'drop'
        ? "File no longer matches the input's paths (config changed while tailseal was stopped); sealing its " +
            'unread bytes as a gap record.'
        : "File no longer matches the input's paths (config changed while tailseal was stopped); reading it to its " +
            'end.',
    );
    if (mode === 'finish') {
      tail.retiredAt = Date.now();
      this.retired.push(tail);
      return true;
    }
    try {
      return await tail.dropRest();
    } finally {
      await tail.close();
    }
  }

  private openTails(): FileTail[] {
    return [...this.live.values(), ...this.retired];
  }

  /** Opens new files, and retires tails whose path now leads elsewhere (rotated) or nowhere. */
  private async discover(): Promise<void> {
    // Files with a problem are looked at again every time: it may be over (made readable).
    const problems = this.problems.paths().filter((p) => this.matches(p));
    const paths = new Set([...this.candidates, ...this.live.keys(), ...this.dangling, ...problems]);
    this.candidates.clear();
    for (const path of paths) {
      const current = this.live.get(path);
      const st = await FileTail.statOf(path);
      const ident = st?.ident ?? null;
      const sleeping = this.dormant.get(path);
      // Unchanged: it stays closed.
      if (sleeping && st && sleeping.ident === st.ident && sleeping.size === st.size) continue;
      this.dormant.delete(path);
      if (current && current.ident === ident) continue;
      if (current) {
        // Renamed away or deleted: keep reading the old generation until it goes quiet.
        current.retiredAt = Date.now();
        this.live.delete(path);
        this.retired.push(current);
        this.deps.log.info({ input: this.name, path }, 'File rotated or removed; draining the old file.');
      }
      if (ident === null) {
        // A FIFO, socket or device is not read, and said so; a path leading nowhere has no problem.
        // One never to be read leaves no deleted_unread gap record when it goes (a link to the WAL).
        const was = this.problems.codeOf(path);
        if (was === 'FILE_PROTECTED' || was === 'FILE_NOT_REGULAR') this.seen.delete(path);
        const special = await specialFile(path);
        if (special) this.problems.note(path, special);
        else this.problems.clear(path);
        this.waiting.delete(path);
        if (!current && !this.lostBeforeOpen(path)) this.candidates.add(path); // backpressure: later
        await this.watchDangling(path);
        continue;
      }
      this.dangling.delete(path);
      this.seen.delete(path);
      // The same generation may already be open under another name (renamed to a matching path).
      const existing = this.openTails().find((t) => t.ident === ident);
      if (existing) {
        this.retired = this.retired.filter((t) => t !== existing);
        for (const [p, t] of this.live) if (t === existing) this.live.delete(p);
        existing.retiredAt = null;
        existing.path = path;
        this.live.set(path, existing);
        continue;
      }
      if (this.live.size + this.retired.length >= this.opts.maxOpenFiles) {
        // At the descriptor limit with every open file busy: try again once some are idle.
        if (!this.limitWarned)
          this.deps.log.warn(
            { input: this.name, max_open_files: this.opts.maxOpenFiles },
            'max_open_files reached; more files wait to be opened until open ones are idle.',
          );
        this.limitWarned = true;
        this.candidates.add(path);
        this.waiting.add(path);
        this.again = true;
        continue;
      }
      this.waiting.delete(path);
      const tail = await this.openFile(path);
      if (tail === 'problem') {
        // What it holds: if it is deleted before it could ever be read, a gap record says so
        // (lostBeforeOpen). The watcher cannot report a file it may not read.
        if (st && this.problems.codeOf(path) === 'FILE_UNREADABLE') this.seen.set(path, st);
        continue;
      }
      if (tail === 'blocked') {
        this.candidates.add(path); // a gap record it had to seal first was refused: later
        continue;
      }
      if (tail) {
        this.live.set(path, tail);
        this.deps.log.info({ input: this.name, path, offset: tail.position }, 'Tailing file.');
      } else await this.watchDangling(path);
    }
  }

  /**
   * FileTail.open; a file that may not or cannot be read is this file's problem (logged once,
   * reported, looked at again on every read), never the input's: the other files are read.
   */
  private async openFile(path: string): Promise<FileTail | null | 'blocked' | 'problem'> {
    try {
      const tail = await FileTail.open(path, this.opts, this.deps);
      if (tail !== 'blocked') this.problems.clear(path);
      return tail;
    } catch (err) {
      if (!isFileProblem(err)) throw err;
      this.problems.note(path, err);
      return 'problem';
    }
  }

  /**
   * A file the watcher saw with data that vanished before it was ever opened: its bytes past
   * what was sealed of that generation (usually all of them) are sealed as a `deleted_unread`
   * gap record. How many there were at the end is unknown (the watcher's size is only a lower
   * bound). Returns false when the outbox refused the record (retry later).
   */
  private lostBeforeOpen(path: string): boolean {
    const s = this.seen.get(path);
    if (!s) return true;
    const open = this.openTails().some((t) => t.ident === s.ident);
    // A row of an unfinished generation on this inode (a file closed while idle, or one known
    // from before a restart) is where reading stopped; it is marked finished with the gap. A
    // finished row's inode may have been reused by this file: all of it counts then.
    const known = this.deps.registry.findFile(s.ident);
    const row = known && !known.done ? known : undefined;
    const from = row?.offset ?? 0;
    if (!open && s.size > from) {
      this.deps.log.warn(
        { input: this.name, path, bytes_seen: s.size - from },
        'File was deleted before tailseal could open it; sealing a gap record for its unread bytes.',
      );
      const gap = gapRecord(path, from, 'deleted_unread', { length: null, atLeast: s.size - from }, { ident: s.ident });
      const position = row && { fileId: row.id, offset: row.offset, path: row.path, done: true };
      const ok = this.deps.consumer.commit({
        input: this.name,
        stream: this.opts.stream,
        records: [gap],
        position,
        counters: { gap_deleted_unread: 1 },
      });
      if (!ok) return false;
    }
    this.seen.delete(path);
    return true;
  }

  /**
   * A symlink that leads nowhere right now, like /var/log/containers/<pod>.log while the kubelet
   * rotates the 0.log it points to (rename, then create anew): no watcher event says when it
   * leads somewhere again, so it is checked on every poll for as long as the link exists.
   */
  private async watchDangling(path: string): Promise<void> {
    const link = await lstat(path).then(
      (st) => st.isSymbolicLink(),
      () => false,
    );
    if (link) this.dangling.add(path);
    else this.dangling.delete(path);
  }

  /**
   * Keeps the input under max_open_files: files read to their end, least recently active first,
   * are closed and remembered as dormant. Their offsets are committed, so nothing is lost; a
   * scan or a file event that shows one changed reopens it where it stopped.
   */
  private async closeIdle(atEnd: ReadonlySet<FileTail>): Promise<void> {
    // Room for the files waiting to be opened, as far as idle ones can give it.
    let over = this.live.size + this.retired.length + this.waiting.size - this.opts.maxOpenFiles;
    if (over <= 0) return;
    const idle = [...this.live.entries()]
      .filter(([, t]) => atEnd.has(t))
      .sort((a, b) => a[1].lastDataAt - b[1].lastDataAt);
    for (const [path, tail] of idle) {
      if (over-- <= 0) break;
      this.live.delete(path);
      this.dormant.set(path, { ident: tail.ident, size: Math.max(tail.knownSize, tail.position) });
      await tail.close();
    }
  }

  private async expireRetired(): Promise<void> {
    const now = Date.now();
    const keep: FileTail[] = [];
    for (const t of this.retired) {
      if (now - Math.max(t.retiredAt ?? now, t.lastDataAt) < this.opts.rotateWaitMs) {
        keep.push(t);
        continue;
      }
      if (!(await t.finish())) {
        keep.push(t);
        continue;
      }
      await t.close();
      this.deps.log.info({ input: this.name, path: t.path }, 'Finished rotated file.');
    }
    this.retired = keep;
  }

  health(): { ok: boolean; detail?: string } {
    if (this.lastError !== null) return { ok: false, detail: `reading paused: ${this.lastError}` };
    const files = this.problems.summary();
    return files === null ? { ok: true } : { ok: false, detail: files };
  }

  fileProblems(): FileProblem[] {
    return this.problems.list();
  }

  async goneFinished(rows: readonly FinishedRecord[]): Promise<number[]> {
    const gone: number[] = [];
    for (const row of rows) if (await finishedGenerationGone(row)) gone.push(row.id);
    return gone;
  }

  lag(): { path: string; bytes: number }[] {
    return [...this.live.values(), ...this.retired].map((t) => ({
      path: t.path,
      bytes: Math.max(0, t.knownSize - t.position),
    }));
  }

  /**
   * See Releaser. Reading stops; each open file that `next` no longer covers (every file,
   * when the input was removed) is finished (read to its current end; a final fragment becomes a
   * partial_line_at_close gap record) or, with `unmatched: drop`, has its unread bytes sealed as
   * an out_of_scope gap record. Files `next` still covers are left at their committed offsets
   * for the successor. Waits out backpressure for a bounded time; what is still unsettled then
   * keeps its committed offset (nothing is marked read that was not) and an error is logged.
   */
  async release(next: FileInputConfig | undefined): Promise<void> {
    if (!(await this.stopReading())) return;
    // The host passes only a file input's config (Releaser); checked anyway, as the kind decides what it covers.
    const same = next?.type === 'file' ? next : undefined;
    const covers = same ? same.paths.map((p) => picomatch(resolve(p), { dot: true })) : [];
    const mode = same ? same.unmatched : this.opts.unmatched;
    const tails = [...this.live.values(), ...this.retired];
    for (const tail of tails) {
      if (covers.some((m) => m(tail.path))) continue;
      let settled = false;
      for (let attempt = 0; attempt < RELEASE_ATTEMPTS && !settled; attempt++) {
        try {
          settled = mode === 'drop' ? await tail.dropRest() : await tail.finish();
        } catch (err) {
          this.deps.log.error(
            { input: this.name, path: tail.path, err: errorMessage(err) },
            "Settling a file that left the input's scope failed; retrying.",
          );
        }
        if (!settled) await new Promise((r) => setTimeout(r, RELEASE_RETRY_MS));
      }
      if (settled)
        this.deps.log.info(
          { input: this.name, path: tail.path, unmatched: mode },
          mode === 'drop'
            ? "File left the input's scope; its unread bytes are sealed as a gap record."
            : "File left the input's scope; read to its end.",
        );
      else
        this.deps.log.error(
          { input: this.name, path: tail.path, offset: tail.position },
          "File left the input's scope but could not be settled (outbox full or state database failing); it keeps " +
            'its committed offset and is read on if a glob covers it again.',
        );
    }
    await this.closeFiles();
  }

  async close(): Promise<void> {
    if (await this.stopReading()) await this.closeFiles();
  }

  /** Stops timers, the watcher and reading; false when the source was already stopped. */
  private async stopReading(): Promise<boolean> {
    if (this.closed) return false;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    if (this.scanTimer) clearInterval(this.scanTimer);
    await this.watcher?.close();
    await this.idle();
    return true;
  }

  private async closeFiles(): Promise<void> {
    for (const t of [...this.live.values(), ...this.retired]) await t.close();
    this.live.clear();
    this.retired = [];
  }
}
