// Upkeep: keeps local state bounded, every UPKEEP_INTERVAL_MS. Records of finished file
// generations that no longer exist expire; free pages go back to the filesystem.
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { Source } from '../sources/source.js';
import type { StateStore } from '../store/state.js';
import { expiresFinished } from '../sources/capabilities.js';

/** How often local state is tidied (free pages returned, stale file records expired). */
const UPKEEP_INTERVAL_MS = 10 * 60_000;
/** A finished file generation's record is kept this long after its last commit (then expires once the file is gone). */
const FINISHED_FILE_TTL_MS = 24 * 60 * 60_000;

export class Upkeep {
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly store: StateStore,
    /** The running sources by input name (each judges its own input's records). */
    private readonly sources: ReadonlyMap<string, Source>,
    private readonly log: Logger,
  ) {}

  /** Starts the timer (once). */
  start(): void {
    this.timer ??= setInterval(() => void this.run(), UPKEEP_INTERVAL_MS);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /**
   * Keeps local state bounded: records of finished file generations that no longer exist expire
   * after FINISHED_FILE_TTL_MS, and free pages go back to the filesystem. Never fails the daemon.
   */
  async run(): Promise<void> {
    try {
      // Each running input judges its own records; those of an input not running now (removed,
      // or failed to start) are kept until it runs again.
      const old = this.store.files.finishedFilesBefore(Date.now() - FINISHED_FILE_TTL_MS);
      const gone: number[] = [];
      for (const [name, src] of this.sources)
        if (expiresFinished(src)) gone.push(...(await src.goneFinished(old.filter((f) => f.input === name))));
      this.store.files.deleteFiles(gone);
      if (gone.length > 0)
        this.log.info({ expired: gone.length }, 'Expired the records of finished files that no longer exist.');
      this.store.vacuumStep();
    } catch (err) {
      this.log.warn({ err: errorMessage(err) }, 'State upkeep failed; trying again later.');
    }
  }
}
