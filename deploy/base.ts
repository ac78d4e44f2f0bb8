import { VoxError } from "../errors/mod.ts";
import type { ResolvedBase } from "../pm/mod.ts";
import {
  type BaseImage,
  type BlobSource,
  type Descriptor,
  type Digest,
  formatPlatform,
  ImageConfigSchema,
  type Layout,
  parseDocument,
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
      const match = document.index.manifests.find((entry) => entry.platform && samePlatform(entry.platform, wanted));
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

/** linux/arm64 and linux/arm64/v8 are the same machine; otherwise os, architecture and variant must agree. */
function samePlatform(offered: Platform, wanted: Platform): boolean {
  if (offered.os !== wanted.os || offered.architecture !== wanted.architecture) return false;
  const normal = (p: Platform) => (p.architecture === "arm64" && (p.variant === undefined || p.variant === "v8") ? undefined : p.variant);
  return normal(offered) === normal(wanted);
}

/** Where base blobs can be found, in order; `fetch` is absent under --frozen. */
export interface BaseStores {
  /** Where the built image goes: every base blob ends up here. */
  output: Layout;
  /** A content-addressed cache shared by builds (its blobs are re-verified on read). */
  cache?: Layout;
  /** The registry, unless the network is forbidden. */
  remote?: ImageSource;
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
  // Layers are only copied, never parsed: one the output already holds needs no read at all (a push re-verifies it).
  for (const layer of document.manifest.layers) {
    if (!(await stores.output.hasBlob(layer.digest as Digest))) await fetchInto(stores, ref, layer, "layer");
  }
  return { manifestDigest, manifest: document.manifest, config };
}

async function fetchInto(stores: BaseStores, ref: Reference, descriptor: Descriptor, what: string): Promise<Uint8Array> {
  const digest = descriptor.digest as Digest;
  const local = await firstHolding([stores.output, stores.cache], digest);
  if (local) {
    const bytes = await local.readBlob(digest);
    await stores.output.writeBlob(bytes, digest);
    return bytes;
  }
  if (!stores.remote) {
    throw new VoxError("E_FROZEN", `Cannot build with --frozen: base ${what} ${digest} of ${ref.registry}/${ref.repository} is not in the cache`, {
      hint: "Run `vox deploy build --locked` once with network access to fill the cache, then --frozen works offline",
    });
  }
  const bytes =
    what === "manifest" ? (await stores.remote.getManifest({ ...ref, digest })).bytes : await stores.remote.getBlob(ref, descriptor);
  await stores.cache?.writeBlob(bytes, digest);
  await stores.output.writeBlob(bytes, digest);
  return bytes;
}

async function firstHolding(layouts: ReadonlyArray<Layout | undefined>, digest: Digest): Promise<BlobSource | undefined> {
  for (const layout of layouts) if (layout && (await layout.hasBlob(digest))) return layout;
  return undefined;
}
