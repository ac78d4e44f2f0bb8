/** Media types vox writes (OCI) and reads (OCI and Docker schema 2), in one table. */
export const MediaType = {
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  ociLayerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  ociLayer: "application/vnd.oci.image.layer.v1.tar",
  ociLayerZstd: "application/vnd.oci.image.layer.v1.tar+zstd",
  ociEmpty: "application/vnd.oci.empty.v1+json",
  dockerManifestList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  dockerLayerGzip: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  dockerForeignLayerGzip: "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
  spdxJson: "application/spdx+json",
  inTotoJson: "application/vnd.in-toto+json",
  cycloneDxJson: "application/vnd.cyclonedx+json",
} as const;

export type MediaTypeName = (typeof MediaType)[keyof typeof MediaType];

/** Documents that list platform manifests. */
export const INDEX_MEDIA_TYPES: readonly string[] = [MediaType.ociIndex, MediaType.dockerManifestList];
/** Documents that describe one image. */
export const MANIFEST_MEDIA_TYPES: readonly string[] = [MediaType.ociManifest, MediaType.dockerManifest];
/** Layer encodings vox can read; zstd and foreign layers are refused with a clear error. */
export const READABLE_LAYER_MEDIA_TYPES: readonly string[] = [MediaType.ociLayerGzip, MediaType.ociLayer, MediaType.dockerLayerGzip];
/** The Accept header for manifest requests: every document type vox can read. */
export const MANIFEST_ACCEPT = [...INDEX_MEDIA_TYPES, ...MANIFEST_MEDIA_TYPES].join(", ");
