import { open, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/** A temporary name in the target's own directory, so the final rename never crosses a device. */
export function besideTarget(target: string): string {
  return join(dirname(target), `.${basename(target)}.tmp-${process.pid}-${randomSuffix()}`);
}

export interface AtomicWriteOptions {
  /** Permission bits, set exactly (the umask does not apply); default 0o644 less the umask. */
  mode?: number;
  /** Owner and group of the new file (giving a file away needs privilege); default the caller's. */
  owner?: { uid: number; gid: number };
}

/**
 * Writes `data` to `target` so that readers see either the old file or the complete new one:
 * write beside the target, fsync, then rename over it. The new file gets its owner and mode before any byte
 * is written, so it is never readable by more users than `mode` and `owner` allow.
 *
 * @example
 * ```ts
 * await writeFileAtomic("dist/checksums.txt", "…", { mode: 0o644 });
 * ```
 */
export async function writeFileAtomic(target: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): Promise<void> {
  const temp = besideTarget(target);
  const handle = await open(temp, "wx", options.mode ?? 0o644);
  try {
    // Owner before mode: chown clears set-id bits, and a failed chown must stop the write (it would change who may read).
    const owner = options.owner;
    if (owner && (await handle.stat().then((s) => s.uid !== owner.uid || s.gid !== owner.gid))) await handle.chown(owner.uid, owner.gid);
    if (options.mode !== undefined) await handle.chmod(options.mode);
    await handle.writeFile(data);
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
