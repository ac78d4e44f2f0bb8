import { usageError, VoxError } from "../errors/mod.ts";
import {
  type Descriptor,
  type Digest,
  formatPlatform,
  formatReference,
  INDEX_MEDIA_TYPES,
  type Layout,
  MediaType,
  type ParsedDocument,
  parseDocument,
  parseReference,
  type Reference,
} from "../oci/mod.ts";
import { type RegistryClient, RegistryError } from "../oci/remote/mod.ts";

/** A reference that carries a digest: the only kind a Release may name. */
export type PinnedReference = Reference & { digest: Digest };

/** Where an image is looked for: the project's image layouts first, then the registry its reference names. */
export interface ImageLookup {
  layouts: readonly Layout[];
  /** Absent: layouts only (no network). */
  registry?: Pick<RegistryClient, "getManifest">;
}

/** The image a release names: the descriptor a `subject` points at, and the layout holding it, if one does. */
export interface LocatedImage {
  descriptor: Descriptor;
  layout?: Layout;
}

/**
 * The "image not pinned by digest" invariant: a Release names its image by digest, because a tag can be moved to
 * other content and the log would no longer say what ran. `from` names where the text came from (`--image`).
 *
 * @example
 * ```ts
 * pinnedImage("ghcr.io/acme/app@sha256:…", "--image").digest; // "sha256:…"
 * pinnedImage("ghcr.io/acme/app:1.0", "--image"); // throws E_IMAGE_NOT_PINNED
 * ```
 */
export function pinnedImage(text: string, from: string): PinnedReference {
  const reference = parseReference(text);
  if (reference.digest === undefined) {
    throw usageError(
      "E_IMAGE_NOT_PINNED",
      `Cannot release image '${text}' (${from}): it is not pinned by digest, and a tag can later name other content`,
      `Name it by digest: ${formatReference({ ...reference, tag: undefined })}@sha256:<hex> (the digest \`vox deploy build\` printed, or \`skopeo inspect --format '{{.Digest}}' docker://${text}\`)`,
    );
  }
  return reference as PinnedReference;
}

/**
 * Finds the image `reference` pins: in a layout (no network) or else in its registry, and checks it can be
 * released: an image index, or a single-platform image manifest that no index it is known through lists (for a
 * multi-platform image the Release must pin the index, so every host picks its own platform), and not an
 * artifact (an SBOM, a signature). Known through: every index in the layouts, and the index a reference's tag
 * names on the registry.
 *
 * @example
 * ```ts
 * const { descriptor } = await locateImage(pinnedImage(text, "--image"), { layouts: [layout], registry });
 * descriptor.mediaType; // "application/vnd.oci.image.index.v1+json"
 * ```
 */
export async function locateImage(reference: PinnedReference, lookup: ImageLookup): Promise<LocatedImage> {
  const what = formatReference(reference);
  for (const layout of lookup.layouts) {
    if (!(await layout.hasBlob(reference.digest))) continue;
    const bytes = await layout.readBlob(reference.digest);
    const document = parseDocument(bytes, undefined, `${reference.digest} in ${layout.dir}`);
    checkReleasable(what, document, await layoutParent(lookup.layouts, reference.digest));
    return { descriptor: { mediaType: document.mediaType, digest: reference.digest, size: bytes.byteLength }, layout };
  }
  const where = lookup.layouts.map((l) => l.dir).join(", ") || "no layout";
  if (!lookup.registry) {
    throw new VoxError("E_IMAGE_UNKNOWN", `Cannot release ${what}: ${reference.digest} is not in ${where}`, { hint: "Build it with `vox deploy build`, or name an image on a registry with --image" });
  }
  const fetched = await lookup.registry.getManifest({ registry: reference.registry, repository: reference.repository, digest: reference.digest }).catch((error: unknown) => {
    if (error instanceof RegistryError && error.status === 404) {
      throw new VoxError("E_IMAGE_UNKNOWN", `Cannot release ${what}: ${reference.digest} is neither in ${where} nor in ${reference.registry}/${reference.repository}`, {
        hint: "Check the digest (`vox deploy build` prints it), or push the image there first (`vox deploy build --push`)",
        cause: error,
      });
    }
    throw error;
  });
  const parent = reference.tag === undefined || fetched.document.kind === "index" ? undefined : await registryParent(lookup.registry, reference);
  checkReleasable(what, fetched.document, parent);
  return { descriptor: { mediaType: fetched.mediaType, digest: reference.digest, size: fetched.bytes.byteLength } };
}

/** An index may be released; an image manifest only when no known index lists it; an artifact never. */
function checkReleasable(what: string, document: ParsedDocument, parent: { index: Digest; platform: string } | undefined): void {
  if (document.kind === "index") return;
  const { manifest } = document;
  const config = manifest.config.mediaType;
  if (manifest.artifactType !== undefined || (config !== MediaType.ociConfig && config !== MediaType.dockerConfig)) {
    throw usageError("E_IMAGE_NOT_IMAGE", `Cannot release ${what}: it is an artifact (${manifest.artifactType ?? config}), not an image`, "Name the image it describes (its `subject`)");
  }
  if (parent) {
    throw usageError(
      "E_IMAGE_PLATFORM_MANIFEST",
      `Cannot release ${what}: it is the ${parent.platform} manifest of the multi-platform image ${parent.index}, and a Release pins the index so each host runs its own platform`,
      `Release the index: --image ${what.slice(0, what.lastIndexOf("@"))}@${parent.index}`,
    );
  }
}

/** The index in any of the layouts that lists `digest`, and the platform it lists it for. */
async function layoutParent(layouts: readonly Layout[], digest: Digest): Promise<{ index: Digest; platform: string } | undefined> {
  for (const layout of layouts) {
    for (const entry of (await layout.readIndex()).manifests) {
      if (!INDEX_MEDIA_TYPES.includes(entry.mediaType) || !(await layout.hasBlob(entry.digest as Digest))) continue;
      const document = parseDocument(await layout.readBlob(entry.digest as Digest), entry.mediaType, `index ${entry.digest} in ${layout.dir}`);
      const child = childOf(document, entry.digest as Digest, digest);
      if (child) return child;
    }
  }
  return undefined;
}

/** The index the reference's tag names, when it lists the pinned manifest. */
async function registryParent(registry: Pick<RegistryClient, "getManifest">, reference: PinnedReference): Promise<{ index: Digest; platform: string } | undefined> {
  const tagged = await registry.getManifest({ registry: reference.registry, repository: reference.repository, tag: reference.tag! }).catch((error: unknown) => {
    if (error instanceof RegistryError && error.status === 404) return undefined;
    throw error;
  });
  return tagged ? childOf(tagged.document, tagged.digest, reference.digest) : undefined;
}

function childOf(document: ParsedDocument, indexDigest: Digest, digest: Digest): { index: Digest; platform: string } | undefined {
  if (document.kind !== "index") return undefined;
  const child = document.index.manifests.find((m) => m.digest === digest);
  return child ? { index: indexDigest, platform: child.platform ? formatPlatform(child.platform) : "platform" } : undefined;
}
