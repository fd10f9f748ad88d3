// Bounded concurrency for a monitor pass: at most `limit` of the items are being worked on at once.
// A failure (an abort, an I/O error the caller rethrows) stops taking new items; the items in
// progress are awaited before it is rethrown, so nothing of the pass is still running (writing the
// state database, say) once the pass has returned or thrown.

/** Runs `work` on every item, at most `limit` at a time; `onActive` hears the number in progress. */
export async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<void>,
  onActive: (active: number) => void = () => undefined,
): Promise<void> {
  let next = 0;
  let active = 0;
  let failure: { err: unknown } | undefined;
  const lane = async (): Promise<void> => {
    while (!failure && next < items.length) {
      const i = next++;
      onActive(++active);
      try {
        await work(items[i]!, i);
      } catch (err) {
        failure ??= { err };
      } finally {
        onActive(--active);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  if (failure) throw failure.err;
}
