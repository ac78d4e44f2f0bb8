import { access, constants, mkdir, mkdtemp, readdir, rename, rm, rmdir } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import type { DownloadDeps } from "../download/mod.ts";
import { errorMessage, VoxError } from "../errors/mod.ts";
import type { MinisignPublicKey } from "../integrity/mod.ts";
import type { Clock, Env, Output, Spawner } from "../io/mod.ts";
import { executableName, findPackage, parseTag, requireOwnCheckout, type Target } from "../policy/mod.ts";
import type { ProviderSettings, ReleaseProvider } from "../providers/mod.ts";
// The release modules install needs, not release/mod.ts: its build and attestation halves cost install memory.
import { acquireExecutable } from "../release/acquire.ts";
import { buildFromSource, checkoutVersion } from "../release/compile.ts";
import { addPathBlock, PROFILES } from "./profile.ts";
import { type Receipt, writeReceipt } from "./receipt.ts";

export interface InstallOptions {
  version?: string;
  installDir: string;
  provider: ProviderSettings;
  sourceOnly: boolean;
  /** Build from `checkout` when the binary path fails for a benign reason (see FALLBACK_CAUSES). */
  fallback: boolean;
  /** The checkout the user named (--repo-root, VOX_REPO_ROOT); never one found by searching. */
  checkout?: string;
  modifyPath: boolean;
  allowPrerelease: boolean;
}

export interface InstallDeps extends DownloadDeps {
  provider: ReleaseProvider;
  spawner: Spawner;
  env: Env;
  clock: Clock;
  out: Output;
  home: string;
  /** Whose checkout may be built: the caller's (or root's), never another user's. */
  uid: number;
  isAlive: (pid: number) => boolean;
  target: Target;
  trustedKeys: readonly MinisignPublicKey[];
  onProgress?: (received: number, total: number | undefined) => void;
}

export interface InstallReport {
  status: "installed";
  version: string;
  tag: string;
  triple: string;
  source: "binary" | "source";
  origin: string;
  path: string;
  receipt: string;
  profileEdits: string[];
  /** Why the binary path was abandoned for a source build, when it was. */
  fallbackReason?: string;
}

/**
 * Why a binary install may give way to building the named checkout: the release has no binary for this platform,
 * or the network is down. Anything else (a refused certificate, a downgrade redirect, a status the server chose,
 * an oversized or unsigned file, a rate limit) may be an attacker steering us and is reported, never worked around.
 */
const FALLBACK_CAUSES = new Set(["E_NO_ASSET", "E_DOWNLOAD_NETWORK", "E_DOWNLOAD_TIMEOUT"]);

type Staged = { path: string; tag: string; version: string; source: "binary" | "source"; origin: string; fallbackReason?: string };

/**
 * Installs vox: preflight → binary (resolve, download, verify, extract) or source build → run the staged
 * executable and require the expected version → rename into place → receipt → PATH. A source build happens only
 * in a checkout the user named, of exactly the version asked for; nothing outside the staging directory changes
 * until the final rename.
 */
export async function install(options: InstallOptions, deps: InstallDeps): Promise<InstallReport> {
  const pkg = findPackage("vox")!;
  const exe = executableName(pkg.name, deps.target);
  if (options.sourceOnly && !options.checkout) {
    throw new VoxError("E_NO_CHECKOUT", "Cannot build vox from source: no checkout was named", { hint: "Pass --repo-root <clone of the vox repository> (or set VOX_REPO_ROOT); vox-bootstrap never searches for one.", exitCode: 2 });
  }
  const createdDirs = await ensureInstallDir(options.installDir);
  await removeDeadStaging(options.installDir, deps.isAlive);
  const staging = await mkdtemp(join(options.installDir, `${STAGING_PREFIX}${process.pid}-`));
  try {
    const staged = options.sourceOnly ? await stageFromSource(options.checkout!, options.version, deps, staging, exe) : await stageBinaryOrFallback(options, deps, staging, exe);
    await requireVersion(staged.path, staged.version, deps.spawner);
    const path = join(options.installDir, exe);
    await rename(staged.path, path);
    const { edited: profileEdits, created: createdProfiles } = options.modifyPath ? await editProfiles(options.installDir, deps) : { edited: [], created: [] };
    const receipt: Receipt = {
      schema: "vox.install-receipt/1",
      version: staged.version,
      tag: staged.tag,
      triple: deps.target.triple,
      source: staged.source,
      origin: staged.origin,
      installedAt: deps.clock.now().toISOString(),
      installDir: options.installDir,
      files: [path],
      createdDirs,
      profileEdits,
      createdProfiles,
    };
    const receiptPath = await writeReceipt(receipt);
    return { status: "installed", version: staged.version, tag: staged.tag, triple: deps.target.triple, source: staged.source, origin: staged.origin, path, receipt: receiptPath, profileEdits, ...(staged.fallbackReason ? { fallbackReason: staged.fallbackReason } : {}) };
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    // Leave the install directory as it was: remove what this run created (rmdir: only if still empty).
    for (const dir of [...createdDirs].reverse()) await rmdir(dir).catch(() => {});
    throw error;
  } finally {
    await rm(staging, { recursive: true, force: true }); // after success; a no-op after a failure
  }
}

const STAGING_PREFIX = ".vox-staging-";

/** Staging directories of installs that were killed (their pid is gone); a live install's is left alone. */
async function removeDeadStaging(installDir: string, isAlive: (pid: number) => boolean): Promise<void> {
  for (const name of await readdir(installDir)) {
    const pid = name.startsWith(STAGING_PREFIX) ? Number(/^(\d+)-/.exec(name.slice(STAGING_PREFIX.length))?.[1]) : Number.NaN;
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && !isAlive(pid)) await rm(join(installDir, name), { recursive: true, force: true });
  }
}

async function stageBinaryOrFallback(options: InstallOptions, deps: InstallDeps, staging: string, exe: string): Promise<Staged> {
  let tag = options.version === undefined ? undefined : parseTag(options.version).tag;
  try {
    tag = await deps.provider.resolveTag({ version: options.version, allowPrerelease: options.allowPrerelease });
    return await stageBinary(options, deps, staging, tag);
  } catch (error) {
    const code = error instanceof VoxError ? error.code : undefined;
    if (!options.fallback || !options.checkout || !FALLBACK_CAUSES.has(code ?? "")) throw error;
    if (tag === undefined) {
      throw new VoxError("E_FALLBACK_VERSION", `Cannot fall back to building ${options.checkout}: the latest release could not be resolved (${errorMessage(error)}), so there is no version to build`, {
        hint: "Pass --version v<semver> to build that version from the checkout, or --source-only to build whatever it holds.",
      });
    }
    const reason = errorMessage(error);
    deps.out.stderr(`warning: binary install failed (${reason}); building ${tag} from ${options.checkout} instead\n`);
    return { ...(await stageFromSource(options.checkout, tag, deps, staging, exe)), fallbackReason: reason };
  }
}

async function stageBinary(options: InstallOptions, deps: InstallDeps, staging: string, tag: string): Promise<Staged> {
  const provider = deps.provider;
  const acquired = await acquireExecutable(
    { provider, tag, repo: options.provider.repo, target: deps.target, packageName: "vox", workDir: staging, trustedKeys: deps.trustedKeys, ...(deps.onProgress ? { onProgress: deps.onProgress } : {}) },
    deps,
  );
  return { path: acquired.path, tag, version: parseTag(tag).version, source: "binary" as const, origin: acquired.url };
}

/** Builds the named checkout with the policy's source-install argv, if it is the caller's and holds `wanted`. */
async function stageFromSource(root: string, wanted: string | undefined, deps: InstallDeps, staging: string, exe: string): Promise<Staged> {
  await requireOwnCheckout(root, deps.uid);
  const version = await checkoutVersion(root);
  if (wanted !== undefined && parseTag(wanted).version !== version) {
    throw new VoxError("E_SOURCE_VERSION", `Cannot build vox ${parseTag(wanted).version} from ${root}: the checkout is at version ${version}`, {
      hint: `Check out ${parseTag(wanted).tag} in that clone, or drop --version (VOX_VERSION) to install the checkout's own version with --source-only.`,
    });
  }
  const path = join(staging, exe);
  await buildFromSource({ root, target: deps.target, outfile: path, version, spawner: deps.spawner, log: (line) => deps.out.stderr(`${line}\n`), logPrefix: "source install" });
  return { path, tag: `v${version}`, version, source: "source", origin: root };
}

/** Runs the staged executable; it must print exactly `vox <version>`. */
export async function requireVersion(path: string, version: string, spawner: Spawner): Promise<void> {
  const result = await spawner.run([path, "--version"], { timeoutMs: 60_000 });
  const line = result.stdout.split("\n")[0] ?? "";
  if (result.code === 0 && line === `vox ${version}`) return;
  // SIGILL/SIGKILL (132/137) or "cannot execute" (126): the binary is for another CPU or libc variant.
  const crashed = result.signal === "SIGILL" || result.signal === "SIGKILL" || result.code === 132 || result.code === 137 || result.code === 126;
  throw new VoxError("E_STAGED_VERSION", `Cannot install ${path}: running it ${crashed ? `crashed (${result.signal ?? result.code})` : `printed ${JSON.stringify(line)} (exit ${result.code ?? result.signal})`}, expected "vox ${version}"`, {
    hint: crashed ? "The binary does not run on this machine: wrong CPU or libc variant. Nothing was replaced." : "The downloaded binary is not the version it claims to be. Nothing was replaced.",
  });
}

async function ensureInstallDir(dir: string): Promise<string[]> {
  const created: string[] = [];
  let missing = resolve(dir);
  const chain: string[] = [];
  while (!(await access(missing).then(() => true, () => false))) {
    chain.unshift(missing);
    missing = dirname(missing);
  }
  for (const path of chain) {
    await mkdir(path).catch((error: NodeJS.ErrnoException) => {
      throw new VoxError("E_INSTALL_DIR", `Cannot create install directory ${path}: ${error.code}`, { hint: "Choose a writable directory with --install-dir or VOX_INSTALL_DIR.", exitCode: 2 });
    });
    created.push(path);
  }
  await access(dir, constants.W_OK).catch((error: NodeJS.ErrnoException) => {
    throw new VoxError("E_INSTALL_DIR", `Cannot write to install directory ${dir}: ${error.code}`, { hint: "Choose a writable directory with --install-dir or VOX_INSTALL_DIR.", exitCode: 2 });
  });
  return created;
}

async function editProfiles(installDir: string, deps: InstallDeps): Promise<{ edited: string[]; created: string[] }> {
  const result = { edited: [] as string[], created: [] as string[] };
  if ((deps.env.get("PATH") ?? "").split(":").includes(installDir)) return result;
  for (const name of PROFILES) {
    const file = join(deps.home, name);
    const exists = await access(file).then(() => true, () => false);
    if (name !== ".profile" && !exists) continue;
    // vox is already in place: a profile that cannot be edited (refused, unwritable) costs a PATH line, never the
    // receipt that lets uninstall remove what was installed.
    const added = await addPathBlock(file, installDir).catch((error: unknown) => {
      deps.out.stderr(`warning: cannot add ${installDir} to PATH in ${file} (${errorMessage(error)}); add it yourself: export PATH="${installDir}:$PATH"\n`);
      return false;
    });
    if (added) result.edited.push(file);
    if (added && !exists) result.created.push(file);
  }
  return result;
}
