/**
 * Runs `task` over `items` with at most `limit` in flight; results keep the order of `items`. The first failure
 * rejects, and the other workers stop taking new items.
 *
 * @example
 * ```ts
 * const sizes = await mapLimit(paths, 16, async (path) => (await stat(path)).size);
 * ```
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (next < items.length && !failed) {
      const index = next++;
      try {
        results[index] = await task(items[index]!);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}
