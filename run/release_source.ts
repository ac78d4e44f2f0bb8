import { VoxError } from "../errors/mod.ts";
import { type Digest, formatReference } from "../oci/mod.ts";
import type { RegistryClient } from "../oci/remote/mod.ts";
import { PLATFORM_MANIFEST_ARTIFACT_TYPE, type PlatformManifest, platformContentHash } from "../platform/mod.ts";
import { type PinnedReference, readReleases, readStoredManifest, type ReleaseLogPaths, resolveRelease } from "../releases/mod.ts";
import type { ReleaseRef } from "./state.ts";

/** A Release as the runner takes it: the tuple, and the normalized manifest whose hash is the tuple's. */
export interface ResolvedRelease {
  release: ReleaseRef;
  manifest: PlatformManifest;
}

/**
 * A Release from the log (verified whole) and its stored manifest (re-hashed on read).
 *
 * @example
 * ```ts
 * const { release, manifest } = await releaseFromLog(projectReleaseLog(stateDir, undefined, cwd), "latest");
 * ```
 */
export async function releaseFromLog(paths: ReleaseLogPaths, which: number | "latest"): Promise<ResolvedRelease> {
  const record = resolveRelease(await readReleases(paths.dir, { log: paths.log }), which);
  const manifest = await readStoredManifest(paths.dir, record.manifest_content_hash);
  return checked({ seq: record.seq, image: record.image, image_digest: record.image_digest, manifest_content_hash: record.manifest_content_hash }, manifest);
}

/**
 * A Release known only by its two digests, as a host agent gets it: the manifest is the artifact `vox deploy
 * release --push` attached to the image (found among its referrers by artifact type), whose one layer is the
 * manifest's canonical bytes, so the layer digest must be the manifest hash; the blob is verified on download.
 *
 * @example
 * ```ts
 * const { manifest } = await releaseFromRegistry(client, pinnedImage("r.example/app@sha256:…", "--image"), "sha256:…");
 * ```
 */
export async function releaseFromRegistry(client: Pick<RegistryClient, "listReferrers" | "getManifest" | "getBlob">, image: PinnedReference, manifestHash: string): Promise<ResolvedRelease> {
  const repo = { registry: image.registry, repository: image.repository };
  const { manifests } = await client.listReferrers(repo, image.digest, { artifactType: PLATFORM_MANIFEST_ARTIFACT_TYPE });
  for (const descriptor of manifests) {
    const { document } = await client.getManifest({ ...repo, digest: descriptor.digest as Digest });
    const layer = document.kind === "manifest" ? document.manifest.layers.find((l) => l.digest === manifestHash) : undefined;
    if (!layer) continue;
    const bytes = await client.getBlob(repo, layer);
    const manifest = JSON.parse(new TextDecoder().decode(bytes)) as PlatformManifest;
    return checked({ seq: null, image: formatReference(image), image_digest: image.digest, manifest_content_hash: manifestHash }, manifest);
  }
  throw new VoxError("E_RUN_MANIFEST", `Cannot find the platform manifest ${manifestHash} attached to ${formatReference(image)}`, {
    hint: "Release with `vox deploy release --push <registry/repository>` so the manifest is pushed as an artifact of the image, or run from the release log (--release)",
  });
}

/**
 * Refuses a manifest whose content hash is not the tuple's: the runner runs exactly what was released.
 *
 * @example
 * ```ts
 * checked(release, manifest); // throws E_RUN_MANIFEST when platformContentHash(manifest) !== release.manifest_content_hash
 * ```
 */
export function checked(release: ReleaseRef, manifest: PlatformManifest): ResolvedRelease {
  const actual = platformContentHash(manifest);
  if (actual !== release.manifest_content_hash) {
    throw new VoxError("E_RUN_MANIFEST", `Cannot run release ${release.seq ?? release.image}: its platform manifest hashes to ${actual}, not to the release's ${release.manifest_content_hash}`, {
      hint: "The manifest was changed after it was released; restore it from the registry or the release log's store",
    });
  }
  return { release, manifest };
}
