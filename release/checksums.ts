import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { type ChecksumEntry, formatChecksums, sha256File } from "../integrity/mod.ts";
import { writeFileAtomic } from "../io/mod.ts";
import { parseAssetName, RELEASE_SOURCE, TARGETS } from "../policy/mod.ts";
import { INSTALL_SCRIPT_NAMES } from "./install_scripts.ts";

/** Whether `basename` is a file a release publishes under its checksums: an archive by the policy's naming, or an install script. */
export function isReleaseAsset(basename: string): boolean {
  return parseAssetName(basename, TARGETS) !== undefined || INSTALL_SCRIPT_NAMES.includes(basename);
}

/** Release archives and install scripts in `dir`; nothing else goes into checksums.txt. */
export async function listReleaseAssets(dir: string): Promise<string[]> {
  const names = await readdir(dir);
  return names.filter(isReleaseAsset).sort();
}

/**
 * Hashes every release archive and install script in `dir` and writes `dir/checksums.txt` (write beside, then rename).
 *
 * @example
 * ```ts
 * const entries = await writeReleaseChecksums("dist"); // [{ basename: "vox-v1.0.0-….tar.gz", sha256: "…" }, …]
 * ```
 */
export async function writeReleaseChecksums(dir: string): Promise<ChecksumEntry[]> {
  const entries: ChecksumEntry[] = [];
  for (const basename of await listReleaseAssets(dir)) {
    entries.push({ basename, sha256: (await sha256File(join(dir, basename))).sha256 });
  }
  await writeFileAtomic(join(dir, RELEASE_SOURCE.checksumsName), formatChecksums(entries));
  return entries;
}
