// Deploy descriptors from a Release: Compose, Kubernetes, Podman Quadlet, plain systemd and a Firecracker VM config,
// one pure emitter per target, and the mapping (data) that says how each manifest field is written or why not.

import type { PlatformManifest } from "../platform/types.ts";
import { composeFiles } from "./compose.ts";
import { firecrackerFiles } from "./firecracker.ts";
import { kubernetesFiles } from "./kubernetes.ts";
import { type EmitTarget, notExpressibleFields } from "./mapping.ts";
import { quadletFiles } from "./quadlet.ts";
import { systemdFiles } from "./systemd.ts";

export { EMIT_MAPPING, EMIT_TARGETS, type EmitTarget, type FieldMapping, HARDENING, renderMappingTable, type Rule } from "./mapping.ts";
export { podmanRunArgs, PODMAN } from "./systemd.ts";
export { COMPOSE_FILE_MEDIA_TYPE, COMPOSE_PROJECT_ARTIFACT_TYPE, type ComposeBundle, composeBundle, composeBundleProblems, pushComposeBundle, readComposeBundle } from "./compose_bundle.ts";

export interface EmitInput {
  /** `repo@sha256:…`: descriptors pin the image by digest, never by tag. */
  image: string;
  manifest: PlatformManifest;
}

export interface EmittedFile {
  /** Relative, forward slashes. */
  path: string;
  content: string;
}

export interface NotExpressible {
  /** The field's path in the manifest, e.g. `rollout.max_surge` or `ports[0].app_protocol`. */
  field: string;
  why: string;
}

/** Whether `image` is `repo@sha256:<64 hex>`, the only form descriptors carry. */
export function isPinnedImage(image: string): boolean {
  return /^[^@\s]+@sha256:[0-9a-f]{64}$/.test(image);
}

const EMITTERS: Readonly<Record<EmitTarget, (image: string, manifest: PlatformManifest) => EmittedFile[]>> = {
  compose: composeFiles,
  kubernetes: kubernetesFiles,
  quadlet: quadletFiles,
  systemd: systemdFiles,
  firecracker: firecrackerFiles,
};

/**
 * The descriptor files for `target`, and every field of the manifest that target cannot express (never dropped
 * silently). Pure: the same input gives the same bytes.
 *
 * @example
 * ```ts
 * const { files, notExpressible } = emitDescriptors("compose", { image: "registry.example/hello@sha256:…", manifest });
 * files[0].path; // "compose.yaml"
 * ```
 */
export function emitDescriptors(target: EmitTarget, input: EmitInput): { files: EmittedFile[]; notExpressible: NotExpressible[] } {
  if (!isPinnedImage(input.image)) throw new TypeError(`Cannot emit descriptors for ${input.image}: the image must be pinned as repo@sha256:<64 hex>`);
  return { files: EMITTERS[target](input.image, input.manifest), notExpressible: notExpressibleFields(target, input.manifest) };
}
