// The platform manifest on disk: where a project keeps it (`[deploy] manifest`, default vox.platform.toml beside
// Vox.toml), read with a size cap and checked by the pure validator, its problems turned into one VoxError.

import { constants, open } from "node:fs/promises";
import { isAbsolute, join, relative } from "node:path";
import { VoxError } from "../errors/mod.ts";
import { type AppliedDefault, MAX_MANIFEST_BYTES, type PlatformManifest, type PlatformProblem, type PlatformValidation, validatePlatformManifest } from "../platform/mod.ts";
import type { Project } from "../pm/mod.ts";

/** The manifest's file name when Vox.toml names none. */
export const PLATFORM_FILE = "vox.platform.toml";

/** A valid manifest read from disk. */
export interface PlatformFile {
  /** Absolute path. */
  path: string;
  /** The name problems and reports use: relative to the working directory when below it. */
  source: string;
  manifest: PlatformManifest;
  contentHash: `sha256:${string}`;
  defaults: AppliedDefault[];
}

export interface PlatformFileOptions {
  /** Resolves a relative `manifest` and shortens `source`. */
  cwd: string;
  /** A file named on the command line instead of the project's; a missing one is a usage error (exit 2). */
  manifest?: string;
}

const EXPLAIN = "`vox deploy validate --explain` shows the manifest with every default it applies";

/**
 * The path of the project's platform manifest: `[deploy] manifest` (relative to Vox.toml), else vox.platform.toml.
 *
 * @example
 * ```ts
 * platformManifestPath(project); // "/src/app/vox.platform.toml"
 * ```
 */
export function platformManifestPath(project: Project): string {
  return join(project.root, project.manifest.deploy?.manifest ?? PLATFORM_FILE);
}

/**
 * Reads and validates a manifest (the one `options.manifest` names, else the project's), returning the validation
 * itself so a caller can report problems as data. `project` may be undefined with `options.manifest`: the
 * manifest must then set `name`. Undefined when the project's default file does not exist and Vox.toml names none.
 *
 * @example
 * ```ts
 * const found = await checkPlatformFile(project, { cwd: process.cwd() });
 * found?.validation.ok; // true
 * ```
 */
export async function checkPlatformFile(project: Project | undefined, options: PlatformFileOptions): Promise<{ path: string; source: string; validation: PlatformValidation } | undefined> {
  const named = options.manifest !== undefined;
  if (!named && !project) throw new VoxError("E_NO_PROJECT", "Cannot find a platform manifest: no Vox.toml here or above, and no --manifest", { hint: "Run inside a project, or pass --manifest FILE", exitCode: 2 });
  const path = named ? join(isAbsolute(options.manifest!) ? "" : options.cwd, options.manifest!) : platformManifestPath(project!);
  const source = displayPath(path, options.cwd);
  const text = await readCapped(path, source);
  if (text === undefined) {
    if (named) throw new VoxError("E_PLATFORM_MISSING", `Cannot read the platform manifest ${source}: it does not exist`, { hint: "Check the path given to --manifest", exitCode: 2 });
    if (project!.manifest.deploy?.manifest !== undefined) {
      throw new VoxError("E_PLATFORM_MISSING", `Cannot read the platform manifest ${source}: it does not exist, and Vox.toml names it ([deploy] manifest)`, { hint: "Create it, or fix or remove `manifest` under [deploy] in Vox.toml" });
    }
    return undefined;
  }
  return { path, source, validation: validatePlatformManifest(text, { source, defaultName: project?.manifest.package.name ?? "" }) };
}

/**
 * The project's valid platform manifest, or undefined when it has none (no `[deploy] manifest`, no
 * vox.platform.toml). A manifest that is named but missing, unreadable or invalid is an error.
 *
 * @example
 * ```ts
 * (await findPlatformManifest(project, { cwd }))?.contentHash; // "sha256:…", or undefined without a manifest
 * ```
 */
export async function findPlatformManifest(project: Project | undefined, options: PlatformFileOptions): Promise<PlatformFile | undefined> {
  const found = await checkPlatformFile(project, options);
  if (!found) return undefined;
  const { path, source, validation } = found;
  if (!validation.ok) throw platformProblemsError(source, validation.problems);
  return { path, source, manifest: validation.manifest, contentHash: validation.contentHash, defaults: validation.defaults };
}

/**
 * Like {@link findPlatformManifest}, for commands that need one (a Release records it): none is an error.
 *
 * @example
 * ```ts
 * const { manifest, contentHash } = await loadPlatformManifest(project, { cwd });
 * ```
 */
export async function loadPlatformManifest(project: Project | undefined, options: PlatformFileOptions): Promise<PlatformFile> {
  const found = await findPlatformManifest(project, options);
  if (found) return found;
  throw noPlatformManifestError(project!, options.cwd);
}

/**
 * The error for a project without a platform manifest where one is needed.
 *
 * @example
 * ```ts
 * noPlatformManifestError(project, cwd).message; // "Cannot find a platform manifest: vox.platform.toml does not exist"
 * ```
 */
export function noPlatformManifestError(project: Project, cwd: string): VoxError {
  return new VoxError("E_PLATFORM_MISSING", `Cannot find a platform manifest: ${displayPath(platformManifestPath(project), cwd)} does not exist`, {
    hint: `Write ${PLATFORM_FILE} beside Vox.toml (schema = "vox.platform/v1" and how the image runs; see examples/hello), or name it with [deploy] manifest = "…"`,
  });
}

/**
 * One error listing every problem as `file:line: key: message`, each followed by its own next step when it has
 * one beyond the general hint.
 *
 * @example
 * ```ts
 * platformProblemsError("vox.platform.toml", problems).message; // "Cannot use vox.platform.toml: 2 problems\nvox.platform.toml:3: security.privileged: …"
 * ```
 */
export function platformProblemsError(source: string, problems: readonly PlatformProblem[]): VoxError {
  const general = mostCommonHint(problems);
  const lines = problems.flatMap((problem) => [formatPlatformProblem(problem), ...(problem.hint === general ? [] : [`  hint: ${problem.hint}`])]);
  const count = problems.length === 1 ? "1 problem" : `${problems.length} problems`;
  return new VoxError("E_PLATFORM_MANIFEST", `Cannot use ${source}: ${count}\n${lines.join("\n")}`, { hint: general ?? EXPLAIN, exitCode: 1 });
}

/**
 * `file:line: key: message`, leaving out what a problem does not have.
 *
 * @example
 * ```ts
 * formatPlatformProblem({ source: "vox.platform.toml", line: 3, key: "security.privileged", message: "privileged mode is refused", hint: "", rule: "schema" }); // "vox.platform.toml:3: security.privileged: privileged mode is refused"
 * ```
 */
export function formatPlatformProblem(problem: PlatformProblem): string {
  const where = problem.line === undefined ? problem.source : `${problem.source}:${problem.line}`;
  return problem.key === "" ? `${where}: ${problem.message}` : `${where}: ${problem.key}: ${problem.message}`;
}

function mostCommonHint(problems: readonly PlatformProblem[]): string | undefined {
  const counts = new Map<string, number>();
  for (const problem of problems) counts.set(problem.hint, (counts.get(problem.hint) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1])[0]?.[0];
}

function displayPath(path: string, cwd: string): string {
  const shown = relative(cwd, path);
  return shown === "" || shown.startsWith("..") || isAbsolute(shown) ? path : shown;
}

/**
 * The file's text, or undefined when it does not exist. A FIFO or device is refused before it can block, and the
 * read stops at the validator's cap.
 */
async function readCapped(path: string, source: string): Promise<string | undefined> {
  const refuse = (why: string) => new VoxError("E_PLATFORM_READ", `Cannot read the platform manifest ${source}: ${why}`, { hint: "Point [deploy] manifest (or --manifest) at a TOML file" });
  const handle = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0)).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return undefined;
    throw refuse(error.code ?? error.message);
  });
  if (!handle) return undefined;
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw refuse("it is not a regular file");
    if (stat.size > MAX_MANIFEST_BYTES) throw refuse(`it is ${stat.size} bytes; a manifest is at most ${MAX_MANIFEST_BYTES}`);
    // One byte more than the size seen, so a file that grows while being read is noticed.
    const buffer = new Uint8Array(stat.size + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > stat.size) throw refuse("it changed while being read");
    try {
      return new TextDecoder("utf-8", { fatal: true }).decode(buffer.subarray(0, length));
    } catch {
      throw refuse("it is not UTF-8 text");
    }
  } finally {
    await handle.close();
  }
}
