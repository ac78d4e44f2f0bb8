import { lstat, mkdir, open, readdir, readFile, rename, rm, unlink, utimes } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { AuditEvent, AuditSink } from "../../audit/mod.ts";
import { VoxError } from "../../errors/mod.ts";
import { acquireFileLock, isProcessAlive, writeFileAtomic } from "../../io/mod.ts";
import { type Digest, isDigest, parseDigest } from "../digest.ts";
import { type IndexFile, type Layout, openLayout } from "../layout.ts";
import type { Descriptor } from "../types.ts";
import { BlobDigester, digestFile } from "./_verify.ts";

/** A download of one blob holds its lock this long at most before another vox may call it stuck. */
const BLOB_LOCK_WAIT_MS = 15 * 60_000;
/** Blobs written this recently are kept by gc even when unreferenced: a pull records its scope entry last. */
export const GC_GRACE_MS = 60 * 60_000;
const VERIFY_FAILURES = new Set(["E_DIGEST_MISMATCH", "E_BLOB_SIZE", "E_BLOB_UNUSABLE"]);

/** What a blob read into the cache needs from its source: its bytes from `from` on, in order. */
export type BlobFill = (from: number, write: (chunk: Uint8Array) => Promise<void>) => Promise<void>;

/** Who is asking, for audit events and warnings. */
export interface CacheContext {
  scope: string | null;
  reference: string | null;
  audit: AuditSink;
  warn: (line: string) => void;
}

/**
 * The content-addressed image cache: `$VOX_CACHE_DIR/oci`, an OCI image layout (the one `vox deploy build` caches base
 * blobs in) whose blobs are shared by every scope, plus `scopes/<hash>/index.json` per scope and
 * `diffids/sha256/<hex>` (a layer's verified diff_id). Everything is written beside, then renamed; a blob is only
 * ever named after it was verified, and re-verified whenever it is read.
 */
export class ImageCache {
  private constructor(readonly layout: Layout) {}

  /** Opens (creating, 0700) the private cache layout at `dir`, refusing one another user could write into. */
  static async open(dir: string): Promise<ImageCache> {
    return new ImageCache(await openLayout(dir, { create: true, private: true }));
  }

  get dir(): string {
    return this.layout.dir;
  }

  blobPath(digest: string): string {
    return this.layout.blobPath(digest as Digest);
  }

  /**
   * Whether a verified copy of the blob is here: it is hashed (and, for a layer whose diff_id was never recorded,
   * decompressed) now. A copy that fails is evicted, with an audit event and a warning, so it is fetched again; a
   * layer whose bytes are right but whose diff_id is not is the image's fault, and refused.
   */
  async has(descriptor: Descriptor, what: string, context: CacheContext, options: { diffId?: string; trustRecords?: boolean } = {}): Promise<boolean> {
    const path = this.blobPath(descriptor.digest);
    const stat = await lstat(path).catch(() => undefined);
    if (!stat) return false;
    const recorded = options.diffId !== undefined && options.trustRecords !== false && (await this.#recordedDiffId(descriptor.digest)) === options.diffId;
    const digester = new BlobDigester(descriptor, { what, ...(options.diffId !== undefined && !recorded ? { diffId: options.diffId } : {}) });
    try {
      if (!stat.isFile()) throw new VoxError("E_BLOB_UNUSABLE", `Cannot use ${what}: ${path} is not a regular file`);
      await digestFile(path, digester, { limit: descriptor.size + 1 });
      await digester.finish();
    } catch (error) {
      digester.abandon();
      const code = (error as VoxError).code ?? (error as NodeJS.ErrnoException).code;
      if (!VERIFY_FAILURES.has(code) && code !== "ELOOP") throw error;
      await this.evict(descriptor.digest, what, error as Error, context);
      return false;
    }
    if (options.diffId !== undefined && !recorded) await this.#recordDiffId(descriptor.digest, options.diffId);
    return true;
  }

  /** Removes a bad copy (a corrupt blob, a planted link or fifo) and its record, and says so. */
  async evict(digest: string, what: string, error: Error, context: CacheContext): Promise<void> {
    await this.layout.removeBlob(digest as Digest);
    await rm(this.#diffIdPath(digest), { force: true });
    context.warn(`warning: ${what} in the cache ${this.dir} is unusable (${error.message}): evicted, fetched again`);
    await context.audit.record(event(context, "verify", digest, "evicted", { what, reason: error.message }));
  }

  /**
   * Reads a blob into the cache from `fill`, verified before it is named: streamed to `.<hex>.partial` beside its
   * final name (flat memory), hashed (and for a layer decompressed and hashed, for its diff_id) on the way, then
   * renamed. A partial left by an interrupted or killed pull is resumed from where it stopped; if the whole then
   * fails to verify, it is fetched once more from the start. One process fetches a blob at a time (a lock per blob).
   * Returns the byte it resumed from (0 for a fresh read).
   */
  async fetch(descriptor: Descriptor, fill: BlobFill, what: string, context: CacheContext, options: { diffId?: string } = {}): Promise<{ resumedFrom: number; fetched: boolean }> {
    const { hex } = parseDigest(descriptor.digest);
    const dir = join(this.dir, "blobs", parseDigest(descriptor.digest).algorithm);
    const lock = await acquireFileLock(join(dir, `.${hex}.lock`), {
      waitMs: BLOB_LOCK_WAIT_MS,
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      isAlive: isProcessAlive,
      purpose: `fetch ${what}`,
      hint: "Another vox is fetching the same blob; wait for it, or delete the lock file if no vox is running",
    });
    try {
      // Another process may have fetched it while we waited for the lock.
      if (await this.has(descriptor, what, context, options)) return { resumedFrom: 0, fetched: false };
      const partial = join(dir, `.${hex}.partial`);
      const held = await heldBytes(partial, descriptor.size);
      try {
        await this.#fill(descriptor, fill, partial, held, what, options);
        return { resumedFrom: held, fetched: true };
      } catch (error) {
        if (held === 0 || !VERIFY_FAILURES.has((error as VoxError).code)) throw error;
        await context.audit.record(event(context, "verify", descriptor.digest, "evicted", { what, reason: `resumed download failed: ${(error as Error).message}` }));
        await this.#fill(descriptor, fill, partial, 0, what, options);
        return { resumedFrom: 0, fetched: true };
      }
    } finally {
      await lock.release();
    }
  }

  async #fill(descriptor: Descriptor, fill: BlobFill, partial: string, from: number, what: string, options: { diffId?: string }): Promise<void> {
    // From byte 0 the registry client checks the digest of these very bytes; after a resume only we have them all.
    const digester = new BlobDigester(descriptor, { what, checkDigest: from > 0, ...(options.diffId === undefined ? {} : { diffId: options.diffId }) });
    if (from > 0) await digestFile(partial, digester, { limit: from });
    const handle = await open(partial, from > 0 ? "r+" : "w", 0o600);
    try {
      if (from === 0) await handle.truncate(0);
      let position = from;
      await fill(from, async (chunk) => {
        const at = position;
        position += chunk.byteLength;
        // The write and the check of one chunk run on different threads; neither needs the other.
        await Promise.all([handle.write(chunk, 0, chunk.byteLength, at), digester.update(chunk)]);
      });
      await digester.finish();
      await handle.sync();
    } catch (error) {
      digester.abandon();
      await handle.close();
      // Bytes that failed verification are not worth resuming from.
      if (VERIFY_FAILURES.has((error as VoxError).code) || (error as VoxError).code === "E_DIFF_ID_MISMATCH") await unlink(partial).catch(() => {});
      throw error;
    }
    await handle.chmod(0o444);
    await handle.close();
    await rename(partial, this.blobPath(descriptor.digest));
    if (options.diffId !== undefined) await this.#recordDiffId(descriptor.digest, options.diffId);
  }

  /** Stores a small document already verified in memory (a manifest read by digest). */
  async putDocument(bytes: Uint8Array, digest: string): Promise<void> {
    await this.layout.writeBlob(bytes, digest as Digest);
  }

  /** One scope's index (created on first write). */
  scope(name: string): IndexFile {
    return this.layout.scope(name);
  }

  scopes(): Promise<IndexFile[]> {
    return this.layout.scopes();
  }

  /** Every blob file stored (not partials, locks or temporaries), with its size and modification time. */
  async blobs(): Promise<Array<{ digest: string; size: number; mtimeMs: number }>> {
    const found: Array<{ digest: string; size: number; mtimeMs: number }> = [];
    for (const algorithm of ["sha256", "sha512"]) {
      const dir = join(this.dir, "blobs", algorithm);
      for (const name of await readdir(dir).catch(() => [] as string[])) {
        const digest = `${algorithm}:${name}`;
        if (!isDigest(digest)) continue;
        const stat = await lstat(join(dir, name)).catch(() => undefined);
        if (stat) found.push({ digest, size: stat.size, mtimeMs: stat.mtimeMs });
      }
    }
    return found.sort((a, b) => a.digest.localeCompare(b.digest));
  }

  /** Removes a blob and its record (gc). */
  async remove(digest: string): Promise<void> {
    await this.layout.removeBlob(digest as Digest);
    await rm(this.#diffIdPath(digest), { force: true });
  }

  /**
   * Leftovers of killed pulls: partial downloads and temporaries whose writer is gone (their lock is free), for gc.
   * Returns what was removed.
   */
  async removeLeftovers(): Promise<string[]> {
    const removed: string[] = [];
    const dir = join(this.dir, "blobs", "sha256");
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names) {
      const partial = /^\.([a-f0-9]{64})\.partial$/.exec(name);
      const temp = /^\.[a-f0-9]{64}\.tmp-(\d+)-[a-f0-9]+$/.exec(name);
      const busy = partial ? names.includes(`.${partial[1]}.lock`) && (await lockHolderAlive(join(dir, `.${partial[1]}.lock`))) : temp ? isProcessAlive(Number(temp[1])) : true;
      if (busy) continue;
      await rm(join(dir, name), { force: true });
      removed.push(name);
    }
    return removed;
  }

  /** Marks a blob as just used, so gc's grace period counts from the last pull that needed it. */
  async touch(digest: string): Promise<void> {
    const now = new Date();
    await utimes(this.blobPath(digest), now, now).catch(() => {});
  }

  #diffIdPath(digest: string): string {
    const { algorithm, hex } = parseDigest(digest);
    return join(this.dir, "diffids", algorithm, hex);
  }

  async #recordedDiffId(digest: string): Promise<string | undefined> {
    return (await readFile(this.#diffIdPath(digest), "utf8").catch(() => undefined))?.trim();
  }

  async #recordDiffId(digest: string, diffId: string): Promise<void> {
    const path = this.#diffIdPath(digest);
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    await writeFileAtomic(path, `${diffId}\n`, { mode: 0o600 });
  }
}

/** An audit event about one digest in this context. */
export function event(context: Pick<CacheContext, "scope" | "reference">, kind: AuditEvent["kind"], digest: string | null, outcome: AuditEvent["outcome"], detail?: Record<string, unknown>): AuditEvent {
  return { kind, scope: context.scope, reference: context.reference, digest, outcome, ...(detail ? { detail } : {}) };
}

/** How much of a partial download can be resumed from: a regular file no longer than the blob (else start over). */
async function heldBytes(partial: string, size: number): Promise<number> {
  const stat = await lstat(partial).catch(() => undefined);
  if (!stat) return 0;
  if (!stat.isFile() || stat.size > size) {
    await rm(partial, { recursive: true, force: true });
    return 0;
  }
  return stat.size;
}

async function lockHolderAlive(lockPath: string): Promise<boolean> {
  const pid = Number((await readFile(lockPath, "utf8").catch(() => "")).split(" ")[0]);
  return Number.isInteger(pid) && pid > 0 && isProcessAlive(pid);
}
