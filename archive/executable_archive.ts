import { open } from "node:fs/promises";
import { VoxError } from "../errors/mod.ts";
import { besideTarget } from "../io/atomic.ts";
import { HashedFile } from "./hashed_file.ts";
import { CHUNK_SIZE, type DeflatePool, DeflateStream, gzipStream } from "./parallel_deflate.ts";
import { TAR_END, tarHeader, tarPadding } from "./tar_writer.ts";
import { zipLocalHeader, zipTail } from "./zip_writer.ts";

/** The executable to pack: read from `source`, stored as `name`. */
export interface ExecutableFile {
  source: string;
  name: string;
  /** Seconds since the epoch (SOURCE_DATE_EPOCH). */
  mtime: number;
}

/**
 * Writes an archive holding one executable at its root (mode 0755, owned by root, stamped with `mtime`) to
 * `target`: streamed from `source` through parallel deflate and sha256 into a file beside `target`, then renamed.
 * Memory stays at a few chunks whatever the executable's size; the bytes depend only on the input.
 *
 * @example
 * ```ts
 * const { sha256, size } = await writeExecutableArchive("tar.gz", { source: "out/vox", name: "vox", mtime: 1700000000 }, "dist/vox.tar.gz", pool);
 * ```
 */
export async function writeExecutableArchive(format: "tar.gz" | "zip", file: ExecutableFile, target: string, pool: DeflatePool): Promise<{ sha256: string; size: number }> {
  const output = await HashedFile.create(besideTarget(target), 0o644);
  try {
    const sink = (bytes: Uint8Array) => output.write(bytes);
    if (format === "zip") {
      const entry = { name: file.name, mode: 0o755, mtime: file.mtime };
      await sink(zipLocalHeader(entry));
      const deflate = new DeflateStream(pool, { level: 9, sink });
      await copyFile(file.source, () => {}, (bytes) => deflate.write(bytes));
      await sink(zipTail(entry, await deflate.end()));
    } else {
      const gzip = await gzipStream(pool, sink);
      const size = await copyFile(file.source, async (size) => gzip.write(tarHeader({ name: file.name, type: "file", mode: 0o755, mtime: file.mtime, size }, { uname: "root", gname: "root" })), (bytes) => gzip.write(bytes));
      await gzip.write(tarPadding(size));
      await gzip.write(TAR_END);
      await gzip.end();
    }
    const written = await output.finish();
    await output.renameTo(target);
    return written;
  } catch (error) {
    await output.abort();
    throw error;
  }
}

/** Streams `path` to `write` after telling `start` its size; a file that grows or shrinks meanwhile is an error. */
async function copyFile(path: string, start: (size: number) => Promise<void> | void, write: (bytes: Uint8Array) => Promise<void>): Promise<number> {
  const handle = await open(path, "r");
  try {
    const { size } = await handle.stat();
    await start(size);
    const buffer = new Uint8Array(CHUNK_SIZE);
    let total = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > size) break;
      await write(buffer.subarray(0, bytesRead));
    }
    if (total !== size) throw new VoxError("E_ARCHIVE_INPUT", `Cannot archive ${path}: it changed size while being read (${size} bytes, then ${total})`, { hint: "Let the build finish writing it, then archive again" });
    return size;
  } finally {
    await handle.close();
  }
}
