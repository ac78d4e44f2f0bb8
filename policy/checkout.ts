import { stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { VoxError } from "../errors/mod.ts";
import type { Env } from "../io/mod.ts";
import { SOURCE_INSTALL } from "./source_install.ts";

/**
 * The checkout to build from: `VOX_REPO_ROOT` when set (it must hold the marker), else the nearest directory
 * at or above `cwd` that holds the policy's checkout marker.
 */
export async function findCheckout(cwd: string, env: Env): Promise<string> {
  const explicit = env.get("VOX_REPO_ROOT");
  if (explicit) {
    const root = resolve(cwd, explicit);
    if (await isFile(join(root, SOURCE_INSTALL.marker))) return root;
    throw new VoxError("E_CHECKOUT", `Cannot use VOX_REPO_ROOT=${explicit}: ${join(root, SOURCE_INSTALL.marker)} does not exist`, { hint: "Point VOX_REPO_ROOT at a checkout of the vox repository." });
  }
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    if (await isFile(join(dir, SOURCE_INSTALL.marker))) return dir;
    if (dirname(dir) === dir) break;
  }
  throw new VoxError("E_CHECKOUT", `Cannot find a vox checkout at or above ${cwd} (looked for ${SOURCE_INSTALL.marker})`, {
    hint: "Run from inside a clone of the vox repository, or set VOX_REPO_ROOT to one.",
  });
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isFile() ?? false;
}
