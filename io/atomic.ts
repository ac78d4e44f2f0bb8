import { open, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/** A temporary name in the target's own directory, so the final rename never crosses a device. */
export function besideTarget(target: string): string {
  return join(dirname(target), `.${basename(target)}.tmp-${process.pid}-${randomSuffix()}`);
}

/**
 * Writes `data` to `target` so that readers see either the old file or the complete new one:
 * write beside the target, fsync, then rename over it.
 *
 * @example
 * ```ts
 * await writeFileAtomic("dist/checksums.txt", "…", { mode: 0o644 });
 * ```
 */
export async function writeFileAtomic(target: string, data: string | Uint8Array, options: { mode?: number } = {}): Promise<void> {
  const temp = besideTarget(target);
  const handle = await open(temp, "wx", options.mode ?? 0o644);
  try {
    await handle.writeFile(data);
    if (options.mode !== undefined) await handle.chmod(options.mode);
    await handle.sync();
    await handle.close();
    await rename(temp, target);
  } catch (error) {
    await handle.close().catch(() => {});
    await unlink(temp).catch(() => {});
    throw error;
  }
}

function randomSuffix(): string {
  return [...crypto.getRandomValues(new Uint8Array(4))].map((b) => b.toString(16).padStart(2, "0")).join("");
}
