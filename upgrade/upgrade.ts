import { access, constants, lstat, mkdir, mkdtemp, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import semver from "semver";
import { requireVersion } from "../bootstrap/install.ts";
import type { DownloadDeps } from "../download/mod.ts";
import { errorMessage, VoxError } from "../errors/mod.ts";
import type { MinisignPublicKey } from "../integrity/mod.ts";
import { acquireFileLock, type Clock, type Output, type Owner, type Spawner } from "../io/mod.ts";
import { executableName, parseAssetName, parseTag, type Target } from "../policy/mod.ts";
import type { MirrorIndex, ReleaseProvider } from "../providers/mod.ts";
// The release modules install needs, not release/mod.ts: its build and attestation halves cost install memory.
import { acquireExecutable, acquireLocalExecutable } from "../release/acquire.ts";
import { buildFromSource, checkoutVersion } from "../release/compile.ts";
import { requireExecutableFor } from "../release/inspect.ts";
import { managedBy } from "./guards.ts";
import { readTrustState, writeTrustState } from "./state.ts";
import { cleanLeftovers, previousPath, swapIn, swapWithPrevious } from "./swap.ts";

export interface UpgradeRequest {
  mode: "apply" | "check" | "rollback";
  /** A pinned tag (`--version`, `VOX_UPGRADE_VERSION`). */
  version?: string;
  channel: "stable" | "next";
  allowPrerelease: boolean;
  allowDowngrade: boolean;
  force: boolean;
  source: "release" | "repo";
  /** Offline upgrade from a local archive (checksums.txt and its signature beside it). */
  fromArchive?: string;
  allowDirty: boolean;
  /** Repository the release signature must name. */
  repo: string;
}

/** Upgrade steps between which a crash is survivable; tests stop the process at each. */
export type Checkpoint = "downloaded" | "staged" | "previous-kept" | "swapped";

export interface UpgradeDeps {
  /** The running executable (process.execPath, resolved), never argv[0]. */
  target: string;
  currentVersion: string;
  host: Target;
  provider: () => ReleaseProvider;
  downloads: DownloadDeps;
  trustedKeys: readonly MinisignPublicKey[];
  spawner: Spawner;
  clock: Clock;
  out: Output;
  cwd: string;
  checkoutRoot: () => Promise<string>;
  stateDir: string;
  /** Who runs the upgrade (undefined on Windows): whose binary and trust state these must be. */
  owner: Owner | undefined;
  lockWaitMs: number;
  isAlive: (pid: number) => boolean;
  checkpoint: (step: Checkpoint) => Promise<void>;
  onProgress?: (received: number, total: number | undefined) => void;
}

export type UpgradeStatus = "up-to-date" | "update-available" | "updated" | "rolled-back";

export interface UpgradeReport {
  status: UpgradeStatus;
  current: string;
  candidate: string | null;
  triple: string;
  source: "release" | "repo" | "archive";
  asset: string | null;
  target: string;
}

/**
 * `vox upgrade`, as named steps: preflight → lock → select version → acquire and verify → run the staged binary →
 * swap (previous kept) → record → clean up. A failure before the swap leaves the target untouched; the swap
 * itself is a rename, so the target is always a whole, runnable vox.
 */
export async function upgrade(request: UpgradeRequest, deps: UpgradeDeps): Promise<UpgradeReport> {
  await preflight(deps);
  await mkdir(deps.stateDir, { recursive: true, mode: 0o700 });
  const lock = await acquireFileLock(join(deps.stateDir, "upgrade.lock"), {
    waitMs: deps.lockWaitMs,
    sleep: deps.downloads.sleep,
    isAlive: deps.isAlive,
    purpose: "upgrade",
    hint: "Wait for the other upgrade to finish. If none is running, delete the lock file.",
  });
  try {
    await cleanLeftovers(deps.target);
    if (request.mode === "rollback") return await rollback(deps);
    const selected = await selectVersion(request, deps);
    const base = { current: deps.currentVersion, triple: deps.host.triple, target: deps.target, source: selected.source };
    if (selected.verdict === "up-to-date" || request.mode === "check") {
      return { ...base, status: selected.verdict, candidate: selected.version, asset: null };
    }
    const staging = await mkdtemp(join(dirname(deps.target), ".vox-upgrade-"));
    try {
      const staged = await acquire(request, deps, selected, staging);
      await deps.checkpoint("downloaded");
      await requireVersion(staged.path, selected.version, deps.spawner);
      await deps.checkpoint("staged");
      await swapIn(deps.target, staged.path, { afterPreviousKept: () => deps.checkpoint("previous-kept") });
      await deps.checkpoint("swapped");
      await recordVersion(deps, selected.version);
      return { ...base, status: "updated", candidate: selected.version, asset: staged.asset };
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  } finally {
    await lock.release();
  }
}

async function preflight(deps: UpgradeDeps): Promise<void> {
  const owner = await managedBy(deps.target, deps.owner?.uid);
  if (owner) {
    throw new VoxError("E_MANAGED_EXTERNALLY", `Cannot upgrade ${deps.target}: it is managed by ${owner.manager}`, { hint: `Use: ${owner.instead}.` });
  }
  await access(dirname(deps.target), constants.W_OK).catch((error: NodeJS.ErrnoException) => {
    throw new VoxError("E_PERMISSION", `Cannot upgrade ${deps.target}: ${dirname(deps.target)} is not writable (${error.code})`, {
      hint: "Run the upgrade as the user who installed vox, or reinstall vox into a directory you own (vox-bootstrap --install-dir ~/.vox/bin).",
    });
  });
}

interface Selected {
  version: string;
  tag: string;
  source: "release" | "repo" | "archive";
  verdict: "up-to-date" | "update-available";
}

async function selectVersion(request: UpgradeRequest, deps: UpgradeDeps): Promise<Selected> {
  let tag: string;
  let source: Selected["source"] = request.fromArchive ? "archive" : request.source;
  if (request.fromArchive) {
    const asset = parseAssetName(basename(request.fromArchive), [deps.host]);
    if (!asset) throw new VoxError("E_ARCHIVE_NAME", `Cannot upgrade from ${request.fromArchive}: not a vox release archive for ${deps.host.triple}`, { hint: "Pass vox-v<version>-<this triple>.<ext> from a release (see vox policy).", exitCode: 2 });
    tag = asset.tag;
  } else if (request.source === "repo") {
    const root = await deps.checkoutRoot();
    tag = `v${await checkoutVersion(root)}`;
    source = "repo";
  } else {
    tag = await deps.provider().resolveTag({ version: request.version, allowPrerelease: request.channel === "next" || request.allowPrerelease });
  }
  const version = parseTag(tag).version;
  const current = semver.valid(deps.currentVersion) ?? "0.0.0";
  const order = semver.compare(version, current);
  if (order === 0 && !request.force) return { version, tag, source, verdict: "up-to-date" };
  if (order < 0 && !request.allowDowngrade) {
    if (request.mode === "check" && request.version === undefined) return { version, tag, source, verdict: "up-to-date" };
    throw new VoxError("E_DOWNGRADE", `Cannot upgrade from ${deps.currentVersion} to ${version}: that is a downgrade`, { hint: "Pass --allow-downgrade if you mean it (or --rollback to return to the previous binary)." });
  }
  // Anti-rollback across rollbacks: once a version was installed, an older signed release is not "new" again.
  const { highestVersion } = await readTrustState(deps.stateDir, deps.owner);
  if (highestVersion && semver.lt(version, highestVersion) && !request.allowDowngrade) {
    if (request.mode === "check" && request.version === undefined) return { version, tag, source, verdict: "up-to-date" };
    throw new VoxError("E_DOWNGRADE", `Cannot upgrade to ${version}: vox ${highestVersion} was installed on this machine before, and ${version} is older`, {
      hint: "An older release offered as an upgrade is how a rollback attack looks. Upgrade to the newest release, or pass --allow-downgrade if you mean it.",
    });
  }
  return { version, tag, source, verdict: "update-available" };
}

async function acquire(request: UpgradeRequest, deps: UpgradeDeps, selected: Selected, staging: string): Promise<{ path: string; asset: string | null }> {
  if (request.fromArchive) {
    const local = await acquireLocalExecutable(request.fromArchive, { repo: request.repo, target: deps.host, packageName: "vox", workDir: staging, trustedKeys: deps.trustedKeys });
    return { path: local.path, asset: local.basename };
  }
  if (selected.source === "repo") return { path: await buildFromCheckout(request, deps, selected, staging), asset: null };
  const acquired = await acquireExecutable(
    { provider: deps.provider(), tag: selected.tag, repo: request.repo, target: deps.host, packageName: "vox", workDir: staging, trustedKeys: deps.trustedKeys, ...(deps.onProgress ? { onProgress: deps.onProgress } : {}) },
    deps.downloads,
  );
  return { path: acquired.path, asset: acquired.basename };
}

async function buildFromCheckout(request: UpgradeRequest, deps: UpgradeDeps, selected: Selected, staging: string): Promise<string> {
  const root = await deps.checkoutRoot();
  if (!request.allowDirty) {
    const status = await deps.spawner.run(["git", "-C", root, "status", "--porcelain"]);
    if (status.code !== 0 || status.stdout.trim() !== "") {
      throw new VoxError("E_DIRTY_CHECKOUT", `Cannot rebuild vox from ${root}: ${status.code !== 0 ? "it is not a git checkout" : "the working tree has uncommitted changes"}`, { hint: "Commit or stash them, or pass --allow-dirty." });
    }
  }
  const outfile = join(staging, executableName("vox", deps.host));
  await buildFromSource({ root, target: deps.host, outfile, version: selected.version, spawner: deps.spawner, log: (line) => deps.out.stderr(`${line}\n`), logPrefix: "source" });
  return outfile;
}

/**
 * Swaps back to `vox.previous` only if it is what an upgrade would have kept there: a regular file (not a link)
 * owned by the target's owner and writable by no one else, an executable for this platform (checked before it
 * runs), printing `vox <semver>`.
 */
async function rollback(deps: UpgradeDeps): Promise<UpgradeReport> {
  const previous = previousPath(deps.target);
  const [info, targetInfo] = await Promise.all([lstat(previous).catch(() => undefined), lstat(deps.target)]);
  const refuse = (why: string) => new VoxError("E_PREVIOUS_UNTRUSTED", `Cannot roll back ${deps.target}: ${previous} ${why}`, { hint: "Only the binary a 'vox upgrade' kept is swapped back. Remove that file, or reinstall the version you want with vox upgrade --version." });
  if (info && !info.isFile()) throw refuse("is not a regular file");
  if (info && info.uid !== targetInfo.uid) throw refuse(`is owned by uid ${info.uid}, not by the owner of ${deps.target} (uid ${targetInfo.uid})`);
  if (info && (info.mode & 0o022) !== 0) throw refuse(`is writable by ${info.mode & 0o002 ? "others" : "its group"}`);
  if (info) await requireExecutableFor(previous, deps.host, previous);
  const probe = await deps.spawner.run([previous, "--version"], { timeoutMs: 60_000 });
  const version = /^vox (\S+)\n?$/.exec(probe.stdout)?.[1];
  if (probe.code === 0 && (!version || semver.valid(version) !== version)) throw refuse(`printed ${JSON.stringify(probe.stdout.split("\n")[0])} for --version, not 'vox <semver>'`);
  if (probe.code !== 0 || !version) {
    throw new VoxError("E_NO_PREVIOUS", `Cannot roll back ${deps.target}: ${probe.code === 127 ? `there is no ${previous}` : `${previous} does not run (${errorMessage(probe.stderr.trim() || probe.code)})`}`, {
      hint: "A previous binary is kept by the first successful 'vox upgrade'.",
    });
  }
  await swapWithPrevious(deps.target);
  return { status: "rolled-back", current: deps.currentVersion, candidate: version, triple: deps.host.triple, source: "release", asset: null, target: deps.target };
}

async function recordVersion(deps: UpgradeDeps, version: string): Promise<void> {
  const state = await readTrustState(deps.stateDir, deps.owner);
  if (!state.highestVersion || semver.gt(version, state.highestVersion)) await writeTrustState(deps.stateDir, { ...state, highestVersion: version });
}

/**
 * Anti-rollback for mirror indexes: an index whose serial is lower than one accepted before is refused (a mirror
 * serving yesterday's "latest"); a higher one is remembered.
 */
export function indexSerialGuard(stateDir: string, owner: Owner | undefined): (index: MirrorIndex, source: string) => Promise<void> {
  return async (index, source) => {
    const state = await readTrustState(stateDir, owner);
    const seen = state.indexSerials[source] ?? 0;
    if (index.serial < seen) {
      throw new VoxError("E_MIRROR_INDEX_ROLLBACK", `Cannot trust ${source}: its serial ${index.serial} is lower than serial ${seen} accepted before`, {
        hint: "The mirror is serving an older index than it did (a replay or a stale copy). Ask its operator to re-sync; pass --version to bypass 'latest'.",
      });
    }
    if (index.serial > seen) await writeTrustState(stateDir, { ...state, indexSerials: { ...state.indexSerials, [source]: index.serial } });
  };
}
