import { createHash, type Hash } from "node:crypto";
import { type FileHandle, open, rename, unlink } from "node:fs/promises";

/**
 * A file being written at a temporary path, hashed (sha256) as its bytes go by, so nothing is held in memory and
 * nothing is read back. `finish` makes it durable; the caller renames it into place, or `abort` removes it.
 *
 * @example
 * ```ts
 * const file = await HashedFile.create(besideTarget(target), 0o644);
 * await file.write(bytes);
 * const { sha256 } = await file.finish();
 * await file.renameTo(target);
 * ```
 */
export class HashedFile {
  readonly #hash: Hash = createHash("sha256");
  #size = 0;

  private constructor(
    readonly path: string,
    readonly handle: FileHandle,
  ) {}

  /** Creates `path` (it must not exist) with exactly `mode`. */
  static async create(path: string, mode: number): Promise<HashedFile> {
    const handle = await open(path, "wx", mode);
    try {
      await handle.chmod(mode);
    } catch (error) {
      await handle.close().catch(() => {});
      await unlink(path).catch(() => {});
      throw error;
    }
    return new HashedFile(path, handle);
  }

  async write(bytes: Uint8Array): Promise<void> {
    this.#hash.update(bytes);
    for (let written = 0; written < bytes.length; ) {
      const { bytesWritten } = await this.handle.write(bytes, written, bytes.length - written);
      written += bytesWritten;
    }
    this.#size += bytes.length;
  }

  /** Flushes to disk and closes; the sha256 (lowercase hex) and length of everything written. */
  async finish(): Promise<{ sha256: string; size: number }> {
    await this.handle.sync();
    await this.handle.close();
    return { sha256: this.#hash.digest("hex"), size: this.#size };
  }

  async renameTo(target: string): Promise<void> {
    await rename(this.path, target);
  }

  /** Closes (if still open) and removes the temporary file; never throws. */
  async abort(): Promise<void> {
    await this.handle.close().catch(() => {});
    await unlink(this.path).catch(() => {});
  }
}
