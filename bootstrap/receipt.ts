import { constants } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { z } from "../errors/schema.ts";
import { errorMessage, VoxError } from "../errors/mod.ts";
import { writeFileAtomic } from "../io/mod.ts";

export const RECEIPT_NAME = ".vox-receipt.json";

/**
 * What an install added, so that uninstall removes exactly that and nothing else. Uninstall obeys it only where
 * it lies (`installDir` must be that directory) and only for what install can write: the executables in that
 * directory, the PROFILES under $HOME, and that directory's own chain of created parents.
 */
export const ReceiptSchema = z.object({
  schema: z.literal("vox.install-receipt/1"),
  version: z.string(),
  tag: z.string(),
  triple: z.string(),
  source: z.enum(["binary", "source"]),
  origin: z.string(),
  installedAt: z.string(),
  installDir: z.string(),
  files: z.array(z.string()),
  createdDirs: z.array(z.string()),
  profileEdits: z.array(z.string()),
  /** Profiles that did not exist before install; uninstall deletes them if nothing but the block was in them. */
  createdProfiles: z._default(z.array(z.string()), []),
});

export type Receipt = z.infer<typeof ReceiptSchema>;

export async function writeReceipt(receipt: Receipt): Promise<string> {
  const path = join(receipt.installDir, RECEIPT_NAME);
  await writeFileAtomic(path, `${JSON.stringify(receipt, null, 2)}\n`);
  return path;
}

/** A receipt as read, with the owner and mode of the file it came from (checked on that same open file). */
export interface FoundReceipt {
  receipt: Receipt;
  path: string;
  uid: number;
  mode: number;
}

/** The receipt in `installDir`, or undefined when there is none. */
export async function readReceipt(installDir: string): Promise<FoundReceipt | undefined> {
  const path = join(installDir, RECEIPT_NAME);
  // No link followed, and a FIFO planted under the receipt's name cannot block the open (checked just below).
  const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT" || error.code === "ENOTDIR") return undefined;
    if (error.code === "ELOOP") throw new VoxError("E_RECEIPT", `Cannot read the install receipt ${path}: it is a symbolic link`, { hint: "A receipt is a regular file written by install; remove the files by hand." });
    throw new VoxError("E_RECEIPT", `Cannot read the install receipt ${path}: ${error.code}`, { hint: "Run this as the user who installed vox." });
  });
  if (!handle) return undefined;
  try {
    const damaged = (why: string) => new VoxError("E_RECEIPT", `Cannot read the install receipt in ${installDir}: ${why}`, { hint: "Remove the files by hand; the receipt is damaged." });
    const stats = await handle.stat();
    if (!stats.isFile()) throw damaged("it is not a regular file");
    const text = await handle.readFile("utf8");
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw damaged(errorMessage(error));
    }
    const parsed = ReceiptSchema.safeParse(json);
    if (!parsed.success) throw damaged(`${parsed.error.issues[0]?.path.join(".")}: ${parsed.error.issues[0]?.message}`);
    return { receipt: parsed.data, path, uid: stats.uid, mode: stats.mode };
  } finally {
    await handle.close();
  }
}
