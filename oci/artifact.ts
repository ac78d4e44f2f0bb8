import { canonicalJson } from "./canonical_json.ts";
import { sha256Digest } from "./digest.ts";
import type { Document } from "./assemble.ts";
import { MediaType } from "./media_types.ts";
import type { Descriptor, Manifest } from "./types.ts";

/** The OCI 1.1 empty config (`{}`), which artifact manifests point at when they have no config of their own. */
export const EMPTY_CONFIG = new TextEncoder().encode("{}");
const EMPTY_DESCRIPTOR: Descriptor = { mediaType: MediaType.ociEmpty, digest: sha256Digest(EMPTY_CONFIG), size: EMPTY_CONFIG.length };

/**
 * An OCI 1.1 artifact manifest that refers to `subject` (an SBOM, a provenance statement): the payload is its
 * one layer, the config is the empty descriptor, `artifactType` says what it is. Registries and layouts then
 * list it as a referrer of the subject; the subject's own digest does not change.
 *
 * @example
 * ```ts
 * const { manifest, blob } = artifactManifest(index.descriptor, { artifactType: MediaType.inTotoJson, payload: bytes });
 * ```
 */
export function artifactManifest(subject: Descriptor, options: { artifactType: string; payload: Uint8Array; annotations?: Record<string, string> }): { manifest: Document; blob: Document } {
  const blob: Document = { bytes: options.payload, descriptor: { mediaType: options.artifactType, digest: sha256Digest(options.payload), size: options.payload.length } };
  const subjectDescriptor: Descriptor = { mediaType: subject.mediaType, digest: subject.digest, size: subject.size };
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    artifactType: options.artifactType,
    config: EMPTY_DESCRIPTOR,
    layers: [blob.descriptor],
    subject: subjectDescriptor,
    ...(options.annotations ? { annotations: options.annotations } : {}),
  };
  const bytes = canonicalJson(manifest);
  return {
    manifest: {
      bytes,
      descriptor: { mediaType: MediaType.ociManifest, digest: sha256Digest(bytes), size: bytes.length, artifactType: options.artifactType, ...(options.annotations ? { annotations: options.annotations } : {}) },
    },
    blob,
  };
}
