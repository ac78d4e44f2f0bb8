// A Vox project on disk: the directory holding Vox.toml, found by searching upwards like git finds `.git`,
// with its manifest and (when present) its lock loaded together.

import { lstat, mkdir, stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { VoxError } from "../errors/mod.ts";
import { LOCK_FILE, readLock, type VoxLock } from "./lock.ts";
import { MANIFEST_FILE, readManifest, type VoxManifest } from "./manifest.ts";

/** The one filesystem question the upward search asks; a seam so tests can describe a tree in memory. */
export interface ProjectFs {
  isFile(path: string): Promise<boolean>;
}

/** The real filesystem: a path is a file when `stat` (following links) says so. */
export const nodeProjectFs: ProjectFs = {
  async isFile(path) {
    try {
      return (await stat(path)).isFile();
    } catch {
      return false;
    }
  },
};

export interface Project {
  /** Absolute directory that holds Vox.toml. */
  root: string;
  manifestPath: string;
  manifest: VoxManifest;
  lockPath: string;
  /** Absent until `vox lock` has run. */
  lock?: VoxLock;
}

/**
 * The nearest directory at or above `startDir` that has a Vox.toml, stopping at the filesystem root.
 *
 * @example
 * ```ts
 * await findProjectRoot("/src/app/web/components"); // "/src/app" when /src/app/Vox.toml exists
 * ```
 */
export async function findProjectRoot(startDir: string, fs: ProjectFs = nodeProjectFs): Promise<string> {
  const start = resolve(startDir);
  for (let dir = start; ; dir = dirname(dir)) {
    if (await fs.isFile(join(dir, MANIFEST_FILE))) return dir;
    if (dirname(dir) === dir) break;
  }
  throw new VoxError("E_NO_PROJECT", `Cannot find ${MANIFEST_FILE} in ${start} or any directory above it`, {
    hint: `Create a ${MANIFEST_FILE} or run from inside a project`,
  });
}

/**
 * Finds the project containing `dir` and loads its Vox.toml and, if present, its vox.lock.
 *
 * @example
 * ```ts
 * const project = await loadProject(process.cwd());
 * project.manifest.package.name; // "app"
 * project.lock === undefined; // true before the first `vox lock`
 * ```
 */
export async function loadProject(dir: string): Promise<Project> {
  const root = await findProjectRoot(dir);
  const manifestPath = join(root, MANIFEST_FILE);
  const lockPath = join(root, LOCK_FILE);
  const manifest = await readManifest(manifestPath);
  const lock = await readLock(lockPath);
  return { root, manifestPath, manifest, lockPath, ...(lock === undefined ? {} : { lock }) };
}

/** The directory vox keeps a project's build state in (the default image layout, release.json). */
export const STATE_DIR = ".vox";

/**
 * The project's `.vox` directory, created when missing. A `.vox` that is a symbolic link (or not a directory) is
 * refused: a checkout could otherwise send the layout and release.json wherever the link points.
 *
 * @example
 * ```ts
 * await projectStateDir("/src/app"); // "/src/app/.vox"
 * ```
 */
export async function projectStateDir(root: string): Promise<string> {
  const dir = join(root, STATE_DIR);
  await mkdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== "EEXIST") throw error;
  });
  const found = await lstat(dir);
  if (!found.isDirectory()) {
    throw new VoxError("E_STATE_DIR", `Cannot use ${dir}: it is ${found.isSymbolicLink() ? "a symbolic link" : "not a directory"}, and vox writes build output there`, {
      hint: `Remove ${dir} (vox recreates it as a directory), or pass --output oci:<dir> and keep it out of the checkout`,
    });
  }
  return dir;
}
