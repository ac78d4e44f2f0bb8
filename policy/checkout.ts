import { dirname, join, resolve } from "node:path";
import { VoxError } from "../errors/mod.ts";
import type { Env } from "../io/mod.ts";
import { writableByOthers } from "../io/ownership.ts";
import { SOURCE_INSTALL } from "./source_install.ts";

// node:fs/promises is loaded when first used, not with this module: policy/ is in every command's start-up (vox
// policy among them), and loading it costs a compiled vox a few milliseconds.
const lstat = async (path: string) => (await import("node:fs/promises")).lstat(path);

/**
 * The checkout a release build runs in: `VOX_REPO_ROOT` when set, else the nearest directory at or above `cwd`
 * that holds the policy's checkout marker. Only for developer commands run inside the repository (`vox ci`);
 * installers and upgrades use `namedCheckout`, which never searches.
 */
export async function findCheckout(cwd: string, env: Env): Promise<string> {
  const named = await namedCheckout({ cwd, env });
  if (named) return named;
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    if (await isFile(join(dir, SOURCE_INSTALL.marker))) return dir;
    if (dirname(dir) === dir) break;
  }
  throw new VoxError("E_CHECKOUT", `Cannot find a vox checkout at or above ${cwd} (looked for ${SOURCE_INSTALL.marker})`, {
    hint: "Run from inside a clone of the vox repository, or set VOX_REPO_ROOT to one.",
  });
}

/**
 * The checkout the user named (`--repo-root`, else `VOX_REPO_ROOT`), or undefined when none was named. A source
 * build runs that checkout's `npm ci` (lifecycle scripts included), so a checkout is never found by searching:
 * a directory above the caller's working directory may belong to anyone.
 */
export async function namedCheckout(options: { cwd: string; env: Env; flag?: string }): Promise<string | undefined> {
  const [explicit, origin] = options.flag !== undefined ? [options.flag, "--repo-root"] : [options.env.get("VOX_REPO_ROOT"), "VOX_REPO_ROOT"];
  if (!explicit) return undefined;
  const root = resolve(options.cwd, explicit);
  if (await isFile(join(root, SOURCE_INSTALL.marker))) return root;
  throw new VoxError("E_CHECKOUT", `Cannot use ${origin}=${explicit}: ${join(root, SOURCE_INSTALL.marker)} does not exist`, { hint: `Point ${origin} at a clone of the vox repository.`, exitCode: 2 });
}

/** Files whose author decides what a source build runs: the directory, the manifests npm obeys, the marker. */
const BUILD_CONTROLLING = [".", "package.json", "package-lock.json", SOURCE_INSTALL.marker];

/**
 * Refuses a checkout that someone other than `uid` (or root) could have written: its directory, package.json,
 * package-lock.json or marker owned by another user, or writable by group or others (git's `safe.directory`
 * rule, plus modes, since a build runs the checkout's scripts as the caller).
 */
export async function requireOwnCheckout(root: string, uid: number): Promise<void> {
  for (const name of BUILD_CONTROLLING) {
    const path = join(root, name);
    const info = await lstat(path).catch(() => undefined);
    if (!info) continue;
    const why = info.isSymbolicLink() ? "is a symbolic link" : writableByOthers(info, uid);
    if (why) {
      throw new VoxError("E_CHECKOUT_UNSAFE", `Cannot build vox from ${root}: ${path} ${why}`, {
        hint: "A source build runs the checkout's npm scripts as you. Use a clone you own that no one else can write (chmod go-w), or install the release binary.",
        exitCode: 2,
      });
    }
  }
}

async function isFile(path: string): Promise<boolean> {
  return (await lstat(path).catch(() => undefined))?.isFile() ?? false;
}
