import { copyFile, link, readdir, rename, rm, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { besideTarget } from "../io/atomic.ts";

/** Where the replaced binary is kept for `vox upgrade --rollback`. */
export function previousPath(target: string): string {
  const name = basename(target);
  return join(dirname(target), name.endsWith(".exe") ? `${name.slice(0, -4)}.previous.exe` : `${name}.previous`);
}

/** Where Windows parks the running .exe during a swap (it cannot be deleted while it runs). */
export function parkedPath(target: string): string {
  return join(dirname(target), `.${basename(target)}.old`);
}

/**
 * Keeps a copy of `target` as the previous binary: a hard link where the filesystem allows (same inode, no bytes
 * copied), else a copy; written beside and renamed, so `previous` is always whole.
 */
async function keepPrevious(target: string): Promise<void> {
  const previous = previousPath(target);
  const temp = besideTarget(previous);
  await link(target, temp).catch(() => copyFile(target, temp));
  await rename(temp, previous);
  // rename() does nothing when both names are links to one file (previous already is this binary): drop the temp.
  await unlink(temp).catch(() => {});
}

/**
 * Puts `staged` at `target`, keeping the old binary as `previous`. On Unix `rename()` replaces the target
 * atomically, so at every instant `target` is the old or the new binary, whole. On Windows the running .exe is
 * moved aside first (it may be renamed but not replaced), and the parked file is cleaned up on the next run.
 */
export async function swapIn(target: string, staged: string, options: { afterPreviousKept?: () => Promise<void>; platform?: NodeJS.Platform } = {}): Promise<void> {
  const platform = options.platform ?? process.platform;
  await keepPrevious(target);
  await options.afterPreviousKept?.();
  if (platform === "win32") {
    await rename(target, parkedPath(target));
    try {
      await rename(staged, target);
    } catch (error) {
      await rename(parkedPath(target), target);
      throw error;
    }
    return;
  }
  await rename(staged, target);
}

/**
 * Swaps `target` and its previous binary, so that a rollback can itself be rolled back. The current binary is
 * first linked aside, the previous one renamed over the target (atomic on Unix), then the aside link becomes the
 * new previous. A crash in between leaves a runnable target and, at worst, a hidden temp file.
 */
export async function swapWithPrevious(target: string, platform: NodeJS.Platform = process.platform): Promise<void> {
  const previous = previousPath(target);
  if (platform === "win32") {
    await rename(target, parkedPath(target));
    await rename(previous, target);
    await rename(parkedPath(target), previous);
    return;
  }
  const current = besideTarget(target);
  await link(target, current).catch(() => copyFile(target, current));
  try {
    await rename(previous, target);
  } catch (error) {
    await unlink(current).catch(() => {});
    throw error;
  }
  await rename(current, previous);
}

/**
 * Removes what an interrupted upgrade left beside the target: Windows' parked .exe, staging directories and
 * write-beside temp files. Called under the upgrade lock, so none of them can belong to a running upgrade.
 */
export async function cleanLeftovers(target: string): Promise<void> {
  await unlink(parkedPath(target)).catch(() => {});
  const dir = dirname(target);
  const leftovers = (await readdir(dir)).filter((name) => name.startsWith(".vox-upgrade-") || /\.tmp-\d+-[0-9a-f]{8}$/.test(name));
  for (const name of leftovers) await rm(join(dir, name), { recursive: true, force: true });
}
