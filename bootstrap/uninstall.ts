import { readFile, rmdir, unlink } from "node:fs/promises";
import { join } from "node:path";
import { VoxError } from "../errors/mod.ts";
import { removePathBlock } from "./profile.ts";
import { RECEIPT_NAME, readReceipt } from "./receipt.ts";

export interface UninstallReport {
  status: "uninstalled";
  removed: string[];
  profileEdits: string[];
}

/** Removes exactly what the receipt in `installDir` lists: files, PATH blocks, then directories install created (if empty). */
export async function uninstall(installDir: string): Promise<UninstallReport> {
  const receipt = await readReceipt(installDir);
  if (!receipt) {
    throw new VoxError("E_NO_RECEIPT", `Cannot uninstall from ${installDir}: there is no ${RECEIPT_NAME}`, { hint: "vox was not installed there by vox-bootstrap (a package manager's vox is removed with that package manager)." });
  }
  const removed: string[] = [];
  for (const file of receipt.files) {
    if (await unlink(file).then(() => true, () => false)) removed.push(file);
  }
  const profileEdits: string[] = [];
  for (const file of receipt.profileEdits) if (await removePathBlock(file)) profileEdits.push(file);
  for (const file of receipt.createdProfiles) {
    if ((await readFile(file, "utf8").catch(() => "x")) === "" && (await unlink(file).then(() => true, () => false))) removed.push(file);
  }
  await unlink(join(installDir, RECEIPT_NAME));
  removed.push(join(installDir, RECEIPT_NAME));
  for (const dir of [...receipt.createdDirs].reverse()) if (await rmdir(dir).then(() => true, () => false)) removed.push(dir);
  return { status: "uninstalled", removed, profileEdits };
}
