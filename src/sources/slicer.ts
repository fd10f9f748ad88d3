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

/** Buffer.concat(chunks) copied a chunk at a time, pausing whenever the slice is used up. */
export async function concatSliced(chunks: readonly Uint8Array[], slicer: Slicer): Promise<Buffer> {
  if (chunks.length === 1) return Buffer.from(chunks[0]!.buffer, chunks[0]!.byteOffset, chunks[0]!.length);
  let total = 0;
  for (const c of chunks) total += c.length;
  const out = Buffer.allocUnsafe(total);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
    if (slicer.due()) await slicer.pause();
  }
  return out;
}
