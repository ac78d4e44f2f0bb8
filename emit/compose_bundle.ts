// Compose bundles: an emitted Compose file published as an OCI artifact in the format `docker compose publish`
// writes (artifactType application/vnd.docker.compose.project, one application/vnd.docker.compose.file+yaml layer).

import { parse } from "yaml";
import { VoxError } from "../errors/mod.ts";
import { type Descriptor, type Digest, type Manifest, MediaType, parseDocument, type Reference, sha256Digest } from "../oci/mod.ts";
import type { RegistryClient, Repository } from "../oci/remote/mod.ts";
import { isPinnedImage } from "./mod.ts";

/** Docker Compose's names (docker/compose internal/oci/push.go), so `docker compose -f oci://…` reads our bundles. */
export const COMPOSE_PROJECT_ARTIFACT_TYPE = "application/vnd.docker.compose.project";
export const COMPOSE_FILE_MEDIA_TYPE = "application/vnd.docker.compose.file+yaml";
/** The config media type of Docker's OCI 1.0 form, which readers fall back to when a manifest has no artifactType. */
export const COMPOSE_EMPTY_CONFIG_MEDIA_TYPE = "application/vnd.docker.compose.config.empty.v1+json";
const FILE_ANNOTATION = "com.docker.compose.file";
const VERSION_ANNOTATION = "com.docker.compose.version";
const EMPTY = new TextEncoder().encode("{}");
/** A Compose file larger than this is not one vox emitted; refused unread when a bundle names it. */
const MAX_COMPOSE_FILE_BYTES = 1 << 20;

export interface ComposeBundle {
  /** The manifest's exact bytes (pushed by tag, read back byte for byte). */
  manifest: Uint8Array;
  digest: Digest;
  /** The blobs the manifest names: the empty config and the Compose file. */
  blobs: ReadonlyArray<{ descriptor: Descriptor; bytes: Uint8Array }>;
}

/**
 * The OCI 1.1 artifact `docker compose publish` writes for one Compose file: the empty config, the file as the one
 * layer (annotated with its name and the publisher's version), both also inlined as `data` as Docker's Go types
 * serialise them, and `org.opencontainers.image.created`. Keys in Docker's (Go struct) order. Refuses a file
 * that cannot travel (see `composeBundleProblems`).
 *
 * @example
 * ```ts
 * const bundle = composeBundle({ path: "compose.yaml", content }, { created: "2025-01-01T00:00:00Z", publisher: "vox 0.2.0" });
 * ```
 */
export function composeBundle(file: { path: string; content: string }, options: { created: string; publisher: string }): ComposeBundle {
  const problems = composeBundleProblems(file.content);
  if (problems.length > 0) {
    throw new VoxError("E_COMPOSE_BUNDLE", `Cannot publish ${file.path} as a Compose bundle:\n${problems.map((p) => `  - ${p}`).join("\n")}`, {
      hint: "A bundle must run anywhere from its reference: use named volumes, images pinned by digest and no local files",
    });
  }
  const bytes = new TextEncoder().encode(file.content);
  const config = { mediaType: MediaType.ociEmpty, digest: sha256Digest(EMPTY), size: EMPTY.length, data: Buffer.from(EMPTY).toString("base64") };
  const layer = {
    mediaType: COMPOSE_FILE_MEDIA_TYPE,
    digest: sha256Digest(bytes),
    size: bytes.length,
    annotations: { [FILE_ANNOTATION]: file.path, [VERSION_ANNOTATION]: options.publisher },
    data: Buffer.from(bytes).toString("base64"),
  };
  const manifest = { schemaVersion: 2, mediaType: MediaType.ociManifest, artifactType: COMPOSE_PROJECT_ARTIFACT_TYPE, config, layers: [layer], annotations: { "org.opencontainers.image.created": options.created } };
  const manifestBytes = new TextEncoder().encode(JSON.stringify(manifest));
  return {
    manifest: manifestBytes,
    digest: sha256Digest(manifestBytes),
    blobs: [
      { descriptor: { mediaType: config.mediaType, digest: config.digest, size: config.size }, bytes: EMPTY },
      { descriptor: { mediaType: layer.mediaType, digest: layer.digest, size: layer.size }, bytes },
    ],
  };
}

/**
 * What in a Compose file cannot travel in a bundle, after Docker's publish checks and the seed's caveats: a bind
 * mount (a host path), a local `include` or `env_file`, a service with only `build`, and an image not pinned by
 * digest (a tag can later name other content).
 *
 * @example
 * ```ts
 * composeBundleProblems("services:\n  web:\n    build: .\n"); // ["service web has only a build section: …"]
 * ```
 */
export function composeBundleProblems(content: string): string[] {
  const document = parse(content) as Record<string, unknown> | null;
  const problems: string[] = [];
  const include = document?.include;
  if (include !== undefined) problems.push("it has an `include`: a local file does not travel with the bundle");
  const services = (document?.services ?? {}) as Record<string, Record<string, unknown>>;
  for (const [name, service] of Object.entries(services)) {
    const image = service?.image;
    if (typeof image !== "string") problems.push(`service ${name} has ${service?.build === undefined ? "no image" : "only a build section"}: a bundle runs images, it builds nothing`);
    else if (!isPinnedImage(image)) problems.push(`service ${name}: image ${image} is not pinned by digest (repo@sha256:<hex>)`);
    if (service?.env_file !== undefined) problems.push(`service ${name} reads an env_file: a local file does not travel with the bundle`);
    for (const volume of Array.isArray(service?.volumes) ? service.volumes : []) {
      const bind = typeof volume === "string" ? /^[.~/]/.test(volume) : (volume as { type?: unknown })?.type === "bind";
      if (bind) problems.push(`service ${name} relies on a bind mount (${typeof volume === "string" ? volume : JSON.stringify(volume)}): use a named volume`);
    }
  }
  return problems;
}

/**
 * Pushes a bundle as `docker compose publish` does: the blobs, then the manifest by the target's tag (or digest).
 *
 * @example
 * ```ts
 * const digest = await pushComposeBundle(client, parseReference("ghcr.io/acme/hello-compose:1"), bundle);
 * ```
 */
export async function pushComposeBundle(client: Pick<RegistryClient, "pushBlob" | "pushManifest">, target: Reference, bundle: ComposeBundle): Promise<Digest> {
  const repo: Repository = { registry: target.registry, repository: target.repository };
  for (const blob of bundle.blobs) await client.pushBlob(repo, blob.descriptor, { read: async () => blob.bytes });
  return client.pushManifest(target, { bytes: bundle.manifest, mediaType: MediaType.ociManifest });
}

/**
 * The Compose files a published bundle holds, read through `client` (every read verified by digest): Docker's
 * artifact (OCI 1.1 artifactType, or its OCI 1.0 config type), whose layers are Compose files named by annotation.
 *
 * @example
 * ```ts
 * const { files, digest } = await readComposeBundle(client, parseReference("ghcr.io/acme/hello-compose:1"));
 * ```
 */
export async function readComposeBundle(client: Pick<RegistryClient, "getManifest" | "getBlob">, reference: Reference): Promise<{ digest: Digest; files: Array<{ path: string; content: string }> }> {
  const fetched = await client.getManifest(reference);
  const what = `Compose bundle ${reference.registry}/${reference.repository}@${fetched.digest}`;
  const document = parseDocument(fetched.bytes, fetched.mediaType, what);
  const manifest: Manifest | undefined = document.kind === "manifest" ? document.manifest : undefined;
  const type = manifest?.artifactType ?? manifest?.config.mediaType;
  if (!manifest || (type !== COMPOSE_PROJECT_ARTIFACT_TYPE && type !== COMPOSE_EMPTY_CONFIG_MEDIA_TYPE)) {
    throw new VoxError("E_COMPOSE_BUNDLE", `Cannot run ${what}: it is ${manifest ? `a ${type} artifact` : "an image index"}, not a Compose bundle (${COMPOSE_PROJECT_ARTIFACT_TYPE})`, {
      hint: "Pass the reference `vox deploy emit --target compose --push` (or docker compose publish) wrote",
    });
  }
  const files = [];
  for (const [i, layer] of manifest.layers.entries()) {
    if (layer.mediaType !== COMPOSE_FILE_MEDIA_TYPE) throw new VoxError("E_COMPOSE_BUNDLE", `Cannot run ${what}: layer ${i} is ${layer.mediaType}, not a Compose file`, { hint: "vox runs bundles of Compose files only (no env files)" });
    if (layer.size > MAX_COMPOSE_FILE_BYTES) throw new VoxError("E_COMPOSE_BUNDLE", `Cannot run ${what}: its Compose file ${layer.digest} is ${layer.size} bytes`, { hint: "Refusing an oversized Compose file" });
    const name = layer.annotations?.[FILE_ANNOTATION] ?? "compose.yaml";
    if (!/^[\w.-]+$/.test(name) || name.startsWith(".")) throw new VoxError("E_COMPOSE_BUNDLE", `Cannot run ${what}: layer ${i} names its file '${name}'`, { hint: "A bundle's file names are plain names such as compose.yaml" });
    const content = new TextDecoder("utf-8", { fatal: true }).decode(await client.getBlob(reference, layer));
    const problems = composeBundleProblems(content);
    if (problems.length > 0) throw new VoxError("E_COMPOSE_BUNDLE", `Cannot run ${what}: ${name}: ${problems.join("; ")}`, { hint: "vox runs only bundles whose images are pinned and which need no local files" });
    files.push({ path: name, content });
  }
  if (files.length === 0) throw new VoxError("E_COMPOSE_BUNDLE", `Cannot run ${what}: it holds no Compose file`);
  return { digest: fetched.digest, files };
}
