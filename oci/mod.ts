// OCI image model and stores: digests, references, media types, documents (no I/O), the image-layout store,
// deterministic layers, the image assembler and the registry client (oci/remote). Knows nothing of Vox.toml.

export { canonicalJson } from "./canonical_json.ts";
export { type Digest, isDigest, parseDigest, sha256Digest, verifyDigest } from "./digest.ts";
export { INDEX_MEDIA_TYPES, MANIFEST_ACCEPT, MANIFEST_MEDIA_TYPES, MediaType, READABLE_LAYER_MEDIA_TYPES } from "./media_types.ts";
export { formatReference, parseReference, type Reference, registryApiHost } from "./reference.ts";
export {
  type Descriptor,
  DescriptorSchema,
  formatPlatform,
  type ImageConfig,
  ImageConfigSchema,
  type Index,
  IndexSchema,
  type Manifest,
  ManifestSchema,
  type ParsedDocument,
  parseDocument,
  parsePlatform,
  type Platform,
  samePlatform,
} from "./types.ts";
export { assembleImage, assembleIndex, type BaseImage, type Document, type ImageSpec, type RuntimeConfig } from "./assemble.ts";
export { type BlobFileSink, type Layer, type LayerEntry, writeLayer } from "./layer.ts";
export { type BlobSource, checkScopeName, IndexFile, Layout, openLayout, REF_NAME, SCOPE_NAME } from "./layout.ts";
export { artifactManifest, EMPTY_CONFIG } from "./artifact.ts";
