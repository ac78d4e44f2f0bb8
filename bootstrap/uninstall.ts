import { readFile, realpath, rmdir, unlink } from "node:fs/promises";
import { basename, dirname, isAbsolute, join, relative, resolve } from "node:path";
import { VoxError } from "../errors/mod.ts";
import { executableName, findTarget } from "../policy/mod.ts";
import { parkedPath, previousPath } from "../upgrade/swap.ts";
import { PROFILES, removePathBlock } from "./profile.ts";
import { writableByOthers } from "../io/ownership.ts";
import { type FoundReceipt, RECEIPT_NAME, type Receipt, readReceipt } from "./receipt.ts";

export interface UninstallReport {
  status: "uninstalled";
  removed: string[];
  profileEdits: string[];
}

export interface UninstallOptions {
  /** $HOME: the only directory whose shell profiles (PROFILES) uninstall edits or deletes. */
  home: string;
  /** Who runs the uninstall; the receipt must be theirs or root's. Default: this process's effective uid (none on Windows). */
  uid?: number;
}

/** What uninstall will do, every path already checked against where the receipt lies and $HOME. */
interface Plan {
  dir: string;
  executables: string[];
  profileEdits: string[];
  createdProfiles: string[];
  createdDirs: string[];
}

/**
 * Removes what the receipt in `installDir` says install added, but only what install can have added: the
 * executables in that same directory (with the `vox.previous` and parked `.old` binaries upgrades leave), the PATH
 * block in the known profiles under `home`, and the install directory and its parents if install created them and
 * they are empty. A receipt that names anything else, that describes another directory, or that another user owns
 * or could have written is refused before anything is touched.
 */
export async function uninstall(installDir: string, options: UninstallOptions): Promise<UninstallReport> {
  const found = await readReceipt(installDir);
  if (!found) {
    throw new VoxError("E_NO_RECEIPT", `Cannot uninstall from ${installDir}: there is no ${RECEIPT_NAME}`, { hint: "vox was not installed there by vox-bootstrap (a package manager's vox is removed with that package manager)." });
  }
  const refuse = (why: string, hint: string) => new VoxError("E_RECEIPT_REFUSED", `Cannot uninstall from ${installDir}: the receipt ${why}`, { hint });
  checkTrust(found, options.uid ?? process.geteuid?.(), refuse);
  const plan = await planRemoval(found.receipt, installDir, options.home, refuse);

  // Profiles first: the one step that may still be refused (a profile another user owns), before anything is deleted.
  const profileEdits: string[] = [];
  for (const file of plan.profileEdits) if (await removePathBlock(file)) profileEdits.push(file);
  const removed: string[] = [];
  const remove = async (path: string) => {
    if (await unlink(path).then(() => true, () => false)) removed.push(path);
  };
  for (const file of plan.createdProfiles) if ((await readFile(file, "utf8").catch(() => "x")) === "") await remove(file);
  for (const file of plan.executables) await remove(file);
  await remove(join(plan.dir, RECEIPT_NAME));
  for (const dir of plan.createdDirs) if (await rmdir(dir).then(() => true, () => false)) removed.push(dir);
  return { status: "uninstalled", removed, profileEdits };
}

type Refuse = (why: string, hint: string) => VoxError;

/** A receipt steers deletions, so only its owner (or root, who could do anything anyway) may have written it. */
function checkTrust(found: FoundReceipt, uid: number | undefined, refuse: Refuse): void {
  if (uid === undefined) return; // Windows: no uids or mode bits; the directory's ACL decides who could write it.
  const hint = `Run 'vox self uninstall' as the user who installed vox, or remove vox by hand; ${found.path} is not obeyed.`;
  const why = writableByOthers(found, uid);
  if (why) throw refuse(why, hint);
}

async function planRemoval(receipt: Receipt, installDir: string, home: string, refuse: Refuse): Promise<Plan> {
  const dir = await realpath(installDir);
  const claimed = await realpath(receipt.installDir).catch(() => undefined);
  if (claimed !== dir) {
    throw refuse(`says it belongs to ${receipt.installDir}, but it lies in ${installDir}`, "A receipt is obeyed only in the directory it describes. If vox was moved, remove it and its PATH block by hand.");
  }
  const target = findTarget(receipt.triple);
  if (!target) throw refuse(`names an unknown target '${receipt.triple}'`, "The receipt is damaged; remove vox by hand.");
  const exe = executableName("vox", target);
  // What upgrades leave beside the executable (upgrade/swap.ts) is vox's own too.
  const upgradeLeftovers = [previousPath(exe), parkedPath(exe)];
  const executables = [exe, ...upgradeLeftovers];
  const recorded = resolve(receipt.installDir);
  const altered = "The receipt was altered, or HOME differs from the install's: fix HOME, or remove vox by hand.";
  const entry = (path: string, allowed: (absolute: string) => boolean, what: string) => {
    if (!isAbsolute(path) || !allowed(resolve(path))) throw refuse(`names ${path}, which is not ${what}`, altered);
    return resolve(path);
  };
  const isExecutable = (path: string) => dirname(path) === recorded && executables.includes(basename(path));
  const isProfile = (path: string) => PROFILES.some((name) => path === join(resolve(home), name));
  const inChain = (path: string) => {
    const below = relative(path, recorded);
    return below === "" || (!below.startsWith("..") && !isAbsolute(below));
  };
  const profiles = `one of the shell profiles vox edits (${PROFILES.join(", ")}) under ${home}`;
  const checkedFiles = receipt.files.map((path) => entry(path, isExecutable, `one of the executables vox installs in ${installDir} (${executables.join(", ")})`));
  const profileEdits = receipt.profileEdits.map((path) => entry(path, isProfile, profiles));
  const createdProfiles = receipt.createdProfiles.map((path) => entry(path, isProfile, profiles));
  // Deepest first, whatever order the receipt lists them in.
  const createdDirs = receipt.createdDirs.map((path) => entry(path, inChain, "the install directory or one of its parents")).sort((a, b) => b.length - a.length);
  // Act on the checked directory: the one the receipt was read from, not the path it records.
  const files = new Set([...checkedFiles.map((path) => basename(path)), ...upgradeLeftovers]);
  return { dir, executables: [...files].map((name) => join(dir, name)), profileEdits, createdProfiles, createdDirs };
}
