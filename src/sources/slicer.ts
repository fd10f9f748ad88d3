// Long synchronous work cut into slices of a few milliseconds, so that the event loop keeps
// answering (health checks, other uploads, file events) while a large upload is parsed and sealed.
import { setImmediate as yieldToLoop } from 'node:timers/promises';

export class Slicer {
  private sliceStart = performance.now();
  constructor(private readonly sliceMs: number) {}

  /** Whether the current slice is used up; then `await pause()` before going on. */
  due(): boolean {
    return performance.now() - this.sliceStart >= this.sliceMs;
  }

  /** Lets everything queued on the event loop run, then starts a new slice. */
  async pause(): Promise<void> {
    await yieldToLoop();
    this.sliceStart = performance.now();
  }
}
