import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { extractSingleExecutable } from "../archive/extract.ts";
import { describeFormat, matchesFormat, readExecutableFormat, type SniffedExecutable } from "../binary/mod.ts";
import { VoxError } from "../errors/mod.ts";
import { executableName, type Target } from "../policy/mod.ts";

/** Largest executable a release archive may hold; Bun executables are about 110 MB. */
export const MAX_EXECUTABLE_BYTES = 512 * 1024 * 1024;

export interface InspectedArchive {
  entry: string;
  size: number;
  sha256: string;
  mode: number;
  format: SniffedExecutable | undefined;
}

/**
 * Extracts a release archive's single executable into a fresh temporary directory and checks its structure:
 * the expected entry name, mode 0755, and an executable for the target's container format, CPU and libc.
 * `use` runs with the extracted path; the directory is removed afterwards.
 */
export async function withInspectedArchive<T>(archive: string, options: { packageName: string; target: Target }, use: (path: string, inspected: InspectedArchive) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "vox-inspect-"));
  try {
    const entry = executableName(options.packageName, options.target);
    const path = join(dir, entry);
    const extracted = await extractSingleExecutable(archive, { format: options.target.archive, entryName: entry, maxBytes: MAX_EXECUTABLE_BYTES, destination: path });
    const format = await readExecutableFormat(path);
    if (extracted.mode !== 0o755) {
      throw new VoxError("E_ARCHIVE_MODE", `Cannot accept ${archive}: entry '${entry}' has mode ${extracted.mode.toString(8).padStart(4, "0")}, expected 0755`);
    }
    await requireExecutableFor(path, options.target, archive);
    return await use(path, { entry, ...extracted, format });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Throws unless `path` is an executable for the target's container format, CPU and libc: checked before anything
 * runs it, so a signed archive holding a script or another platform's binary is refused, not executed.
 */
export async function requireExecutableFor(path: string, target: Target, source: string): Promise<void> {
  const format = await readExecutableFormat(path);
  if (!matchesFormat(format, target.format)) {
    throw new VoxError("E_ARCHIVE_FORMAT", `Cannot accept ${source}: '${basename(path)}' is ${describeFormat(format)}, expected ${describeFormat(target.format)} for ${target.triple}`, {
      hint: "The release holds something other than a vox executable for this platform; nothing was run or installed.",
    });
  }
}
