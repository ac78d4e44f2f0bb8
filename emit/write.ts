// Writing emitted descriptors into a directory: each file beside, then renamed; files vox did not write (or that
// were edited since) are never overwritten. `.vox-emit.json` in the directory records what vox wrote.

import { createHash } from "node:crypto";
import { lstat, mkdir, readFile, unlink } from "node:fs/promises";
import { join } from "node:path";
import { VoxError } from "../errors/mod.ts";
import { writeFileAtomic } from "../io/mod.ts";
import type { EmittedFile } from "./mod.ts";

/** The record of what vox wrote into an output directory, so a later emit may replace exactly those files. */
export const EMIT_RECORD = ".vox-emit.json";

interface EmitRecord {
  files: Record<string, string>;
}

/**
 * Writes `files` into `dir` (created if missing). A path that already exists is replaced only if vox wrote it and
 * it is unchanged since (its sha256 is in the record); anything else is refused before any file is written.
 * Files an earlier emit wrote that this one no longer produces are removed, if unchanged.
 *
 * @example
 * ```ts
 * await writeEmitted("deploy/compose", [{ path: "compose.yaml", content: "services: …" }]);
 * ```
 */
export async function writeEmitted(dir: string, files: readonly EmittedFile[]): Promise<{ written: string[]; removed: string[] }> {
  await mkdir(dir, { recursive: true });
  const record = await readRecord(dir);
  const conflicts: string[] = [];
  for (const file of files) {
    const current = await currentHash(join(dir, file.path));
    if (current !== undefined && record.files[file.path] !== current) conflicts.push(file.path);
  }
  if (conflicts.length > 0) {
    throw new VoxError("E_EMIT_OVERWRITE", `Cannot write ${conflicts.join(", ")} in ${dir}: not written by vox emit, or edited since`, {
      hint: "Move the file away, or choose another --out directory",
    });
  }
  const next: EmitRecord = { files: {} };
  for (const file of files) {
    await writeFileAtomic(join(dir, file.path), file.content);
    next.files[file.path] = sha256(file.content);
  }
  const removed: string[] = [];
  for (const [path, hash] of Object.entries(record.files)) {
    if (path in next.files || (await currentHash(join(dir, path))) !== hash) continue;
    await unlink(join(dir, path));
    removed.push(path);
  }
  await writeFileAtomic(join(dir, EMIT_RECORD), `${JSON.stringify(next, null, 2)}\n`);
  return { written: files.map((f) => f.path), removed };
}

async function readRecord(dir: string): Promise<EmitRecord> {
  let text: string;
  try {
    text = await readFile(join(dir, EMIT_RECORD), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { files: {} };
    throw error;
  }
  const parsed = JSON.parse(text) as Partial<EmitRecord>;
  const files = Object.create(null) as Record<string, string>;
  // Only plain names: a record naming `../x` must not let vox replace or remove files outside the directory.
  for (const [path, hash] of Object.entries(parsed.files ?? {})) if (/^[\w.-]+$/.test(path) && path !== EMIT_RECORD && typeof hash === "string") files[path] = hash;
  return { files };
}

/** sha256 of a regular file's content; undefined when nothing is there. A link or directory is never "ours". */
async function currentHash(path: string): Promise<string | undefined> {
  const stat = await lstat(path).catch((error: NodeJS.ErrnoException) => (error.code === "ENOENT" ? undefined : Promise.reject(error)));
  if (stat === undefined) return undefined;
  if (!stat.isFile()) return `not a regular file`;
  return sha256(await readFile(path));
}

function sha256(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}
