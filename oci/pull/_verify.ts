import { createHash, type Hash } from "node:crypto";
import { once } from "node:events";
import { constants } from "node:fs";
import { open } from "node:fs/promises";
import type { Transform } from "node:stream";
import * as zlib from "node:zlib";
import { VoxError } from "../../errors/mod.ts";
import { parseDigest } from "../digest.ts";
import { MediaType } from "../media_types.ts";
import type { Descriptor } from "../types.ts";

/** Never follow a link planted where a blob should be, never block on a fifo there. */
export const BLOB_OPEN_FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);
const CHUNK = 1 << 20;
/** Inflated bytes per chunk: fewer, larger chunks cost less to hash than zlib's default 16 KiB. */
const INFLATE_CHUNK = 256 << 10;

const GZIP = new Set<string>([MediaType.ociLayerGzip, MediaType.dockerLayerGzip]);
const ZSTD = new Set<string>([MediaType.ociLayerZstd]);
const PLAIN = new Set<string>([MediaType.ociLayer]);
/** Layer media types a pull accepts; foreign and non-distributable layers (fetched from `urls`) are not among them. */
export const PULLABLE_LAYER_MEDIA_TYPES: ReadonlySet<string> = new Set([...GZIP, ...ZSTD, ...PLAIN]);

/**
 * Checks a blob as its bytes go by, in order, each once: its digest and size and, for a layer, the sha256 of its
 * uncompressed bytes (the config's diff_id), decompressing on the way (gzip and zstd through node:zlib). `finish()`
 * throws on any mismatch; nothing is kept but the hashes.
 */
export class BlobDigester {
  readonly #descriptor: Descriptor;
  readonly #what: string;
  readonly #hash: Hash | undefined;
  readonly #diffId: string | undefined;
  readonly #uncompressed: Hash | undefined;
  readonly #inflate: Transform | undefined;
  readonly #inflated: Promise<unknown> | undefined;
  #size = 0;

  /** `checkDigest: false` when someone else (the registry client) checks the compressed digest of these very bytes. */
  constructor(descriptor: Descriptor, options: { what: string; diffId?: string; checkDigest?: boolean }) {
    this.#descriptor = descriptor;
    this.#what = options.what;
    this.#hash = options.checkDigest === false ? undefined : createHash(parseDigest(descriptor.digest).algorithm);
    this.#diffId = options.diffId;
    if (options.diffId === undefined) return;
    this.#uncompressed = createHash(parseDigest(options.diffId).algorithm);
    this.#inflate = decompressor(descriptor.mediaType, this.#what);
    if (this.#inflate) {
      const inflate = this.#inflate;
      inflate.on("data", (chunk: Buffer) => this.#uncompressed!.update(chunk));
      this.#inflated = once(inflate, "end").catch((error: Error) => {
        throw new VoxError("E_LAYER_CORRUPT", `Cannot use ${this.#what}: it does not decompress (${error.message})`, { hint: "The layer is damaged or not what its media type says; do not use this image" });
      });
      // Surfaced by #inflated; without a listener an error event would be thrown at the process.
      this.#inflated.catch(() => {});
    }
  }

  async update(chunk: Uint8Array): Promise<void> {
    this.#size += chunk.byteLength;
    if (this.#size > this.#descriptor.size) throw sizeMismatch(this.#what, `more than ${this.#descriptor.size} bytes`, this.#descriptor.size);
    this.#hash?.update(chunk);
    if (!this.#inflate) {
      this.#uncompressed?.update(chunk);
      return;
    }
    // An inflater error rejects the drain wait too, with zlib's bare message: defer to #inflated, which says what failed.
    if (!this.#inflate.write(chunk)) await Promise.race([once(this.#inflate, "drain").catch(() => this.#inflated), this.#inflated]);
  }

  async finish(): Promise<void> {
    if (this.#size !== this.#descriptor.size) throw sizeMismatch(this.#what, `${this.#size} bytes`, this.#descriptor.size);
    if (this.#hash) {
      const actual = this.#hash.digest("hex");
      if (actual !== parseDigest(this.#descriptor.digest).hex) {
        throw new VoxError("E_DIGEST_MISMATCH", `Cannot use ${this.#what}: its content hashes to ${parseDigest(this.#descriptor.digest).algorithm}:${actual}, not ${this.#descriptor.digest}`, {
          hint: "The source served different bytes than it promised; do not use it, and report the source",
        });
      }
    }
    if (this.#diffId === undefined) return;
    if (this.#inflate) {
      this.#inflate.end();
      await this.#inflated;
    }
    const actual = `${parseDigest(this.#diffId).algorithm}:${this.#uncompressed!.digest("hex")}`;
    if (actual !== this.#diffId) {
      throw new VoxError("E_DIFF_ID_MISMATCH", `Cannot use ${this.#what}: its uncompressed content hashes to ${actual}, but the config's diff_id is ${this.#diffId}`, {
        hint: "The config and the layer disagree; the image is corrupt or tampered with, do not use it",
      });
    }
  }

  /** Stops decompressing after a failure elsewhere. */
  abandon(): void {
    this.#inflate?.destroy();
  }
}

function decompressor(mediaType: string, what: string): Transform | undefined {
  if (GZIP.has(mediaType)) return zlib.createGunzip({ chunkSize: INFLATE_CHUNK });
  if (PLAIN.has(mediaType)) return undefined;
  if (ZSTD.has(mediaType)) {
    const create = (zlib as { createZstdDecompress?: () => Transform }).createZstdDecompress;
    if (create) return create();
    throw new VoxError("E_LAYER_MEDIA_TYPE", `Cannot use ${what}: it is zstd-compressed and this runtime's node:zlib has no zstd decoder`, { hint: "Run the vox executable (Bun has zstd), or Node 23.8 or later; or pull a gzip variant of the image" });
  }
  throw new VoxError("E_LAYER_MEDIA_TYPE", `Cannot use ${what}: media type '${mediaType}' is not a layer vox reads`, { hint: `vox reads ${[...PULLABLE_LAYER_MEDIA_TYPES].join(", ")}; foreign layers are never fetched` });
}

function sizeMismatch(what: string, got: string, size: number): VoxError {
  return new VoxError("E_BLOB_SIZE", `Cannot use ${what}: it has ${got}, the descriptor says ${size}`, { hint: "The source served different content than the manifest promises; do not use it" });
}

/** Feeds the file at `path` (opened without following links; a regular file only) to `digester`, a chunk at a time. */
export async function digestFile(path: string, digester: BlobDigester, options: { limit?: number } = {}): Promise<void> {
  const handle = await open(path, BLOB_OPEN_FLAGS);
  try {
    if (!(await handle.stat()).isFile()) throw new VoxError("E_BLOB_UNUSABLE", `Cannot read ${path}: it is not a regular file`, { hint: "Remove it; vox stores blobs as regular files" });
    const buffer = Buffer.allocUnsafe(CHUNK);
    let total = 0;
    for (;;) {
      const want = options.limit === undefined ? CHUNK : Math.min(CHUNK, options.limit - total);
      if (want <= 0) return;
      const { bytesRead } = await handle.read(buffer, 0, want, null);
      if (bytesRead === 0) return;
      total += bytesRead;
      // The digester may keep the chunk (zlib queues it): hand it a copy, not the reused buffer.
      await digester.update(Buffer.from(buffer.subarray(0, bytesRead)));
    }
  } finally {
    await handle.close();
  }
}

/**
 * Streams a stored blob, re-checking it on the way: a link or non-file in its place is refused, more bytes than
 * `descriptor.size` fail at once, and a wrong size or digest fails the stream at its end (after the last bytes).
 */
export async function openVerified(path: string, descriptor: Descriptor, what: string): Promise<ReadableStream<Uint8Array>> {
  const handle = await open(path, BLOB_OPEN_FLAGS).catch((error: NodeJS.ErrnoException) => {
    throw new VoxError(error.code === "ENOENT" ? "E_BLOB_MISSING" : "E_BLOB_UNUSABLE", `Cannot read ${what} at ${path}: ${error.code ?? error.message}`, { hint: "Pull the image again" });
  });
  if (!(await handle.stat()).isFile()) {
    await handle.close();
    throw new VoxError("E_BLOB_UNUSABLE", `Cannot read ${what} at ${path}: it is not a regular file`, { hint: "Remove it and pull the image again" });
  }
  const digester = new BlobDigester(descriptor, { what });
  let done = false;
  const close = async () => {
    if (!done) {
      done = true;
      await handle.close();
    }
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const buffer = Buffer.allocUnsafe(CHUNK);
        const { bytesRead } = await handle.read(buffer, 0, CHUNK, null);
        if (bytesRead === 0) {
          await close();
          await digester.finish();
          controller.close();
          return;
        }
        const chunk = new Uint8Array(buffer.buffer, buffer.byteOffset, bytesRead);
        await digester.update(chunk);
        controller.enqueue(chunk);
      } catch (error) {
        await close();
        controller.error(error);
      }
    },
    cancel: close,
  });
}
