import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { type ChecksumEntry, formatChecksums, sha256File } from "../integrity/mod.ts";
import { writeFileAtomic } from "../io/mod.ts";
import { parseAssetName, RELEASE_SOURCE, TARGETS } from "../policy/mod.ts";

/** Release archives in `dir`, by the policy's naming; nothing else goes into checksums.txt. */
export async function listReleaseArchives(dir: string): Promise<string[]> {
  const names = await readdir(dir);
  return names.filter((name) => parseAssetName(name, TARGETS) !== undefined).sort();
}

/**
 * Hashes every release archive in `dir` and writes `dir/checksums.txt` (write beside, then rename).
 *
 * @example
 * ```ts
 * const entries = await writeReleaseChecksums("dist"); // [{ basename: "vox-v1.0.0-….tar.gz", sha256: "…" }, …]
 * ```
 */
export async function writeReleaseChecksums(dir: string): Promise<ChecksumEntry[]> {
  const entries: ChecksumEntry[] = [];
  for (const basename of await listReleaseArchives(dir)) {
    entries.push({ basename, sha256: (await sha256File(join(dir, basename))).sha256 });
  }
  await writeFileAtomic(join(dir, RELEASE_SOURCE.checksumsName), formatChecksums(entries));
  return entries;
}
