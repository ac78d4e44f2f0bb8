import type { AuditSink } from "../../audit/mod.ts";
import { VoxError } from "../../errors/mod.ts";
import type { Digest } from "../digest.ts";
import { checkScopeName, openLayout, REF_NAME } from "../layout.ts";
import { formatReference, parseReference } from "../reference.ts";
import { type Descriptor, parsePlatform, type Platform, samePlatform } from "../types.ts";
import { readDocument } from "./_documents.ts";
import { type CacheContext, event, ImageCache } from "./cache.ts";
import { type ImageStore, layoutRoot, layoutStore, parseLayoutSource, PULLED_MANIFESTS, walkImage } from "./pull.ts";

/** One platform image found intact. */
export interface VerifiedImage {
  reference: string;
  resolvedDigest: string;
  manifestDigest: string;
  platform: Platform;
  layers: number;
}

/**
 * Re-checks an image end to end without unpacking or any network: every document's checks, every blob's size and
 * digest and every layer's diff_id (decompressed again, records not trusted). `oci:<dir>[:<tag>|@<digest>]` is
 * checked in place, for every platform of an index unless `platform` names one; a registry reference is checked
 * in the cache, for the platforms pulled into its scope. A cached blob that fails is evicted (pull again).
 *
 * @example
 * ```ts
 * const images = await verifySource("oci:./image:1.0", {}, { cacheDir, audit });
 * ```
 */
export async function verifySource(source: string, options: { platform?: string; scope?: string }, deps: { cacheDir: string; audit: AuditSink; warn?: (line: string) => void }): Promise<VerifiedImage[]> {
  const wanted = options.platform === undefined ? undefined : parsePlatform(options.platform);
  const layoutSource = parseLayoutSource(source);
  let scope: string | null = null;
  try {
    if (layoutSource) {
      const layout = await openLayout(layoutSource.dir);
      const root = await layoutRoot(layout, layoutSource, source);
      return await verifyRoot(source, root, platformsOf(root, wanted), layoutStore(layout), { scope: null, reference: source, audit: deps.audit });
    }
    const ref = parseReference(source);
    scope = checkScopeName(options.scope ?? `${ref.registry}/${ref.repository}`);
    const cache = await ImageCache.open(deps.cacheDir);
    const entries = (await cache.scope(scope).read()).manifests;
    const entry = entries.find((e) => e.annotations?.[REF_NAME] === formatReference(ref)) ?? (ref.digest ? entries.find((e) => e.digest === ref.digest) : undefined);
    if (!entry) throw new VoxError("E_NOT_CACHED", `Cannot verify ${source}: scope ${scope} of the cache ${cache.dir} has no such image`, { hint: "Pull it first (vox oci pull), or name its scope with --scope" });
    const context: CacheContext = { scope, reference: source, audit: deps.audit, warn: deps.warn ?? (() => {}) };
    const store = cacheStore(cache, context);
    const root = { bytes: await store.manifest(entry, `index ${entry.digest}`), digest: entry.digest as Digest, mediaType: entry.mediaType };
    const pulled = (entry.annotations?.[PULLED_MANIFESTS] ?? "").split(" ").filter(Boolean);
    const document = readDocument(root.bytes, root.mediaType, source);
    const platforms = document.kind === "index" ? document.index.manifests.filter((m) => pulled.includes(m.digest) && m.platform).map((m) => m.platform!) : [undefined];
    return await verifyRoot(source, root, wanted ? platforms.filter((p) => p && samePlatform(p, wanted)) : platforms, store, context);
  } catch (error) {
    if (error instanceof VoxError) await deps.audit.record({ kind: "verify", scope, reference: source, digest: null, outcome: "refused", detail: { code: error.code, message: error.message } });
    throw error;
  }
}

async function verifyRoot(source: string, root: { bytes: Uint8Array; digest: Digest; mediaType: string | undefined }, platforms: ReadonlyArray<Platform | undefined>, store: ImageStore, context: Pick<CacheContext, "scope" | "reference" | "audit">): Promise<VerifiedImage[]> {
  const verified: VerifiedImage[] = [];
  for (const platform of platforms) {
    const image = await walkImage(root, platform, store, source);
    await context.audit.record(event(context, "verify", image.manifestDigest, "ok", { what: "image", resolved: root.digest, layers: image.layers.length, diffIds: "verified" }));
    verified.push({ reference: source, resolvedDigest: root.digest, manifestDigest: image.manifestDigest, platform: image.platform, layers: image.layers.length });
  }
  return verified;
}

/** Every image platform an index lists (or the one wanted); a single manifest is checked as it is. */
function platformsOf(root: { bytes: Uint8Array; mediaType: string | undefined }, wanted: Platform | undefined): Array<Platform | undefined> {
  if (wanted) return [wanted];
  const document = readDocument(root.bytes, root.mediaType, "root");
  return document.kind === "index" ? document.index.manifests.filter((m) => m.platform && m.annotations?.["vnd.docker.reference.type"] === undefined).map((m) => m.platform!) : [undefined];
}

/** The cache read without the network: a missing blob is an error, a bad one is evicted and an error. */
export function cacheStore(cache: ImageCache, context: CacheContext): ImageStore {
  const missing = (what: string) => new VoxError("E_NOT_CACHED", `Cannot verify ${what}: it is not in the cache ${cache.dir} (or was just evicted as unusable)`, { hint: "Pull the image again" });
  const document = async (descriptor: Descriptor, what: string) => {
    if (!(await cache.has({ ...descriptor, size: descriptor.size }, what, context))) throw missing(what);
    return cache.layout.readBlob(descriptor.digest as Digest);
  };
  return {
    manifest: document,
    config: document,
    layer: async (descriptor, diffId, what) => {
      if (!(await cache.has(descriptor, what, context, { diffId, trustRecords: false }))) throw missing(what);
      return cache.blobPath(descriptor.digest);
    },
  };
}
