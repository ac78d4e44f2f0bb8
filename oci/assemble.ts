import { VoxError } from "../errors/mod.ts";
import { canonicalJson } from "./canonical_json.ts";
import { type Digest, sha256Digest } from "./digest.ts";
import type { Layer } from "./layer.ts";
import { MediaType } from "./media_types.ts";
import type { Descriptor, ImageConfig, Manifest, Platform } from "./types.ts";

/** A base image for one platform, already fetched and verified. */
export interface BaseImage {
  manifestDigest: Digest;
  manifest: Manifest;
  config: ImageConfig;
}

/** What the image runs and how: the config fields Vox.toml may set. Absent fields keep the base's values. */
export interface RuntimeConfig {
  entrypoint?: string[];
  cmd?: string[];
  env?: Record<string, string>;
  workdir?: string;
  user?: string;
  labels?: Record<string, string>;
  exposedPorts?: string[];
}

export interface ImageSpec {
  platform: Platform;
  /** Undefined for `scratch`. */
  base?: BaseImage;
  layers: ReadonlyArray<{ layer: Layer; createdBy: string }>;
  runtime: RuntimeConfig;
  /** Put on the manifest and mirrored into the config's labels. */
  annotations: Record<string, string>;
  /** RFC 3339, from SOURCE_DATE_EPOCH. */
  created: string;
}

/** A serialised document and the descriptor that points at it. */
export interface Document {
  bytes: Uint8Array;
  descriptor: Descriptor;
}

const OCI_IMAGE_LABEL_PREFIX = "org.opencontainers.image.";

/** Docker schema 2 layer types are the same bytes as their OCI equivalents; images vox writes say OCI. */
const OCI_LAYER_TYPE: Record<string, string> = {
  [MediaType.dockerLayerGzip]: MediaType.ociLayerGzip,
  [MediaType.ociLayerGzip]: MediaType.ociLayerGzip,
  [MediaType.ociLayer]: MediaType.ociLayer,
  [MediaType.ociLayerZstd]: MediaType.ociLayerZstd,
};

/**
 * One platform's image: the base's config and layers (or none, for scratch), our layers on top, the
 * runtime fields applied, labels and annotations, all serialised as canonical JSON.
 *
 * @example
 * ```ts
 * const { config, manifest } = assembleImage({ platform: { os: "linux", architecture: "amd64" }, layers: [], runtime: {}, annotations: {}, created: "1970-01-01T00:00:00Z" });
 * ```
 */
export function assembleImage(spec: ImageSpec): { config: Document; manifest: Document } {
  const config = imageConfig(spec);
  const configBytes = canonicalJson(config);
  const configDescriptor: Descriptor = { mediaType: MediaType.ociConfig, digest: sha256Digest(configBytes), size: configBytes.length };
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: configDescriptor,
    layers: [...(spec.base?.manifest.layers ?? []).map(baseLayer), ...spec.layers.map(({ layer }) => layer.descriptor)],
    ...(Object.keys(spec.annotations).length > 0 ? { annotations: spec.annotations } : {}),
  };
  const manifestBytes = canonicalJson(manifest);
  return {
    config: { bytes: configBytes, descriptor: configDescriptor },
    manifest: {
      bytes: manifestBytes,
      descriptor: { mediaType: MediaType.ociManifest, digest: sha256Digest(manifestBytes), size: manifestBytes.length, platform: spec.platform },
    },
  };
}

/**
 * The multi-platform index over `manifests` (in the order given), with annotations.
 *
 * @example
 * ```ts
 * assembleIndex([amd64.descriptor, arm64.descriptor], { "org.opencontainers.image.version": "1.0.0" }).descriptor.digest;
 * ```
 */
export function assembleIndex(manifests: readonly Descriptor[], annotations: Record<string, string>): Document {
  const bytes = canonicalJson({
    schemaVersion: 2,
    mediaType: MediaType.ociIndex,
    manifests,
    ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
  });
  return { bytes, descriptor: { mediaType: MediaType.ociIndex, digest: sha256Digest(bytes), size: bytes.length } };
}

function baseLayer(descriptor: Descriptor): Descriptor {
  const mediaType = OCI_LAYER_TYPE[descriptor.mediaType];
  if (!mediaType || descriptor.urls) {
    throw new VoxError("E_BASE_LAYER", `Cannot build on a base layer of type ${descriptor.mediaType}${descriptor.urls ? " with external URLs" : ""} (${descriptor.digest})`, {
      hint: "Use a base image whose layers are ordinary tar or tar+gzip blobs (foreign/non-distributable layers are not supported)",
    });
  }
  const { annotations: _dropped, ...rest } = descriptor;
  return { ...rest, mediaType };
}

function imageConfig(spec: ImageSpec): ImageConfig {
  const base = spec.base?.config;
  if (base && (base.os !== spec.platform.os || base.architecture !== spec.platform.architecture)) {
    throw new VoxError("E_BASE_PLATFORM", `Cannot use base image ${spec.base!.manifestDigest} for ${spec.platform.os}/${spec.platform.architecture}: its config says ${base.os}/${base.architecture}`, {
      hint: "Point `base` at a multi-platform index that has this platform, or change `platforms` in Vox.toml",
    });
  }
  const baseRuntime = base?.config ?? {};
  const runtime = spec.runtime;
  const entrypoint = runtime.entrypoint ?? baseRuntime.Entrypoint ?? undefined;
  // As with a Dockerfile ENTRYPOINT: a new entrypoint drops the base's CMD unless a cmd is given too.
  const cmd = runtime.cmd ?? (runtime.entrypoint ? undefined : (baseRuntime.Cmd ?? undefined));
  const labels = { ...ownLabels(baseRuntime.Labels ?? {}), ...checkedLabels(runtime.labels ?? {}, spec.annotations), ...spec.annotations };
  const exposed = { ...(baseRuntime.ExposedPorts ?? {}), ...Object.fromEntries((runtime.exposedPorts ?? []).map((port) => [port, {}])) };
  return {
    ...(base ?? {}),
    architecture: spec.platform.architecture,
    os: spec.platform.os,
    ...(spec.platform.variant ? { variant: spec.platform.variant } : {}),
    created: spec.created,
    config: {
      ...baseRuntime,
      Env: mergeEnv(baseRuntime.Env ?? [], runtime.env ?? {}),
      ...(entrypoint ? { Entrypoint: entrypoint } : { Entrypoint: undefined }),
      ...(cmd ? { Cmd: cmd } : { Cmd: undefined }),
      ...(runtime.workdir ?? baseRuntime.WorkingDir ? { WorkingDir: runtime.workdir ?? baseRuntime.WorkingDir } : {}),
      ...(runtime.user ?? baseRuntime.User ? { User: runtime.user ?? baseRuntime.User } : {}),
      ...(Object.keys(exposed).length > 0 ? { ExposedPorts: exposed } : {}),
      ...(Object.keys(labels).length > 0 ? { Labels: labels } : { Labels: undefined }),
    },
    rootfs: { type: "layers", diff_ids: [...(base?.rootfs.diff_ids ?? []), ...spec.layers.map(({ layer }) => layer.diffId)] },
    history: [...(base?.history ?? []), ...spec.layers.map(({ createdBy }) => ({ created: spec.created, created_by: createdBy, comment: "vox deploy build" }))],
  };
}

/**
 * The base's labels minus its `org.opencontainers.image.*` ones: those describe the base (its source, revision, url),
 * and on our image they would name the wrong project; the base is recorded as base.name and base.digest instead.
 */
function ownLabels(base: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(base).filter(([key]) => !key.startsWith(OCI_IMAGE_LABEL_PREFIX)));
}

/** The user's labels, refused where one contradicts an annotation we set (the config would disagree with the manifest). */
function checkedLabels(labels: Record<string, string>, annotations: Record<string, string>): Record<string, string> {
  for (const [key, value] of Object.entries(labels)) {
    if (Object.hasOwn(annotations, key) && annotations[key] !== value) {
      throw new VoxError("E_LABEL_CONFLICT", `Cannot set label ${key} = '${value}': vox sets it to '${annotations[key]}' (from git or [package]) on the manifest and config`, {
        hint: `Remove ${key} from [deploy] labels in Vox.toml, or change what it comes from ([package] or the git remote)`,
      });
    }
  }
  return labels;
}

/** Base `KEY=value` entries with ours applied: a key we set replaces the base's in place; new keys follow. */
function mergeEnv(base: readonly string[], ours: Record<string, string>): string[] {
  const remaining = new Map(Object.entries(ours));
  const merged = base.map((line) => {
    const key = line.split("=", 1)[0]!;
    if (!remaining.has(key)) return line;
    const value = remaining.get(key)!;
    remaining.delete(key);
    return `${key}=${value}`;
  });
  return [...merged, ...[...remaining].map(([key, value]) => `${key}=${value}`)];
}
