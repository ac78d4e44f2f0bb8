import type { AuditSink } from "../../audit/mod.ts";
import { VoxError } from "../../errors/mod.ts";
import type { Clock } from "../../io/mod.ts";
import type { Digest } from "../digest.ts";
import { checkScopeName, type IndexFile, REF_NAME } from "../layout.ts";
import type { Descriptor } from "../types.ts";
import { readDocument } from "./_documents.ts";
import { type CacheContext, GC_GRACE_MS, ImageCache } from "./cache.ts";
import { PULLED_MANIFESTS } from "./pull.ts";
import { verifySource } from "./verify.ts";

export interface CacheListing {
  dir: string;
  scopes: Array<{ name: string; images: Array<{ reference: string; digest: string; manifests: string[] }> }>;
  blobs: { count: number; bytes: number; unreferenced: number };
}

/**
 * What the cache holds: each scope's references and the digests they resolved to, and the blobs (how many no scope
 * references). With `scope`, only that scope is listed.
 *
 * @example
 * ```ts
 * (await listCache(cacheDir)).scopes.map((s) => s.name); // ["127.0.0.1:5000/app"]
 * ```
 */
export async function listCache(cacheDir: string, options: { scope?: string } = {}): Promise<CacheListing> {
  const cache = await ImageCache.open(cacheDir);
  const scopes = await selectScopes(cache, options.scope);
  const referenced = await referencedBlobs(cache, await cache.scopes());
  const blobs = await cache.blobs();
  return {
    dir: cache.dir,
    scopes: await Promise.all(
      scopes.map(async (scope) => ({
        name: scope.scopeName!,
        images: (await scope.read()).manifests.map((entry) => ({ reference: entry.annotations?.[REF_NAME] ?? "", digest: entry.digest, manifests: (entry.annotations?.[PULLED_MANIFESTS] ?? "").split(" ").filter(Boolean) })),
      })),
    ),
    blobs: { count: blobs.length, bytes: blobs.reduce((sum, b) => sum + b.size, 0), unreferenced: blobs.filter((b) => !referenced.has(b.digest)).length },
  };
}

/**
 * Re-checks the cache without the network: every blob against its digest (a bad one is evicted), then every image a
 * scope records, end to end (layers decompressed for their diff_ids). Returns the problems found; none means intact.
 */
export async function verifyCache(cacheDir: string, options: { scope?: string }, deps: { audit: AuditSink; warn?: (line: string) => void }): Promise<{ blobs: number; images: number; problems: string[] }> {
  const cache = await ImageCache.open(cacheDir);
  const problems: string[] = [];
  const warn = deps.warn ?? (() => {});
  let blobs = 0;
  if (options.scope === undefined) {
    for (const blob of await cache.blobs()) {
      blobs++;
      const context: CacheContext = { scope: null, reference: null, audit: deps.audit, warn: (line) => (problems.push(line.replace(/^warning: /, "")), warn(line)) };
      await cache.has({ mediaType: "", digest: blob.digest as Digest, size: blob.size }, `blob ${blob.digest}`, context);
    }
  }
  let images = 0;
  for (const scope of await selectScopes(cache, options.scope)) {
    for (const entry of (await scope.read()).manifests) {
      const reference = entry.annotations?.[REF_NAME] ?? entry.digest;
      try {
        images += (await verifySource(reference, { scope: scope.scopeName! }, { cacheDir, audit: deps.audit, warn })).length;
      } catch (error) {
        problems.push(`${scope.scopeName}: ${reference}: ${(error as Error).message}`);
      }
    }
  }
  return { blobs, images, problems };
}

/**
 * Deletes what no scope references: blobs (and their diff_id records) older than the grace period (a pull in flight
 * records its scope entry last), and partial downloads whose puller is gone. With `scope`, that scope is forgotten
 * first. Every deletion is an audit event.
 */
export async function gcCache(cacheDir: string, options: { scope?: string }, deps: { audit: AuditSink; clock: Clock }): Promise<{ removed: Array<{ digest: string; size: number }>; kept: number; leftovers: string[] }> {
  const cache = await ImageCache.open(cacheDir);
  if (options.scope !== undefined) {
    const [scope] = await selectScopes(cache, options.scope);
    await scope!.update((index) => ({ ...index, manifests: [] }));
    await deps.audit.record({ kind: "delete", scope: options.scope, reference: null, digest: null, outcome: "ok", detail: { what: "scope index" } });
  }
  const referenced = await referencedBlobs(cache, await cache.scopes());
  const now = deps.clock.now().getTime();
  const removed: Array<{ digest: string; size: number }> = [];
  let kept = 0;
  for (const blob of await cache.blobs()) {
    if (referenced.has(blob.digest) || now - blob.mtimeMs < GC_GRACE_MS) {
      kept++;
      continue;
    }
    await cache.remove(blob.digest);
    removed.push({ digest: blob.digest, size: blob.size });
    await deps.audit.record({ kind: "delete", scope: null, reference: null, digest: blob.digest, outcome: "ok", detail: { what: "unreferenced blob", size: blob.size } });
  }
  const leftovers = await cache.removeLeftovers();
  return { removed, kept, leftovers };
}

async function selectScopes(cache: ImageCache, name: string | undefined): Promise<IndexFile[]> {
  const all = await cache.scopes();
  if (name === undefined) return all;
  const found = all.find((s) => s.scopeName === checkScopeName(name));
  if (!found) throw new VoxError("E_SCOPE", `Cannot use scope '${name}': the cache ${cache.dir} has no such scope`, { hint: `Scopes: ${all.map((s) => s.scopeName).join(", ") || "none yet"}`, exitCode: 2 });
  return [found];
}

/** Every blob some scope's entries reach (roots, the manifests pulled from them, their configs and layers); missing ones are skipped. */
async function referencedBlobs(cache: ImageCache, scopes: readonly IndexFile[]): Promise<Set<string>> {
  const keep = new Set<string>();
  const documentOf = async (digest: string) => {
    keep.add(digest);
    const bytes = await cache.layout.readBlob(digest as Digest).catch(() => undefined);
    return bytes && (() => {
      try {
        return readDocument(bytes, undefined, digest);
      } catch {
        return undefined;
      }
    })();
  };
  for (const scope of scopes) {
    for (const entry of (await scope.read()).manifests) {
      await documentOf(entry.digest);
      const manifests = (entry.annotations?.[PULLED_MANIFESTS] ?? "").split(" ").filter(Boolean);
      for (const digest of manifests.length > 0 ? manifests : [entry.digest]) {
        const document = await documentOf(digest);
        if (document?.kind !== "manifest") continue;
        for (const part of [document.manifest.config, ...document.manifest.layers] as Descriptor[]) keep.add(part.digest);
      }
    }
  }
  return keep;
}
