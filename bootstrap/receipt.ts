import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { VoxError } from "../errors/mod.ts";
import { writeFileAtomic } from "../io/mod.ts";

export const RECEIPT_NAME = ".vox-receipt.json";

/** What an install added, so that uninstall removes exactly that and nothing else. */
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
  createdProfiles: z.array(z.string()).default([]),
});

export type Receipt = z.infer<typeof ReceiptSchema>;

export async function writeReceipt(receipt: Receipt): Promise<string> {
  const path = join(receipt.installDir, RECEIPT_NAME);
  await writeFileAtomic(path, `${JSON.stringify(receipt, null, 2)}\n`);
  return path;
}

export async function readReceipt(installDir: string): Promise<Receipt | undefined> {
  const text = await readFile(join(installDir, RECEIPT_NAME), "utf8").catch(() => undefined);
  if (text === undefined) return undefined;
  const parsed = ReceiptSchema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new VoxError("E_RECEIPT", `Cannot read the install receipt in ${installDir}: ${parsed.error.issues[0]?.message}`, { hint: "Remove the files by hand; the receipt is damaged." });
  return parsed.data;
}
