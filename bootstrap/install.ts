import { access, constants, mkdir, mkdtemp, rename, rm, rmdir } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import type { Fetch } from "../download/mod.ts";
import { errorMessage, VoxError } from "../errors/mod.ts";
import type { MinisignPublicKey } from "../integrity/mod.ts";
import type { Clock, Env, Output, Spawner } from "../io/mod.ts";
import { executableName, findCheckout, findPackage, parseTag, type Target } from "../policy/mod.ts";
import type { ProviderSettings, ReleaseProvider } from "../providers/mod.ts";
import { acquireExecutable, buildFromSource, checkoutVersion, isVerificationFailure } from "../release/mod.ts";
import { addPathBlock } from "./profile.ts";
import { type Receipt, writeReceipt } from "./receipt.ts";

export interface InstallOptions {
  version?: string;
  installDir: string;
  provider: ProviderSettings;
  sourceOnly: boolean;
  fallback: boolean;
  modifyPath: boolean;
  allowPrerelease: boolean;
}

export interface InstallDeps {
  provider: ReleaseProvider;
  fetch: Fetch;
  sleep: (ms: number) => Promise<void>;
  spawner: Spawner;
  env: Env;
  clock: Clock;
  out: Output;
  cwd: string;
  home: string;
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

/** Profiles that get the PATH block: ~/.profile always, bash and zsh rc files when they exist. */
const PROFILES = [".profile", ".bashrc", ".zshrc"];

/**
 * Installs vox: preflight → binary (resolve, download, verify, extract) or source build → run the staged
 * executable and require the expected version → rename into place → receipt → PATH. A verification failure is
 * never answered with a source build; nothing outside the staging directory changes until the final rename.
 */
export async function install(options: InstallOptions, deps: InstallDeps): Promise<InstallReport> {
  const pkg = findPackage("vox")!;
  const exe = executableName(pkg.name, deps.target);
  const createdDirs = await ensureInstallDir(options.installDir);
  const staging = await mkdtemp(join(options.installDir, ".vox-staging-"));
  try {
    let staged: { path: string; tag: string; version: string; source: "binary" | "source"; origin: string; fallbackReason?: string };
    try {
      if (options.sourceOnly) throw new VoxError("E_SOURCE_ONLY", "binary install skipped (--source-only)");
      staged = await stageBinary(options, deps, staging);
    } catch (error) {
      const fallbackAllowed = options.fallback && !isVerificationFailure(error);
      if (!fallbackAllowed) throw error;
      const reason = errorMessage(error);
      if (!options.sourceOnly) deps.out.stderr(`warning: binary install failed (${reason}); building from source instead\n`);
      staged = { ...(await stageFromSource(deps, staging, exe)), fallbackReason: options.sourceOnly ? undefined : reason };
    }
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

async function stageBinary(options: InstallOptions, deps: InstallDeps, staging: string) {
  const provider = deps.provider;
  const tag = await provider.resolveTag({ version: options.version, allowPrerelease: options.allowPrerelease });
  const acquired = await acquireExecutable(
    { provider, tag, repo: options.provider.repo, target: deps.target, packageName: "vox", workDir: staging, trustedKeys: deps.trustedKeys, ...(deps.onProgress ? { onProgress: deps.onProgress } : {}) },
    deps,
  );
  return { path: acquired.path, tag, version: parseTag(tag).version, source: "binary" as const, origin: acquired.url };
}

/** The source fallback: the policy's source-install argv in a checkout found by VOX_REPO_ROOT or upward search. */
async function stageFromSource(deps: InstallDeps, staging: string, exe: string) {
  const root = await findCheckout(deps.cwd, deps.env).catch((error: unknown) => {
    throw new VoxError("E_NO_CHECKOUT", `Cannot build vox from source: no checkout found (${errorMessage(error)})`, {
      hint: "The binary install failed and there is no source to build. Fix the cause above, or run from a clone of the vox repository (or set VOX_REPO_ROOT).",
    });
  });
  const version = await checkoutVersion(root);
  const path = join(staging, exe);
  await buildFromSource({ root, target: deps.target, outfile: path, version, spawner: deps.spawner, log: (line) => deps.out.stderr(`${line}\n`), logPrefix: "source install" });
  return { path, tag: `v${version}`, version, source: "source" as const, origin: root };
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
    if (await addPathBlock(file, installDir)) result.edited.push(file);
    if (!exists) result.created.push(file);
  }
  return result;
}
