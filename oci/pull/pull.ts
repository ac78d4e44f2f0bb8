import type { AuditSink } from "../../audit/mod.ts";
import { VoxError } from "../../errors/mod.ts";
import type { Reference } from "../reference.ts";
import type { FetchedManifest } from "../remote/mod.ts";
import type { Descriptor } from "../types.ts";

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
  /** `os/arch[/variant]`; default this machine's. */
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
  getManifest(ref: Reference): Promise<FetchedManifest>;
  /** The blob's bytes from `from` on, capped at its size, resumed after dropped connections; digest-checked when `from` is 0. */
  openBlob(repo: { registry: string; repository: string }, descriptor: Descriptor, options?: { from?: number }): Promise<ReadableStream<Uint8Array>>;
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

/**
 * Resolves `source` ("oci:<dir>[:<tag>|@<digest>]" or a registry reference) to one platform's image and verifies
 * every document and blob (media type, size, digest, and each layer's diff_id while decompressing) before
 * returning it; registry images land in the scoped cache.
 *
 * @example
 * ```ts
 * const image = await pullImage("127.0.0.1:5000/app@sha256:…", { platform: "linux/amd64" }, { registry, cacheDir, audit });
 * for (const layer of image.layers) await consume(await layer.open());
 * ```
 */
export async function pullImage(source: string, options: PullOptions, deps: PullDeps): Promise<PulledImage> {
  void options;
  void deps;
  throw new VoxError("E_NOT_READY", `Cannot pull ${source}: not implemented yet`);
}
