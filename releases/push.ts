import { VoxError } from "../errors/mod.ts";
import { artifactManifest, type BlobSource, type Digest, EMPTY_CONFIG, formatReference, sha256Digest } from "../oci/mod.ts";
import { layoutBlobSource, type ReferrersVia, type RegistryClient, RegistryError, type Repository } from "../oci/remote/mod.ts";
import { PLATFORM_MANIFEST_ARTIFACT_TYPE } from "../platform/types.ts";
import type { LocatedImage } from "./image.ts";

export interface PushedManifest {
  /** `registry/repository@<image digest>`: the image as the record names it. */
  image: string;
  /** The artifact manifest's digest. */
  artifact: Digest;
  via: ReferrersVia;
  /** True when the image had to be pushed from the layout first. */
  imagePushed: boolean;
}

/**
 * Pushes a normalized manifest to `target` as an OCI 1.1 artifact (`artifactType`
 * application/vnd.vox.platform.manifest.v1+json, one layer: the canonical bytes, whose digest is the content
 * hash) whose `subject` is the image, through the referrers API or the `sha256-<hex>` tag fallback. A host that
 * knows only the two digests fetches the image by the first and the manifest blob by the second, or finds it
 * among the image's referrers. The image is pushed from its layout first when `target` lacks it.
 *
 * @example
 * ```ts
 * const pushed = await pushPlatformManifest(client, { registry: "ghcr.io", repository: "acme/app" }, located, canonicalManifestBytes(manifest));
 * pushed.via; // "referrers-api" or "tag-schema"
 * ```
 */
export async function pushPlatformManifest(
  client: Pick<RegistryClient, "getManifest" | "pushImage" | "pushReferrer">,
  target: Repository,
  image: LocatedImage,
  canonicalBytes: Uint8Array,
): Promise<PushedManifest> {
  const digest = image.descriptor.digest as Digest;
  const pinned = { registry: target.registry, repository: target.repository, digest };
  const present = await client.getManifest(pinned).then(
    () => true,
    (error: unknown) => {
      if (error instanceof RegistryError && error.status === 404) return false;
      throw error;
    },
  );
  if (!present) {
    if (!image.layout) {
      throw new VoxError("E_IMAGE_UNKNOWN", `Cannot push the platform manifest to ${formatReference(target)}: the image ${digest} is not there, and no local layout holds it`, {
        hint: `Push the image there first (\`vox deploy build --push ${formatReference(target)}:<tag>\`, or skopeo copy), then release again`,
      });
    }
    // Blobs stream from the layout's files: a large image never sits whole in memory.
    await client.pushImage(pinned, { root: image.descriptor, source: layoutBlobSource(image.layout) });
  }
  const { manifest, blob } = artifactManifest(image.descriptor, { artifactType: PLATFORM_MANIFEST_ARTIFACT_TYPE, payload: canonicalBytes });
  const blobs = new Map<string, Uint8Array>([
    [blob.descriptor.digest, blob.bytes],
    [sha256Digest(EMPTY_CONFIG), EMPTY_CONFIG],
  ]);
  const source: BlobSource = { readBlob: async (wanted) => blobs.get(wanted)! };
  const pushed = await client.pushReferrer(target, manifest.bytes, { source });
  return { image: formatReference(pinned), artifact: pushed.digest, via: pushed.via, imagePushed: !present };
}
