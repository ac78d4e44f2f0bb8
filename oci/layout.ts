import { createHash } from "node:crypto";
import { constants } from "node:fs";
import { link, lstat, mkdir, open, readdir, readFile, rename, rm, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { VoxError } from "../errors/mod.ts";
import { acquireFileLock, isProcessAlive, writeFileAtomic } from "../io/mod.ts";
import { besideTarget } from "../io/atomic.ts";
import { canonicalJson } from "./canonical_json.ts";
import { type Digest, parseDigest, sha256Digest, verifyDigest } from "./digest.ts";
import { MediaType } from "./media_types.ts";
import { type Descriptor, type Index, IndexSchema } from "./types.ts";

/** The annotation an image layout uses to name an entry of its index.json (its "tag"). */
export const REF_NAME = "org.opencontainers.image.ref.name";
const LAYOUT_FILE = { imageLayoutVersion: "1.0.0" };
/** Never follow a link planted where a blob should be, never block on a fifo there. */
const BLOB_OPEN_FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);
const CHUNK = 1 << 20;
/** index.json updates take milliseconds; a holder this slow is stuck, and the error names it. */
const INDEX_LOCK_WAIT_MS = 30_000;

/** Where blobs come from: an image layout, a cache or a registry. */
export interface BlobSource {
  readBlob(digest: Digest): Promise<Uint8Array>;
}

export interface OpenLayoutOptions {
  /** Create the directory, `oci-layout` and an empty `index.json` when missing. Default false. */
  create?: boolean;
  /**
   * Refuse a layout another user could have written into (a shared cache): it, its parent and `blobs/<alg>` must be
   * real directories owned by this user and not writable by group or others, as git's safe.directory demands of a
   * repository. Created directories get mode 0700. Default false (an output layout is the user's own choice).
   */
  private?: boolean;
}

/**
 * An OCI image layout directory (`oci-layout`, `index.json`, `blobs/<alg>/<hex>`): content-addressed, so
 * a blob already present (and intact) is not written again, and every blob is re-verified when read.
 *
 * @example
 * ```ts
 * const layout = await openLayout("dist/oci", { create: true });
 * const digest = await layout.writeBlob(new TextEncoder().encode("{}"));
 * ```
 */
export async function openLayout(dir: string, options: OpenLayoutOptions = {}): Promise<Layout> {
  if (options.private) {
    await checkPrivate(dir, [dirname(dir)]);
    if (options.create) await mkdir(join(dir, "blobs", "sha256"), { recursive: true, mode: 0o700 });
    await checkPrivate(dir, [dirname(dir), dir, join(dir, "blobs"), join(dir, "blobs", "sha256")]);
  }
  const marker = join(dir, "oci-layout");
  const present = await readFile(marker, "utf8").then((text) => JSON.parse(text) as { imageLayoutVersion?: string }, () => undefined);
  if (!present) {
    if (!options.create) {
      throw new VoxError("E_LAYOUT", `Cannot open OCI layout ${dir}: it has no oci-layout file`, { hint: "Pass the directory `vox deploy build --output oci:<dir>` wrote" });
    }
    await mkdir(join(dir, "blobs", "sha256"), { recursive: true });
    await writeFileAtomic(marker, canonicalJson(LAYOUT_FILE));
    // Never over an index another build has just written: parallel builds may open the same new layout.
    await createIfAbsent(join(dir, "index.json"), canonicalJson(emptyIndex()));
  } else if (present.imageLayoutVersion !== "1.0.0") {
    throw new VoxError("E_LAYOUT", `Cannot open OCI layout ${dir}: imageLayoutVersion ${present.imageLayoutVersion} is not 1.0.0`);
  }
  return new Layout(dir);
}

export class Layout implements BlobSource {
  constructor(readonly dir: string) {}

  blobPath(digest: Digest): string {
    const { algorithm, hex } = parseDigest(digest);
    return join(this.dir, "blobs", algorithm, hex);
  }

  /** Whether a regular file (not a link, fifo or directory) is stored under `digest`; its bytes are not checked. */
  async hasBlob(digest: Digest): Promise<boolean> {
    return (await lstat(this.blobPath(digest)).catch(() => undefined))?.isFile() ?? false;
  }

  /** Whether the blob is present and its bytes hash to its name, read in chunks (a layer is never held whole). */
  async hasIntactBlob(digest: Digest): Promise<boolean> {
    const handle = await open(this.blobPath(digest), BLOB_OPEN_FLAGS).catch(() => undefined);
    if (!handle) return false;
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) return false;
      const { algorithm, hex } = parseDigest(digest);
      const hash = createHash(algorithm);
      const buffer = Buffer.allocUnsafe(Math.min(CHUNK, stat.size + 1));
      let total = 0;
      for (let read = -1; read !== 0 && total <= stat.size; total += read) {
        ({ bytesRead: read } = await handle.read(buffer, 0, buffer.length, null));
        hash.update(buffer.subarray(0, read));
      }
      return total === stat.size && hash.digest("hex") === hex;
    } finally {
      await handle.close();
    }
  }

  /**
   * Reads a blob and verifies it against its name: a layout on disk is not trusted to be intact. A link, fifo or
   * device in its place is refused unopened (E_BLOB_UNUSABLE), and no more is read than the file's size.
   */
  async readBlob(digest: Digest): Promise<Uint8Array> {
    const path = this.blobPath(digest);
    const handle = await open(path, BLOB_OPEN_FLAGS).catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") throw new VoxError("E_BLOB_MISSING", `Cannot read blob ${digest} from ${this.dir}: it is not there`, { hint: "Rebuild the layout, or copy it again" });
      if (error.code === "ELOOP") throw unusable(digest, this.dir, "it is a symbolic link");
      throw error;
    });
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) throw unusable(digest, this.dir, "it is not a regular file");
      const bytes = Buffer.alloc(stat.size);
      let total = 0;
      while (total < stat.size) {
        const { bytesRead } = await handle.read(bytes, total, stat.size - total, null);
        if (bytesRead === 0) break;
        total += bytesRead;
      }
      const read = bytes.subarray(0, total);
      verifyDigest(read, digest, `blob ${digest} in ${this.dir}`);
      return new Uint8Array(read.buffer, read.byteOffset, read.byteLength);
    } finally {
      await handle.close();
    }
  }

  /** Removes whatever is stored under `digest` (a corrupt blob, a planted link or fifo) so it can be stored again. */
  async removeBlob(digest: Digest): Promise<void> {
    await rm(this.blobPath(digest), { recursive: true, force: true });
  }

  /**
   * Stores bytes under their digest (write beside, then rename) and returns it. With `expected`, the bytes are
   * checked against it (hashed once, in its algorithm); without, their sha256 names them. A blob already there is
   * kept only if it is intact; anything else under that name is replaced.
   */
  async writeBlob(bytes: Uint8Array, expected?: Digest): Promise<Digest> {
    if (expected !== undefined) verifyDigest(bytes, expected, `blob ${expected}`);
    const digest = expected ?? sha256Digest(bytes);
    if (await this.hasIntactBlob(digest)) return digest;
    const path = this.blobPath(digest);
    if (!(await this.hasBlob(digest))) await rm(path, { recursive: true, force: true });
    await writeFileAtomic(path, bytes, { mode: 0o444 });
    return digest;
  }

  /** A fresh temporary name among the blobs, for a blob whose digest is known only once it is written. */
  stagingPath(): string {
    return besideTarget(join(this.dir, "blobs", "sha256", "staging"));
  }

  /**
   * Names a complete file written at `stagingPath()` (hashed by its writer on the way) as the blob `digest`, as
   * `writeBlob` would: an intact blob already there is kept and the file removed; anything else there is replaced.
   */
  async putBlobFile(path: string, digest: Digest): Promise<void> {
    if (await this.hasIntactBlob(digest)) return unlink(path);
    if (!(await this.hasBlob(digest))) await rm(this.blobPath(digest), { recursive: true, force: true });
    await rename(path, this.blobPath(digest));
  }

  /** This layout's own index.json. */
  get index(): IndexFile {
    return new IndexFile(join(this.dir, "index.json"));
  }

  async readIndex(): Promise<Index> {
    return this.index.read();
  }

  /**
   * Points `refName` at `descriptor` in index.json, replacing what it named before; with no name, adds the
   * descriptor once (referrers such as SBOMs live in the index unnamed). Read, change and write happen under
   * `index.json.lock`, so builds writing into one layout at once all keep their entries.
   */
  putIndexEntry(descriptor: Descriptor, refName?: string): Promise<void> {
    return this.index.put(descriptor, refName);
  }

  /** The descriptor index.json names `refName`, if any. */
  async resolveRef(refName: string): Promise<Descriptor | undefined> {
    return this.index.resolveRef(refName);
  }

  /**
   * One scope's index in a shared store (a cache): its own `scopes/<sha256 of the name>/index.json` and lock, so one
   * workload's names are never seen or replaced through another's, while blobs stay shared and stored once.
   */
  scope(name: string): IndexFile {
    return new IndexFile(join(this.dir, "scopes", scopeKey(name), "index.json"), name);
  }

  /** Every scope that has an index, by name. */
  async scopes(): Promise<IndexFile[]> {
    const keys = await readdir(join(this.dir, "scopes")).catch(() => [] as string[]);
    const found: IndexFile[] = [];
    for (const key of keys.filter((k) => /^[a-f0-9]{64}$/.test(k)).sort()) {
      const name = (await new IndexFile(join(this.dir, "scopes", key, "index.json")).read().catch(() => undefined))?.annotations?.[SCOPE_NAME];
      if (name !== undefined && scopeKey(name) === key) found.push(this.scope(name));
    }
    return found;
  }
}

/** The annotation naming the scope an index belongs to (its directory is a hash of it). */
export const SCOPE_NAME = "dev.vox.scope";
const SCOPE = /^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,254}$/;

/** Refuses scope names that are empty, too long or could be mistaken for options or paths. */
export function checkScopeName(name: string): string {
  if (!SCOPE.test(name)) {
    throw new VoxError("E_SCOPE", `Cannot use scope '${name}': a scope is 1 to 255 letters, digits and . _ : / @ -, starting with a letter or digit`, { hint: "For example --scope team/app or --scope 127.0.0.1:5000/app", exitCode: 2 });
  }
  return name;
}

function scopeKey(name: string): string {
  return createHash("sha256").update(checkScopeName(name)).digest("hex");
}

/**
 * An index.json: a layout's own or one scope's. Read without trusting it (schema-checked), changed only under its
 * `.lock` (O_EXCL, a dead holder's lock taken over) and written beside, then renamed.
 */
export class IndexFile {
  constructor(
    readonly path: string,
    /** Set for a scope's index: the name recorded in it. */
    readonly scopeName?: string,
  ) {}

  /** The index; a scope that was never written reads as empty. */
  async read(): Promise<Index> {
    const text = await readFile(this.path, "utf8").catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT" && this.scopeName !== undefined) return undefined;
      throw error;
    });
    if (text === undefined) return this.#empty();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const parsed = IndexSchema.safeParse(json);
    if (!parsed.success) throw new VoxError("E_LAYOUT", `Cannot read ${this.path}: not an OCI index`, { hint: "Delete the directory and build again" });
    return parsed.data;
  }

  /** Applies `change` to the index under its lock; the result is written beside, then renamed. */
  async update(change: (index: Index) => Index): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    const lock = await acquireFileLock(`${this.path}.lock`, {
      waitMs: INDEX_LOCK_WAIT_MS,
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      isAlive: isProcessAlive,
      purpose: `update the index ${this.path}`,
      hint: "Wait for the other vox to finish; if no vox process is running, delete the lock file",
    });
    try {
      await writeFileAtomic(this.path, canonicalJson(change(await this.read())));
    } finally {
      await lock.release();
    }
  }

  /** Points `refName` at `descriptor`, replacing what it named before; with no name, adds the descriptor once. */
  put(descriptor: Descriptor, refName?: string): Promise<void> {
    return this.update((index) => {
      const kept = index.manifests.filter((entry) => (refName === undefined ? entry.digest !== descriptor.digest || entry.annotations?.[REF_NAME] !== undefined : entry.annotations?.[REF_NAME] !== refName));
      const entry: Descriptor = refName === undefined ? descriptor : { ...descriptor, annotations: { ...descriptor.annotations, [REF_NAME]: refName } };
      return { ...index, manifests: [...kept, entry] };
    });
  }

  /** The descriptor the index names `refName`, if any. */
  async resolveRef(refName: string): Promise<Descriptor | undefined> {
    return (await this.read()).manifests.find((entry) => entry.annotations?.[REF_NAME] === refName);
  }

  #empty(): Index {
    return { ...emptyIndex(), ...(this.scopeName === undefined ? {} : { annotations: { [SCOPE_NAME]: this.scopeName } }) };
  }
}

function emptyIndex(): Index {
  return { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] };
}

function unusable(digest: Digest, dir: string, why: string): VoxError {
  return new VoxError("E_BLOB_UNUSABLE", `Cannot read blob ${digest} from ${dir}: ${why}`, { hint: "Remove it; vox stores blobs as regular files" });
}

/** Writes `data` at `path` unless something is already there: written beside, then hard-linked (which never replaces). */
async function createIfAbsent(path: string, data: Uint8Array): Promise<void> {
  const temp = besideTarget(path);
  await writeFileAtomic(temp, data);
  try {
    await link(temp, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  } finally {
    await unlink(temp).catch(() => {});
  }
}

/** Every existing path must be a real directory of this user that group and others cannot write. */
async function checkPrivate(layoutDir: string, paths: readonly string[]): Promise<void> {
  const uid = process.getuid?.();
  for (const path of paths) {
    const stat = await lstat(path).catch(() => undefined);
    if (!stat) continue;
    const why = stat.isSymbolicLink()
      ? "is a symbolic link"
      : !stat.isDirectory()
        ? "is not a directory"
        : uid !== undefined && stat.uid !== uid
          ? `is owned by uid ${stat.uid}, not by you (uid ${uid})`
          : uid !== undefined && (stat.mode & 0o022) !== 0
            ? `is writable by others (mode 0${(stat.mode & 0o7777).toString(8)})`
            : undefined;
    if (why) {
      throw new VoxError("E_CACHE_UNSAFE", `Cannot use the cache ${layoutDir}: ${path} ${why}, so someone else could plant blobs in it`, {
        hint: `Point VOX_CACHE_DIR at a directory only you can write (mkdir -m 700 <dir>), or make this one yours: chown $(id -u) ${path} && chmod go-w ${path}`,
      });
    }
  }
}
