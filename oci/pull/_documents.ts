import { VoxError } from "../../errors/mod.ts";
import { INDEX_MEDIA_TYPES, MediaType } from "../media_types.ts";
import { type Descriptor, formatPlatform, type ImageConfig, ImageConfigSchema, type Index, type Manifest, type ParsedDocument, parseDocument, type Platform, samePlatform } from "../types.ts";
import { PULLABLE_LAYER_MEDIA_TYPES } from "./_verify.ts";

/** Docker's attestation entries share `unknown/unknown`; they are not images and never chosen. */
const ATTESTATION = "vnd.docker.reference.type";
const OCI_LAYERS = new Set<string>([MediaType.ociLayerGzip, MediaType.ociLayer, MediaType.ociLayerZstd]);
const DOCKER_LAYERS = new Set<string>([MediaType.dockerLayerGzip]);

function ambiguous(what: string, why: string): VoxError {
  return new VoxError("E_OCI_AMBIGUOUS", `Cannot use ${what}: ${why}`, { hint: "Refusing an ambiguous image: it could be read two ways. Fix the image where it was built" });
}

/**
 * Parses an index or manifest and refuses it unless it is unambiguous: its media type agrees with the descriptor
 * or header it came with and with its own shape (an index has no `config`/`layers`, a manifest no `manifests`).
 */
export function readDocument(bytes: Uint8Array, expectedMediaType: string | undefined, what: string): ParsedDocument {
  const document = parseDocument(bytes, expectedMediaType, what);
  if (expectedMediaType && document.mediaType !== expectedMediaType.split(";")[0]!.trim()) {
    throw ambiguous(what, `it was described as ${expectedMediaType} but is a ${document.mediaType}`);
  }
  const json = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
  const stray = document.kind === "index" ? ["config", "layers"].filter((key) => key in json) : "manifests" in json ? ["manifests"] : [];
  if (stray.length > 0) throw ambiguous(what, `it is a ${document.mediaType} but has ${stray.map((k) => `'${k}'`).join(" and ")}`);
  return document;
}

/**
 * The index entry for `wanted`: exactly one image manifest may claim a platform (two are refused, whichever was
 * wanted: which one a reader picks would be arbitrary), and a nested index is not followed.
 */
export function chooseManifest(index: Index, wanted: Platform, what: string): Descriptor {
  const images = index.manifests.filter((entry) => entry.platform && entry.annotations?.[ATTESTATION] === undefined);
  images.forEach((entry, i) => {
    const twin = images.findIndex((other) => samePlatform(other.platform!, entry.platform!));
    if (twin !== i) throw ambiguous(what, `it lists ${formatPlatform(entry.platform!)} twice (${images[twin]!.digest} and ${entry.digest})`);
  });
  const chosen = images.find((entry) => samePlatform(entry.platform!, wanted));
  if (!chosen) {
    throw new VoxError("E_PLATFORM_MISSING", `Cannot use ${what} for ${formatPlatform(wanted)}: it offers ${images.map((e) => formatPlatform(e.platform!)).join(", ") || "no platforms"}`, { hint: "Pass --platform with one of those" });
  }
  if (INDEX_MEDIA_TYPES.includes(chosen.mediaType)) throw new VoxError("E_OCI_NESTED", `Cannot use ${what}: its ${formatPlatform(wanted)} entry is another index`, { hint: "vox follows one level of index; point at the inner index's digest instead" });
  return chosen;
}

/**
 * Refuses a manifest whose parts do not fit it: a config of the other family's type, layers vox does not read or
 * of the other family, layers fetched from `urls` (foreign).
 */
export function checkManifest(document: ParsedDocument & { kind: "manifest" }, what: string): Manifest {
  const { manifest, mediaType } = document;
  const docker = mediaType === MediaType.dockerManifest;
  const configType = docker ? MediaType.dockerConfig : MediaType.ociConfig;
  if (manifest.config.mediaType !== configType) throw ambiguous(what, `a ${mediaType} must have a ${configType} config, not ${manifest.config.mediaType}`);
  const family = docker ? DOCKER_LAYERS : OCI_LAYERS;
  for (const layer of manifest.layers) {
    if (!PULLABLE_LAYER_MEDIA_TYPES.has(layer.mediaType) && !DOCKER_LAYERS.has(layer.mediaType)) {
      throw new VoxError("E_LAYER_MEDIA_TYPE", `Cannot use ${what}: layer ${layer.digest} is ${layer.mediaType}`, { hint: "vox reads gzip, zstd and uncompressed tar layers; foreign layers are never fetched" });
    }
    if (!family.has(layer.mediaType)) throw ambiguous(what, `a ${mediaType} lists a ${layer.mediaType} layer (${layer.digest})`);
    if (layer.urls !== undefined) throw new VoxError("E_LAYER_FOREIGN", `Cannot use ${what}: layer ${layer.digest} is to be fetched from other URLs`, { hint: "Foreign layers are never fetched; use an image without them" });
  }
  return manifest;
}

/** Parses an image config and refuses one that disagrees with its manifest (diff_id count) or with the platform chosen. */
export function checkConfig(bytes: Uint8Array, manifest: Manifest, platform: Platform | undefined, what: string): ImageConfig {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (error) {
    throw new VoxError("E_OCI_DOCUMENT", `Cannot read ${what}: not UTF-8 JSON (${(error as Error).message})`);
  }
  const parsed = ImageConfigSchema.safeParse(json);
  if (!parsed.success) throw new VoxError("E_OCI_DOCUMENT", `Cannot read ${what}: ${parsed.error.issues.map((i) => `${i.path.join(".") || "config"} ${i.message}`).join("; ")}`);
  const config = parsed.data;
  if (config.rootfs.diff_ids.length !== manifest.layers.length) throw ambiguous(what, `it lists ${config.rootfs.diff_ids.length} diff_ids for ${manifest.layers.length} layers`);
  const own: Platform = { os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) };
  if (platform && !samePlatform(own, platform)) throw ambiguous(what, `the index lists it for ${formatPlatform(platform)}, its config says ${formatPlatform(own)}`);
  return config;
}
