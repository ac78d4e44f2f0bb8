import { VoxError } from "../errors/mod.ts";
import type { LockedBase, ResolvedBase } from "../pm/mod.ts";
import {
  type BaseImage,
  type Descriptor,
  type Digest,
  formatPlatform,
  ImageConfigSchema,
  type Index,
  type Layout,
  parseDocument,
  parsePlatform,
  samePlatform,
  parseReference,
  type Platform,
  type Reference,
} from "../oci/mod.ts";


/** The registry operations building needs (the oci/remote client provides them). */
export interface ImageSource {
  getManifest(ref: Reference): Promise<{ bytes: Uint8Array; mediaType: string; digest: Digest }>;
  getBlob(repo: { registry: string; repository: string }, descriptor: Descriptor): Promise<Uint8Array>;
}

/** Where a registry's images are read from instead, and whether that mirror speaks plain HTTP. */
export interface Mirror {
  host: string;
  plainHttp: boolean;
}

/**
 * Parses `VOX_REGISTRY_MIRRORS` (`docker.io=mirror.internal:5000,ghcr.io=http://10.0.0.5:5000`): where to fetch a
 * registry's images from on hosts that cannot reach it; `http://` marks a plain-HTTP mirror. Safe because
 * everything fetched is pinned by digest in vox.lock.
 *
 * @example
 * ```ts
 * parseMirrors("docker.io=http://127.0.0.1:5000").get("docker.io"); // { host: "127.0.0.1:5000", plainHttp: true }
 * ```
 */
export function parseMirrors(text: string | undefined): Map<string, Mirror> {
  const mirrors = new Map<string, Mirror>();
  for (const entry of (text ?? "").split(",").map((e) => e.trim()).filter(Boolean)) {
    const [from, to, extra] = entry.split("=");
    const target = /^(?:(https?):\/\/)?([^/\s]+)\/?$/.exec(to ?? "");
    if (!from || !target || extra !== undefined) {
      throw new VoxError("E_MIRRORS", `Cannot use VOX_REGISTRY_MIRRORS entry '${entry}': expected <registry>=[http://|https://]<mirror host[:port]>`, {
        hint: "For example VOX_REGISTRY_MIRRORS=docker.io=mirror.internal:5000",
        exitCode: 2,
      });
    }
    mirrors.set(from, { host: target[2]!, plainHttp: target[1] === "http" });
  }
  return mirrors;
}

/** `source` reading each registry's images from its mirror, when one is configured; other methods untouched. */
export function mirroredSource<S extends ImageSource>(source: S, mirrors: ReadonlyMap<string, Mirror>): S {
  if (mirrors.size === 0) return source;
  const via = <T extends { registry: string }>(ref: T): T => ({ ...ref, registry: mirrors.get(ref.registry)?.host ?? ref.registry });
  return {
    ...source,
    getManifest: ((ref) => source.getManifest(via(ref))) as S["getManifest"],
    getBlob: ((repo, descriptor) => source.getBlob(via(repo), descriptor)) as S["getBlob"],
  };
}

/**
 * Resolves a base reference to digests: the index (or single manifest) it names now, and the manifest for
 * each wanted platform. A platform the base does not offer is an error naming the ones it does.
 *
 * @example
 * ```ts
 * const base = await resolveBase("registry.example/busybox:1.36", [parsePlatform("linux/amd64")], client);
 * base.platforms[0].digest; // "sha256:…"
 * ```
 */
export async function resolveBase(reference: string, platforms: readonly Platform[], source: ImageSource): Promise<ResolvedBase> {
  const ref = parseReference(reference);
  const top = await source.getManifest(ref);
  const document = parseDocument(top.bytes, top.mediaType, `base image ${reference}`);
  if (document.kind === "index") {
    const chosen = platforms.map((wanted) => {
      const match = platformEntry(document.index, wanted);
      if (!match) {
        const offered = document.index.manifests.flatMap((entry) => (entry.platform ? [formatPlatform(entry.platform)] : []));
        throw new VoxError("E_BASE_PLATFORM", `Cannot use base ${reference} for ${formatPlatform(wanted)}: it offers ${offered.join(", ") || "no platforms"}`, {
          hint: "Remove that platform from `platforms` in Vox.toml, or pick a base with a multi-platform index",
        });
      }
      return { platform: formatPlatform(wanted), digest: match.digest as Digest };
    });
    return { reference, digest: top.digest, mediaType: document.mediaType, platforms: chosen };
  }
  const config = ImageConfigSchema.parse(JSON.parse(new TextDecoder().decode(await source.getBlob(ref, document.manifest.config))));
  const offered: Platform = { os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) };
  const missing = platforms.filter((wanted) => !samePlatform(offered, wanted));
  if (missing.length > 0) {
    throw new VoxError("E_BASE_PLATFORM", `Cannot use base ${reference} for ${missing.map(formatPlatform).join(", ")}: it is a single-platform image for ${formatPlatform(offered)}`, {
      hint: "Use a base with a multi-platform index, or set `platforms` in Vox.toml to the base's platform",
    });
  }
  return { reference, digest: top.digest, mediaType: document.mediaType, platforms: platforms.map((wanted) => ({ platform: formatPlatform(wanted), digest: top.digest })) };
}

/** The manifest an index gives for a platform: the first entry that matches, as every registry client picks. */
function platformEntry(index: Index, wanted: Platform): Descriptor | undefined {
  return index.manifests.find((entry) => entry.platform && samePlatform(entry.platform, wanted));
}

/**
 * Checks a lock's base against the index it pins: each locked platform digest must be the manifest that index (read
 * by digest from the cache or the registry, so verified) lists for that platform, or, for a single-platform base,
 * the locked digest itself. Anything else means vox.lock was edited or left stale by hand: E_LOCK_TAMPERED, naming
 * every mismatch. Run on every build, --frozen included.
 *
 * @example
 * ```ts
 * await verifyLockedBase(lock.base, { output, cache, remote });
 * ```
 */
export async function verifyLockedBase(base: LockedBase, stores: BaseStores): Promise<void> {
  const ref = parseReference(base.reference);
  const bytes = await fetchInto(stores, ref, { mediaType: base.media_type, digest: base.digest as Digest, size: 0 }, "index", { keepOut: true });
  const document = parseDocument(bytes, undefined, `base index ${base.digest}`);
  const problems = base.platforms.flatMap(({ platform, digest }) => {
    const listed = document.kind === "index" ? platformEntry(document.index, parsePlatform(platform))?.digest : base.digest;
    if (listed === digest) return [];
    return [listed ? `${platform} is locked as ${digest}, but the locked index ${base.digest} lists ${listed}` : `${platform} is locked as ${digest}, but the locked index ${base.digest} has no ${platform} manifest`];
  });
  if (problems.length > 0) {
    throw new VoxError("E_LOCK_TAMPERED", `Cannot build: vox.lock is tampered or stale: its platform digests disagree with its base index:\n${problems.map((p) => `  - ${p}`).join("\n")}`, {
      hint: "Run `vox lock` to resolve the base again, review the vox.lock diff, and commit it",
    });
  }
}

/** Where base blobs can be found, in order; `fetch` is absent under --frozen. */
export interface BaseStores {
  /** Where the built image goes: every base blob ends up here. */
  output: Layout;
  /** A content-addressed cache shared by builds (its blobs are re-verified on read). */
  cache?: Layout;
  /** The registry, unless the network is forbidden. */
  remote?: ImageSource;
  /** Where warnings go (a corrupt entry evicted); default: nowhere. */
  warn?: (line: string) => void;
}

/**
 * Copies one platform's base manifest, config and layers into the output layout, from the cache when they
 * are there, else from the registry (verified by size and digest, then cached), and returns the parsed
 * base. Under --frozen a blob missing from the cache is an error that says how to fill it.
 *
 * @example
 * ```ts
 * const base = await materializeBase(parseReference("r.example/busybox:1.36"), lock.base.platforms[0].digest, { output, cache, remote });
 * ```
 */
export async function materializeBase(ref: Reference, manifestDigest: Digest, stores: BaseStores): Promise<BaseImage> {
  const manifestDescriptor = { mediaType: "", digest: manifestDigest, size: 0 };
  const manifestBytes = await fetchInto(stores, ref, manifestDescriptor, "manifest");
  const document = parseDocument(manifestBytes, undefined, `base manifest ${manifestDigest}`);
  if (document.kind !== "manifest") throw new VoxError("E_BASE", `Cannot use ${manifestDigest} as a platform base: it is an index`, { hint: "Run `vox lock` again" });
  const configBytes = await fetchInto(stores, ref, document.manifest.config, "config");
  const config = ImageConfigSchema.parse(JSON.parse(new TextDecoder().decode(configBytes)));
  if (config.rootfs.diff_ids.length !== document.manifest.layers.length) {
    throw new VoxError("E_BASE", `Cannot use base ${manifestDigest}: it has ${document.manifest.layers.length} layers but ${config.rootfs.diff_ids.length} diff_ids`, { hint: "The base image is malformed; pick another" });
  }
  // Layers are only copied, never parsed: one the output already holds intact is not read into memory.
  for (const layer of document.manifest.layers) {
    if (!(await stores.output.hasIntactBlob(layer.digest as Digest))) await fetchInto(stores, ref, layer, "layer");
  }
  return { manifestDigest, manifest: document.manifest, config };
}

/**
 * A base blob from the output layout, the cache or the registry, in that order. A cache entry that is corrupt, or a link,
 * fifo or device in a blob's place, is evicted with a warning and fetched again; under --frozen that is an error
 * naming it (a bad copy in the output is replaced silently). `keepOut` leaves the output layout alone (the base index is checked, not part of our image).
 */
async function fetchInto(stores: BaseStores, ref: Reference, descriptor: Descriptor, what: string, options: { keepOut?: boolean } = {}): Promise<Uint8Array> {
  const digest = descriptor.digest as Digest;
  const output = options.keepOut ? undefined : stores.output;
  for (const layout of [output, stores.cache]) {
    if (!layout) continue;
    const bytes = await layout.readBlob(digest).catch(async (error: VoxError) => {
      if (error.code === "E_BLOB_MISSING") return undefined;
      if (error.code !== "E_DIGEST_MISMATCH" && error.code !== "E_BLOB_UNUSABLE") throw error;
      await layout.removeBlob(digest);
      // A bad copy in the output is just replaced; one in the shared cache is worth telling the user about.
      if (layout === stores.cache) evicted(`base ${what} ${digest} in the cache ${layout.dir}`, error, stores);
      return undefined;
    });
    if (bytes) {
      await output?.writeBlob(bytes, digest);
      return bytes;
    }
  }
  if (!stores.remote) {
    throw new VoxError("E_FROZEN", `Cannot build with --frozen: base ${what} ${digest} of ${ref.registry}/${ref.repository} is not in the cache`, {
      hint: "Run `vox deploy build --locked` once with network access to fill the cache, then --frozen works offline",
    });
  }
  const bytes = what === "manifest" || what === "index" ? (await stores.remote.getManifest({ ...ref, digest })).bytes : await stores.remote.getBlob(ref, descriptor);
  await stores.cache?.writeBlob(bytes, digest);
  await output?.writeBlob(bytes, digest);
  return bytes;
}

/** A cache entry that failed its checks and was removed: a warning when the registry can replace it, else an error. */
function evicted(entry: string, error: VoxError, stores: BaseStores): void {
  if (!stores.remote) {
    throw new VoxError("E_FROZEN", `Cannot build with --frozen: ${entry} is unusable (${error.message}); it was removed`, { hint: "Build once without --frozen to fetch it again from the registry" });
  }
  stores.warn?.(`warning: ${entry} is unusable (${error.message}): evicted, fetched again from the registry`);
}
