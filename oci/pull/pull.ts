import { lstat } from "node:fs/promises";
import type { AuditSink } from "../../audit/mod.ts";
import { VoxError } from "../../errors/mod.ts";
import { mapLimit } from "../../io/mod.ts";
import { type Digest, parseDigest } from "../digest.ts";
import { checkScopeName, type Layout, openLayout, REF_NAME } from "../layout.ts";
import { MAX_MANIFEST_BYTES } from "../remote/mod.ts";
import { formatReference, parseReference, type Reference } from "../reference.ts";
import type { StreamBlobOptions } from "../remote/mod.ts";
import { type Descriptor, formatPlatform, type ParsedDocument, parsePlatform, type Platform } from "../types.ts";
import { checkConfig, checkManifest, chooseManifest, readDocument } from "./_documents.ts";
import { BlobDigester, digestFile, openVerified } from "./_verify.ts";
import { type CacheContext, event, ImageCache } from "./cache.ts";

/** One layer of a pulled image, in application order. */
export interface PulledLayer {
  digest: string;
  mediaType: string;
  size: number;
  /** sha256 of the uncompressed tar, from the config; checked against the bytes when the layer was fetched. */
  diffId: string;
  /** Streams the stored (compressed) blob, re-checked for size and digest as it streams: the stream errors at its end on a mismatch. */
  open(): Promise<ReadableStream<Uint8Array>>;
}

/** A verified image ready to unpack: every blob below is in the cache, verified (size + digest) before this returns. */
export interface PulledImage {
  /** What was asked for, as written (e.g. "localhost:5000/app:1" or "oci:/dir:tag"). */
  reference: string;
  /** The digest the reference resolved to (index or manifest), and the platform manifest's digest. */
  resolvedDigest: string;
  manifestDigest: string;
  platform: { os: string; architecture: string; variant?: string };
  /** The parsed image config (OCI image-spec config JSON). */
  config: {
    architecture: string;
    os: string;
    config?: { User?: string; Env?: string[]; Entrypoint?: string[] | null; Cmd?: string[] | null; WorkingDir?: string; Labels?: Record<string, string> };
    rootfs: { type: "layers"; diff_ids: string[] };
  };
  configDigest: string;
  /** In application order. `open()` streams the stored (compressed) blob, re-checked for size and digest as it streams. */
  layers: PulledLayer[];
  /** The cache scope the image was recorded in (null for an `oci:` layout, read in place). */
  scope: string | null;
  /** True when the reference named a tag, which can point elsewhere tomorrow; the digest above is what was used. */
  mutable: boolean;
}

export interface PullOptions {
  /** `os/arch[/variant]`; default this machine's (an image with one manifest is then taken whatever its platform). */
  platform?: string;
  /** Cache scope; default the repository (`registry/repository`). */
  scope?: string;
  /** Talk plain HTTP to the reference's registry. Honoured by the registry client the caller builds. */
  insecure?: boolean;
  /** Refuse a reference without a digest. Default false. */
  requireDigest?: boolean;
}

/** The registry reads a pull needs (oci/remote's client provides them). */
export interface PullRegistry {
  getManifest(ref: Reference): Promise<{ bytes: Uint8Array; mediaType: string; digest: Digest }>;
  streamBlob(repo: { registry: string; repository: string }, descriptor: Descriptor, options: StreamBlobOptions): Promise<void>;
}

export interface PullDeps {
  /** Needed for registry references only. */
  registry?: PullRegistry;
  /** The cache's OCI layout directory (`$VOX_CACHE_DIR/oci`); private: owner-checked, created 0700. */
  cacheDir: string;
  audit: AuditSink;
  /** Warnings worth a line (an evicted cache entry); default nowhere. */
  warn?: (line: string) => void;
}

/** Annotation on a scope's index entry: the platform manifests pulled from it, space-separated. */
export const PULLED_MANIFESTS = "dev.vox.manifests";
/** Layers fetched at once: enough to overlap network and decompression on a small machine. */
const PARALLEL_LAYERS = 4;

/**
 * Resolves `source` ("oci:<dir>[:<tag>|@<digest>]" or a registry reference) to one platform's image and verifies
 * every document and blob (media type, size, digest, and each layer's diff_id while decompressing) before
 * returning it; registry images land in the scoped cache. Every decision is an audit event; a refusal too.
 *
 * @example
 * ```ts
 * const image = await pullImage("127.0.0.1:5000/app@sha256:…", { platform: "linux/amd64" }, { registry, cacheDir, audit });
 * for (const layer of image.layers) await consume(await layer.open());
 * ```
 */
export async function pullImage(source: string, options: PullOptions, deps: PullDeps): Promise<PulledImage> {
  const layoutSource = parseLayoutSource(source);
  let scope: string | null = null;
  try {
    const wanted = options.platform === undefined ? undefined : parsePlatform(options.platform);
    if (layoutSource) return await pullFromLayout(source, layoutSource, wanted, deps);
    const ref = parseReference(source);
    scope = checkScopeName(options.scope ?? `${ref.registry}/${ref.repository}`);
    if (ref.digest === undefined && options.requireDigest) {
      throw new VoxError("E_PULL_MUTABLE", `Cannot pull ${source}: it names the tag '${ref.tag ?? "latest"}', which can be moved, and --require-digest is set`, {
        hint: `Pin it: ${formatReference({ ...ref, tag: undefined })}@sha256:<digest> (vox oci pull without --require-digest prints the digest a tag resolves to)`,
      });
    }
    return await pullFromRegistry(source, ref, scope, wanted, deps);
  } catch (error) {
    if (error instanceof VoxError) await deps.audit.record({ kind: "refuse", scope, reference: source, digest: null, outcome: "refused", detail: { code: error.code, message: error.message } });
    throw error;
  }
}

/** Where a walk over an image reads its parts: each call returns verified content or throws. */
export interface ImageStore {
  /** A manifest or index by descriptor (size known) or by digest alone (size -1: capped at 4 MiB). */
  manifest(descriptor: Descriptor, what: string): Promise<Uint8Array>;
  /** A config's verified bytes. */
  config(descriptor: Descriptor, what: string): Promise<Uint8Array>;
  /** Makes sure a verified layer (digest and diff_id) is stored; returns its path. */
  layer(descriptor: Descriptor, diffId: string, what: string): Promise<string>;
}

/** What a walk from a root document found: one platform's image, every part verified. */
export interface WalkedImage {
  manifestDigest: Digest;
  platform: Platform;
  config: PulledImage["config"] & Record<string, unknown>;
  configDescriptor: Descriptor;
  layers: Array<{ descriptor: Descriptor; diffId: string; path: string }>;
}

/**
 * From a root document (index or manifest) to one platform's verified image: the documents' checks (media types,
 * shapes, one entry per platform, config family), then the config (diff_id count, platform), then every layer.
 */
export async function walkImage(root: { bytes: Uint8Array; digest: Digest; mediaType: string | undefined }, wanted: Platform | undefined, store: ImageStore, what: string): Promise<WalkedImage> {
  const top = readDocument(root.bytes, root.mediaType, what);
  let document: ParsedDocument = top;
  let manifestDigest = root.digest;
  let listed: Platform | undefined;
  if (top.kind === "index") {
    const entry = chooseManifest(top.index, wanted ?? hostPlatform(), what);
    listed = entry.platform;
    manifestDigest = entry.digest as Digest;
    document = readDocument(await store.manifest(entry, `manifest ${entry.digest}`), entry.mediaType, `manifest ${entry.digest} of ${what}`);
    if (document.kind !== "manifest") throw new VoxError("E_OCI_AMBIGUOUS", `Cannot use ${what}: its ${formatPlatform(listed!)} entry is an index`, { hint: "Refusing an ambiguous image" });
  }
  const manifest = checkManifest(document as ParsedDocument & { kind: "manifest" }, `manifest ${manifestDigest} of ${what}`);
  const configBytes = await store.config(manifest.config, `config ${manifest.config.digest}`);
  const config = checkConfig(configBytes, manifest, listed ?? wanted, `config ${manifest.config.digest} of ${what}`);
  const layers = await mapLimit(manifest.layers.map((descriptor, i) => ({ descriptor, diffId: config.rootfs.diff_ids[i]! })), PARALLEL_LAYERS, async ({ descriptor, diffId }) => ({
    descriptor,
    diffId,
    path: await store.layer(descriptor, diffId, `layer ${descriptor.digest}`),
  }));
  const platform: Platform = { os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) };
  return { manifestDigest, platform, config: config as WalkedImage["config"], configDescriptor: manifest.config, layers };
}

async function pullFromRegistry(source: string, ref: Reference, scope: string, wanted: Platform | undefined, deps: PullDeps): Promise<PulledImage> {
  const registry = deps.registry;
  if (!registry) throw new VoxError("E_PULL_OFFLINE", `Cannot pull ${source}: no registry client`, { hint: "Pull it with network access" });
  const cache = await ImageCache.open(deps.cacheDir);
  const context: CacheContext = { scope, reference: source, audit: deps.audit, warn: deps.warn ?? (() => {}) };
  const fromCache = async (digest: Digest, what: string): Promise<Uint8Array | undefined> => {
    const stat = await lstat(cache.blobPath(digest)).catch(() => undefined);
    if (!stat || (stat.isFile() && stat.size > MAX_MANIFEST_BYTES)) return undefined;
    return cache.layout.readBlob(digest).catch(async (error: VoxError) => {
      if (error.code !== "E_DIGEST_MISMATCH" && error.code !== "E_BLOB_UNUSABLE") throw error;
      await cache.evict(digest, what, error, context);
      return undefined;
    });
  };
  // Resolve: a digest is looked up in the cache first; a tag always asks the registry, since it can move.
  let root: { bytes: Uint8Array; digest: Digest; mediaType: string | undefined };
  const cached = ref.digest === undefined ? undefined : await fromCache(ref.digest, `manifest ${ref.digest}`);
  if (cached) {
    root = { bytes: cached, digest: ref.digest!, mediaType: undefined };
    await deps.audit.record(event(context, "cache-hit", root.digest, "ok", { what: "manifest" }));
  } else {
    const fetched = await registry.getManifest(ref);
    root = { bytes: fetched.bytes, digest: fetched.digest, mediaType: fetched.mediaType };
    await cache.putDocument(fetched.bytes, fetched.digest);
  }
  await deps.audit.record(event(context, "resolve", root.digest, "ok", { requested: source, mutable: ref.digest === undefined, ...(ref.tag === undefined ? {} : { tag: ref.tag }) }));
  const blobSource = (descriptor: Descriptor) => (from: number, write: (chunk: Uint8Array) => Promise<void>) => registry.streamBlob(ref, descriptor, { from, write });
  const store: ImageStore = {
    manifest: async (descriptor, what) => {
      const hit = await fromCache(descriptor.digest as Digest, what);
      if (hit && hit.byteLength === descriptor.size) {
        await deps.audit.record(event(context, "cache-hit", descriptor.digest, "ok", { what }));
        return hit;
      }
      const { bytes } = await registry.getManifest({ ...ref, digest: descriptor.digest as Digest });
      if (bytes.byteLength !== descriptor.size) throw new VoxError("E_BLOB_SIZE", `Cannot use ${what} of ${source}: it has ${bytes.byteLength} bytes, its descriptor says ${descriptor.size}`, { hint: "The registry served different content than the index promises; do not use it" });
      await cache.putDocument(bytes, descriptor.digest);
      await deps.audit.record(event(context, "fetch", descriptor.digest, "ok", { what, size: bytes.byteLength, mediaType: descriptor.mediaType }));
      return bytes;
    },
    config: async (descriptor, what) => {
      await ensure(cache, descriptor, blobSource(descriptor), what, context);
      return cache.layout.readBlob(descriptor.digest as Digest);
    },
    layer: async (descriptor, diffId, what) => {
      await ensure(cache, descriptor, blobSource(descriptor), what, context, diffId);
      return cache.blobPath(descriptor.digest);
    },
  };
  const image = await walkImage(root, wanted, store, source);
  await recordInScope(cache, scope, ref, root, image.manifestDigest);
  await deps.audit.record(event(context, "verify", image.manifestDigest, "ok", { what: "image", resolved: root.digest, layers: image.layers.length, diffIds: "verified" }));
  return pulled(source, root.digest, image, { scope, mutable: ref.digest === undefined });
}

/** A blob in the cache, verified: reused when intact (a bad copy is evicted), else streamed from the registry. */
async function ensure(cache: ImageCache, descriptor: Descriptor, fill: Parameters<ImageCache["fetch"]>[1], what: string, context: CacheContext, diffId?: string): Promise<void> {
  const options = diffId === undefined ? {} : { diffId };
  if (await cache.has(descriptor, what, context, options)) {
    await cache.touch(descriptor.digest);
    await context.audit.record(event(context, "cache-hit", descriptor.digest, "ok", { what, size: descriptor.size }));
    return;
  }
  const { resumedFrom, fetched } = await cache.fetch(descriptor, fill, what, context, options);
  await context.audit.record(event(context, fetched ? "fetch" : "cache-hit", descriptor.digest, "ok", { what, size: descriptor.size, mediaType: descriptor.mediaType, ...(resumedFrom > 0 ? { resumedFrom } : {}), ...(diffId ? { diffId } : {}) }));
}

/**
 * Records the pull in its scope: the reference names the root it resolved to, and the platform manifests pulled
 * from that root are listed (so gc keeps them); a tag moved to another root forgets the old root's list.
 */
async function recordInScope(cache: ImageCache, scope: string, ref: Reference, root: { bytes: Uint8Array; digest: Digest; mediaType: string | undefined }, manifestDigest: Digest): Promise<void> {
  const name = formatReference(ref);
  const mediaType = readDocument(root.bytes, root.mediaType, name).mediaType;
  await cache.scope(scope).update((index) => {
    const previous = index.manifests.find((entry) => entry.annotations?.[REF_NAME] === name);
    const known = previous?.digest === root.digest ? (previous.annotations?.[PULLED_MANIFESTS] ?? "").split(" ").filter(Boolean) : [];
    const manifests = [...new Set([...known, manifestDigest])].sort().join(" ");
    const entry: Descriptor = { mediaType, digest: root.digest, size: root.bytes.byteLength, annotations: { [REF_NAME]: name, [PULLED_MANIFESTS]: manifests } };
    return { ...index, manifests: [...index.manifests.filter((e) => e !== previous), entry] };
  });
}

/** `oci:<dir>[:<tag>|@<digest>]`, or undefined for anything else. */
export function parseLayoutSource(source: string): { dir: string; tag?: string; digest?: Digest } | undefined {
  if (!source.startsWith("oci:")) return undefined;
  const match = /^oci:(.+?)(?:@(sha256:[a-f0-9]{64})|:([\w][\w.-]{0,127}))?$/.exec(source);
  if (!match) throw new VoxError("E_USAGE", `Cannot use ${source}: expected oci:<dir>[:<tag>|@sha256:<hex>]`, { hint: "For example oci:./image:1.0", exitCode: 2 });
  return { dir: match[1]!, ...(match[3] ? { tag: match[3] } : {}), ...(match[2] ? { digest: parseDigest(match[2]).digest } : {}) };
}

/** The root an `oci:` source names in its layout: by tag (exactly one entry), by digest, or the only entry. */
export async function layoutRoot(layout: Layout, source: { tag?: string; digest?: Digest }, what: string): Promise<{ bytes: Uint8Array; digest: Digest; mediaType: string | undefined }> {
  const entries = (await layout.readIndex()).manifests;
  const named = source.tag !== undefined ? entries.filter((e) => e.annotations?.[REF_NAME] === source.tag) : source.digest !== undefined ? entries.filter((e) => e.digest === source.digest) : entries;
  if (source.tag !== undefined && named.length === 0) throw new VoxError("E_LAYOUT_TAG", `Cannot use ${what}: its index.json names no '${source.tag}'`, { hint: `It names: ${entries.map((e) => e.annotations?.[REF_NAME]).filter(Boolean).join(", ") || "nothing"}` });
  if (source.digest === undefined && named.length > 1) {
    throw new VoxError(source.tag === undefined ? "E_LAYOUT_TAG" : "E_OCI_AMBIGUOUS", `Cannot use ${what}: its index.json has ${named.length} entries${source.tag === undefined ? "" : ` named '${source.tag}'`}`, { hint: source.tag === undefined ? "Name one: oci:<dir>:<tag> or oci:<dir>@sha256:<hex>" : "Refusing an ambiguous layout" });
  }
  const descriptor: Descriptor | undefined = named[0] ?? (source.digest ? { mediaType: "", digest: source.digest, size: -1 } : undefined);
  if (!descriptor) throw new VoxError("E_LAYOUT_TAG", `Cannot use ${what}: its index.json is empty`, { hint: "Point at a layout that holds an image" });
  const bytes = await layoutDocument(layout, descriptor, what);
  return { bytes, digest: descriptor.digest as Digest, mediaType: descriptor.mediaType || undefined };
}

async function layoutDocument(layout: Layout, descriptor: Descriptor, what: string): Promise<Uint8Array> {
  const stat = await lstat(layout.blobPath(descriptor.digest as Digest)).catch(() => undefined);
  if (stat?.isFile() && stat.size > MAX_MANIFEST_BYTES) throw new VoxError("E_MANIFEST_SIZE", `Cannot use ${what}: ${descriptor.digest} is larger than ${MAX_MANIFEST_BYTES} bytes`, { hint: "Refusing an oversized document" });
  const bytes = await layout.readBlob(descriptor.digest as Digest);
  if (descriptor.size >= 0 && bytes.byteLength !== descriptor.size) throw new VoxError("E_BLOB_SIZE", `Cannot use ${what}: ${descriptor.digest} has ${bytes.byteLength} bytes, its descriptor says ${descriptor.size}`, { hint: "The layout is damaged; do not use it" });
  return bytes;
}

/** An image layout read in place: every blob verified where it lies (layers decompressed for their diff_id). */
export function layoutStore(layout: Layout): ImageStore {
  return {
    manifest: (descriptor, what) => layoutDocument(layout, descriptor, what),
    config: (descriptor, what) => layoutDocument(layout, descriptor, what),
    layer: async (descriptor, diffId, what) => {
      const path = layout.blobPath(descriptor.digest as Digest);
      const digester = new BlobDigester(descriptor, { what, diffId });
      try {
        await digestFile(path, digester, { limit: descriptor.size + 1 }).catch((error: NodeJS.ErrnoException) => {
          if (error.code === "ENOENT") throw new VoxError("E_BLOB_MISSING", `Cannot use ${what}: it is not in ${layout.dir}`, { hint: "The layout is incomplete; copy it again" });
          if (error.code === "ELOOP") throw new VoxError("E_BLOB_UNUSABLE", `Cannot use ${what}: ${path} is a symbolic link`, { hint: "Layouts hold blobs as regular files" });
          throw error;
        });
        await digester.finish();
      } finally {
        digester.abandon();
      }
      return path;
    },
  };
}

async function pullFromLayout(source: string, parsed: { dir: string; tag?: string; digest?: Digest }, wanted: Platform | undefined, deps: PullDeps): Promise<PulledImage> {
  const layout = await openLayout(parsed.dir);
  const root = await layoutRoot(layout, parsed, source);
  const context = { scope: null, reference: source };
  await deps.audit.record(event(context, "resolve", root.digest, "ok", { requested: source, mutable: parsed.digest === undefined, layout: layout.dir }));
  const image = await walkImage(root, wanted, layoutStore(layout), source);
  await deps.audit.record(event(context, "verify", image.manifestDigest, "ok", { what: "image", resolved: root.digest, layers: image.layers.length, diffIds: "verified" }));
  return pulled(source, root.digest, image, { scope: null, mutable: parsed.digest === undefined });
}

function pulled(reference: string, resolvedDigest: Digest, image: WalkedImage, extra: { scope: string | null; mutable: boolean }): PulledImage {
  return {
    reference,
    resolvedDigest,
    manifestDigest: image.manifestDigest,
    platform: image.platform,
    config: image.config,
    configDigest: image.configDescriptor.digest,
    layers: image.layers.map(({ descriptor, diffId, path }) => ({
      digest: descriptor.digest,
      mediaType: descriptor.mediaType,
      size: descriptor.size,
      diffId,
      open: () => openVerified(path, descriptor, `layer ${descriptor.digest}`),
    })),
    ...extra,
  };
}

/** This machine as an image platform (Node's arch names differ from OCI's). */
export function hostPlatform(): Platform {
  const arch: Record<string, string> = { x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64" };
  return { os: process.platform === "win32" ? "windows" : process.platform, architecture: arch[process.arch] ?? process.arch };
}
