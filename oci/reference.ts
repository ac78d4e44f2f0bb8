import { VoxError } from "../errors/mod.ts";
import { type Digest, parseDigest } from "./digest.ts";

/** A parsed image reference: where (registry, repository) and which (tag and/or digest). */
export interface Reference {
  /** Registry host as written, with port (`docker.io` for Docker Hub names). */
  registry: string;
  repository: string;
  tag?: string;
  digest?: Digest;
}

const DOCKER_HUB = "docker.io";
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const HOST = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(?::\d{1,5})?$/;

/**
 * Parses `[registry[:port]/]repository[:tag][@digest]` the way the distribution project does: the first
 * component is a registry when it has a dot or a port or is `localhost`; a bare name is a Docker Hub
 * `library/` image.
 *
 * @example
 * ```ts
 * parseReference("localhost:5000/team/app:1.0"); // { registry: "localhost:5000", repository: "team/app", tag: "1.0" }
 * parseReference("busybox").repository; // "library/busybox"
 * ```
 */
export function parseReference(text: string): Reference {
  const refuse = (why: string): never => {
    throw new VoxError("E_REFERENCE", `Cannot use image reference '${text}': ${why}`, {
      hint: "Write it as registry/repository:tag or registry/repository@sha256:<hex>, e.g. ghcr.io/acme/app:1.0",
      exitCode: 2,
    });
  };
  if (text.length === 0 || text.length > 512 || /\s/.test(text)) refuse("it is empty, too long or has spaces");
  let rest = text;
  let digest: Digest | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    try {
      digest = parseDigest(rest.slice(at + 1)).digest;
    } catch {
      refuse(`'${rest.slice(at + 1)}' is not a valid digest`);
    }
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf("/");
  const colon = rest.lastIndexOf(":");
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) refuse(`tag '${tag}' is not valid (letters, digits, '_', '.', '-'; at most 128)`);
  }
  const components = rest.split("/");
  let registry = DOCKER_HUB;
  const first = components[0]!;
  if (components.length > 1 && (first.includes(".") || first.includes(":") || first === "localhost" || first.startsWith("["))) {
    registry = components.shift()!;
    if (!HOST.test(registry)) refuse(`registry '${registry}' is not a host name with an optional port`);
  }
  if (components.length === 0 || components.some((c) => !PATH_COMPONENT.test(c))) {
    refuse("repository path components must be lowercase letters and digits, separated by '.', '_', '__' or '-'");
  }
  if (registry === DOCKER_HUB && components.length === 1) components.unshift("library");
  return { registry, repository: components.join("/"), ...(tag === undefined ? {} : { tag }), ...(digest === undefined ? {} : { digest }) };
}

/**
 * The canonical text of a reference; `registry/repository:tag@digest` with only the parts present.
 *
 * @example
 * ```ts
 * formatReference({ registry: "ghcr.io", repository: "a/b", tag: "1" }); // "ghcr.io/a/b:1"
 * ```
 */
export function formatReference(ref: Reference): string {
  return `${ref.registry}/${ref.repository}${ref.tag === undefined ? "" : `:${ref.tag}`}${ref.digest === undefined ? "" : `@${ref.digest}`}`;
}

/** The host that serves the distribution API for a registry name (Docker Hub's API is not on docker.io). */
export function registryApiHost(registry: string): string {
  return registry === DOCKER_HUB ? "registry-1.docker.io" : registry;
}
