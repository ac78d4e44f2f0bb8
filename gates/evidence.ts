import { VoxError, errorMessage } from "../errors/mod.ts";
import { type Descriptor, type Digest, formatPlatform, ImageConfigSchema, type Layout, MediaType, parseDocument, REF_NAME, type Reference } from "../oci/mod.ts";
import type { RegistryClient } from "../oci/remote/mod.ts";

/** Payloads read to judge them (SBOMs, provenance statements, platform manifests) are small; a bigger one is refused unread. */
const MAX_PAYLOAD_BYTES = 16 << 20;
/** Artifact types whose one layer is JSON the gates look into. */
const JSON_PAYLOADS: readonly string[] = [MediaType.cycloneDxJson, MediaType.spdxJson, MediaType.inTotoJson, "application/vnd.vox.platform.manifest.v1+json"];

/**
 * Where an image and its referrers are read, every read verified by digest: an image layout (`oci:<dir>`) or a
 * registry (referrers through the OCI 1.1 API or the `sha256-<hex>` tag).
 */
export interface ImageReader {
  /** The index or manifest the source names. */
  root(): Promise<{ digest: Digest; bytes: Uint8Array; mediaType: string | undefined }>;
  /** A manifest by digest. */
  manifest(digest: Digest): Promise<Uint8Array>;
  /** A blob, capped at its descriptor's size. */
  blob(descriptor: Descriptor): Promise<Uint8Array>;
  /** The manifests whose `subject` is `digest`. */
  referrers(digest: Digest): Promise<Descriptor[]>;
}

export interface PlatformImage {
  /** `os/arch[/variant]`. */
  platform: string;
  digest: Digest;
  annotations: Record<string, string>;
}

export interface ReferrerEvidence {
  digest: Digest;
  /** The manifest's `artifactType`, else its config's media type. */
  artifactType: string | undefined;
  /** The digest its `subject` names. */
  subject: Digest | undefined;
  layers: Descriptor[];
  /** The first layer parsed as JSON, for the artifact types the gates read. */
  payload?: unknown;
  /** Why the payload could not be read (it is then absent). */
  payloadProblem?: string;
}

/** What the gates judge: the image as stored, its platform images and everything attached to it. */
export interface ImageEvidence {
  source: string;
  digest: Digest;
  kind: "index" | "manifest";
  annotations: Record<string, string>;
  platforms: PlatformImage[];
  referrers: ReferrerEvidence[];
}

/**
 * Reads the image `reader` names, each platform manifest of an index (their annotations), and every referrer of
 * its digest with the JSON payload of SBOMs, provenance statements and platform manifests. A referrer that cannot
 * be read is kept with the reason, so the gate that needed it can say why it fails.
 *
 * @example
 * ```ts
 * const image = await gatherImageEvidence("oci:.vox/oci:0.1.0", layoutReader(layout, { tag: "0.1.0" }));
 * image.platforms.map((p) => p.platform); // ["linux/amd64", "linux/arm64"]
 * ```
 */
export async function gatherImageEvidence(source: string, reader: ImageReader): Promise<ImageEvidence> {
  const root = await reader.root();
  const document = parseDocument(root.bytes, root.mediaType, source);
  const platforms: PlatformImage[] = [];
  let annotations: Record<string, string>;
  if (document.kind === "index") {
    annotations = document.index.annotations ?? {};
    for (const entry of document.index.manifests) {
      // Docker's attestation entries (unknown/unknown) are not images of a platform.
      if (!entry.platform || entry.platform.os === "unknown") continue;
      const manifest = parseDocument(await reader.manifest(entry.digest as Digest), entry.mediaType, `${source} ${formatPlatform(entry.platform)}`);
      platforms.push({ platform: formatPlatform(entry.platform), digest: entry.digest as Digest, annotations: (manifest.kind === "manifest" ? manifest.manifest.annotations : undefined) ?? {} });
    }
  } else {
    annotations = document.manifest.annotations ?? {};
    const config = ImageConfigSchema.safeParse(JSON.parse(new TextDecoder().decode(await reader.blob(document.manifest.config))));
    const platform = config.success ? formatPlatform(config.data) : "unknown";
    platforms.push({ platform, digest: root.digest, annotations });
  }
  const referrers: ReferrerEvidence[] = [];
  for (const descriptor of await reader.referrers(root.digest)) referrers.push(await readReferrer(descriptor, reader));
  return { source, digest: root.digest, kind: document.kind, annotations, platforms, referrers };
}

async function readReferrer(descriptor: Descriptor, reader: ImageReader): Promise<ReferrerEvidence> {
  const digest = descriptor.digest as Digest;
  let document;
  try {
    document = parseDocument(await reader.manifest(digest), descriptor.mediaType, `referrer ${digest}`);
  } catch (error) {
    return { digest, artifactType: descriptor.artifactType, subject: undefined, layers: [], payloadProblem: errorMessage(error) };
  }
  if (document.kind !== "manifest") return { digest, artifactType: document.index.artifactType, subject: document.index.subject?.digest as Digest | undefined, layers: [] };
  const { manifest } = document;
  const artifactType = manifest.artifactType ?? manifest.config.mediaType;
  const evidence: ReferrerEvidence = { digest, artifactType, subject: manifest.subject?.digest as Digest | undefined, layers: manifest.layers };
  const layer = manifest.layers[0];
  if (!JSON_PAYLOADS.includes(artifactType) || !layer) return evidence;
  if (layer.size > MAX_PAYLOAD_BYTES) return { ...evidence, payloadProblem: `its payload is ${layer.size} bytes, more than the ${MAX_PAYLOAD_BYTES} read` };
  try {
    return { ...evidence, payload: JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(await reader.blob(layer))) };
  } catch (error) {
    return { ...evidence, payloadProblem: `its payload ${layer.digest} cannot be read as JSON: ${errorMessage(error)}` };
  }
}

/**
 * An image layout read in place: the root by tag, digest or the only named entry; referrers are the index.json
 * entries whose manifest names the image as `subject` (vox deploy build stores its SBOM and provenance so).
 *
 * @example
 * ```ts
 * const reader = layoutReader(await openLayout(".vox/oci"), { tag: "0.1.0" });
 * ```
 */
export function layoutReader(layout: Layout, name: { tag?: string; digest?: Digest }): ImageReader {
  const reader: ImageReader = {
    root: async () => {
      const entries = (await layout.readIndex()).manifests;
      const named = name.digest !== undefined ? entries.filter((e) => e.digest === name.digest) : name.tag !== undefined ? entries.filter((e) => e.annotations?.[REF_NAME] === name.tag) : entries.filter((e) => e.annotations?.[REF_NAME] !== undefined);
      const entry = named[0];
      if (!entry || named.length > 1) {
        const names = entries.map((e) => e.annotations?.[REF_NAME]).filter(Boolean).join(", ") || "nothing";
        throw new VoxError("E_LAYOUT_TAG", `Cannot read the image in ${layout.dir}: its index.json names ${entry ? "more than one image" : `no ${name.digest ?? `'${name.tag ?? "image"}'`}`}`, { hint: `Name one as oci:<dir>:<tag>; it names: ${names}`, exitCode: 2 });
      }
      return { digest: entry.digest as Digest, bytes: await layout.readBlob(entry.digest as Digest), mediaType: entry.mediaType };
    },
    manifest: (digest) => layout.readBlob(digest),
    blob: async (descriptor) => {
      const bytes = await layout.readBlob(descriptor.digest as Digest);
      if (bytes.byteLength !== descriptor.size) throw new VoxError("E_BLOB_SIZE", `Cannot read ${descriptor.digest} in ${layout.dir}: ${bytes.byteLength} bytes, its descriptor says ${descriptor.size}`);
      return bytes;
    },
    referrers: async (digest) => {
      const found: Descriptor[] = [];
      for (const entry of (await layout.readIndex()).manifests) {
        if (entry.digest === digest) continue;
        const bytes = await layout.readBlob(entry.digest as Digest).catch(() => undefined);
        if (!bytes) continue;
        try {
          const document = parseDocument(bytes, entry.mediaType, entry.digest);
          const subject = document.kind === "manifest" ? document.manifest.subject : document.index.subject;
          if (subject?.digest === digest) found.push(entry);
        } catch {
          // Not an OCI document: not a referrer either.
        }
      }
      return found;
    },
  };
  return reader;
}

/**
 * A registry read through vox's client: `reference` by tag or digest, referrers through the OCI 1.1 API, else
 * the `sha256-<hex>` tag schema (which Debian's docker-registry 2.8 needs).
 *
 * @example
 * ```ts
 * const reader = registryReader(client, parseReference("ghcr.io/acme/hello:0.1.0"));
 * ```
 */
export function registryReader(client: Pick<RegistryClient, "getManifest" | "getBlob" | "listReferrers">, reference: Reference): ImageReader {
  const repo = { registry: reference.registry, repository: reference.repository };
  return {
    root: async () => {
      const fetched = await client.getManifest(reference);
      return { digest: fetched.digest, bytes: fetched.bytes, mediaType: fetched.mediaType };
    },
    manifest: async (digest) => (await client.getManifest({ ...repo, digest })).bytes,
    blob: (descriptor) => client.getBlob(repo, descriptor),
    referrers: async (digest) => (await client.listReferrers(repo, digest)).manifests,
  };
}
