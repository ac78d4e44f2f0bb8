import { access, constants, mkdir, mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { DeflatePool, writeExecutableArchive } from "../archive/mod.ts";
import { errorMessage, VoxError } from "../errors/mod.ts";
import type { Spawner } from "../io/mod.ts";
import { assetName, executableName, type Package, type ReleaseTag, type Target, TRUSTED_KEYS } from "../policy/mod.ts";
import { writeReleaseChecksums } from "./checksums.ts";
import { compileExecutable } from "./compile.ts";
import { writeInstallScripts } from "./install_scripts.ts";
import { type SmokeResult, smokeArchive } from "./smoke.ts";

export interface ReleaseBuildOptions {
  /** Checkout holding the entry points. */
  root: string;
  targets: readonly Target[];
  packages: readonly Package[];
  tag: ReleaseTag;
  outDir: string;
  /** Extra trusted minisign public keys (base64 lines) to embed. */
  trustedKeys: readonly string[];
  /** Archive timestamps (seconds). */
  sourceDateEpoch: number;
  smoke: boolean;
  hostTriple: string;
  /** Threads compressing archives (VOX_COMPRESSION_WORKERS); the archive bytes never depend on it. */
  compressionWorkers: number;
}

export interface ReleaseBuildDeps {
  spawner: Spawner;
  bun: string[];
  /** Progress lines for humans (stderr). */
  log(line: string): void;
}

export interface BuiltArtifact {
  basename: string;
  triple: string;
  package: string;
  sha256: string;
  size: number;
}

export interface ReleaseBuildReport {
  tag: string;
  version: string;
  sourceDateEpoch: number;
  outDir: string;
  artifacts: BuiltArtifact[];
  /** install.sh and install.ps1, with the trusted keys embedded; listed in checksums.txt like the archives. */
  installScripts: string[];
  checksums: string;
  smoke: SmokeResult[];
}

/**
 * Compiles, archives, checksums and (optionally) smoke-tests every target × package, and writes the install
 * scripts with the trusted keys embedded. Files are written beside their final name and renamed;
 * `checksums.txt` covers every archive and install script in `outDir`.
 */
export async function releaseBuild(options: ReleaseBuildOptions, deps: ReleaseBuildDeps): Promise<ReleaseBuildReport> {
  await ensureWritableDir(options.outDir);
  const scratch = await mkdtemp(join(options.outDir, ".vox-build-"));
  const artifacts: BuiltArtifact[] = [];
  const pool = new DeflatePool(options.compressionWorkers);
  try {
    for (const target of options.targets) {
      for (const pkg of options.packages) {
        const entry = executableName(pkg.name, target);
        const outfile = join(scratch, target.triple, entry);
        deps.log(`compile  ${pkg.name} ${options.tag.tag} for ${target.triple} (${target.bunTarget})`);
        await compileExecutable({ root: options.root, bun: deps.bun, target, pkg, outfile, defines: { version: options.tag.version, trustedKeys: options.trustedKeys }, spawner: deps.spawner });
        const basename = assetName(pkg.name, options.tag.tag, target);
        const { sha256, size } = await writeExecutableArchive(target.archive, { source: outfile, name: entry, mtime: options.sourceDateEpoch }, join(options.outDir, basename), pool);
        await rm(outfile);
        const artifact = { basename, triple: target.triple, package: pkg.name, sha256, size };
        artifacts.push(artifact);
        deps.log(`archive  ${basename}  ${artifact.sha256}  ${(artifact.size / 1048576).toFixed(1)} MiB`);
      }
    }
  } finally {
    await pool.close();
    await rm(scratch, { recursive: true, force: true });
  }
  const installScripts = await writeInstallScripts(options.root, options.outDir, options.trustedKeys);
  deps.log(`scripts  ${installScripts.join(", ")} (trusting ${TRUSTED_KEYS.length + options.trustedKeys.length} keys)`);
  await writeReleaseChecksums(options.outDir);
  const smoke: SmokeResult[] = [];
  if (options.smoke) {
    for (const artifact of artifacts) {
      const result = await smokeArchive(join(options.outDir, artifact.basename), { basename: artifact.basename, version: options.tag.version, hostTriple: options.hostTriple, spawner: deps.spawner });
      smoke.push(result);
      deps.log(`smoke    ${artifact.basename}: ${result.status} [${result.runner}] ${result.detail}`);
    }
  }
  return { tag: options.tag.tag, version: options.tag.version, sourceDateEpoch: options.sourceDateEpoch, outDir: options.outDir, artifacts, installScripts, checksums: join(options.outDir, "checksums.txt"), smoke };
}

/** Creates `dir` if needed and proves it writable, before any minutes are spent compiling. */
export async function ensureWritableDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
    await access(dir, constants.W_OK);
  } catch (error) {
    throw new VoxError("E_OUT_DIR", `Cannot write to output directory ${dir}: ${errorMessage(error)}`, { hint: "Choose a writable directory with --out-dir.", exitCode: 2 });
  }
}

/**
 * `SOURCE_DATE_EPOCH` as seconds, or undefined when unset; anything but whole seconds is a usage error. Release
 * archives and images read it alike and differ only in their default.
 *
 * @example
 * ```ts
 * parseSourceDateEpoch("1700000000"); // 1700000000
 * ```
 */
export function parseSourceDateEpoch(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,12}$/.test(value)) throw new VoxError("E_SOURCE_DATE_EPOCH", `Cannot use SOURCE_DATE_EPOCH=${value}: not a whole number of seconds`, { hint: "Unset it, or set it to e.g. $(git log -1 --format=%ct).", exitCode: 2 });
  return Number(value);
}

/** `SOURCE_DATE_EPOCH` when set (validated), else the time of the checkout's last commit. */
export async function resolveSourceDateEpoch(value: string | undefined, root: string, spawner: Spawner): Promise<number> {
  const explicit = parseSourceDateEpoch(value);
  if (explicit !== undefined) return explicit;
  const git = await spawner.run(["git", "-C", root, "log", "-1", "--format=%ct"]);
  const epoch = git.stdout.trim();
  if (git.code === 0 && /^\d+$/.test(epoch)) return Number(epoch);
  throw new VoxError("E_SOURCE_DATE_EPOCH", `Cannot choose archive timestamps: SOURCE_DATE_EPOCH is unset and ${root} has no git commit`, { hint: "Set SOURCE_DATE_EPOCH (seconds since 1970) for reproducible archives.", exitCode: 2 });
}
