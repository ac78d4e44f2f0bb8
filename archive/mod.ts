// Release archives: deterministic tar/gzip/zip writers and the single-executable extractor that install trusts.
// Owns archive byte formats only; which names and targets exist is the policy's business.

import { gzipDeterministic } from "./gzip.ts";
import { tarBytes } from "./tar_writer.ts";
import { zipBytes } from "./zip_writer.ts";

export { crc32 } from "./crc32.ts";
export { type ExtractedEntry, extractSingleExecutable, type ExtractOptions } from "./extract.ts";
export { gzipDeterministic } from "./gzip.ts";
export { concat, type TarEntry, tarBytes, type TarOwner } from "./tar_writer.ts";
export { type ZipFile, zipBytes } from "./zip_writer.ts";

/**
 * An archive holding one executable at its root, mode 0755, owned by root, stamped with `mtime`.
 *
 * @example
 * ```ts
 * const bytes = packExecutable("tar.gz", { name: "vox", data, mtime: 1700000000 });
 * ```
 */
export function packExecutable(format: "tar.gz" | "zip", file: { name: string; data: Uint8Array; mtime: number }): Uint8Array {
  if (format === "zip") return zipBytes([{ name: file.name, data: file.data, mode: 0o755, mtime: file.mtime }]);
  return gzipDeterministic(tarBytes([{ name: file.name, type: "file", mode: 0o755, mtime: file.mtime, data: file.data }], { uname: "root", gname: "root" }));
}
