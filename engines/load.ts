// Making an image that exists only in an OCI layout available to Podman under its pinned name `repo@sha256:…`,
// so descriptors that pin the index digest find it without a registry.

import { randomBytes } from "node:crypto";
import { mkdir, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { VoxError } from "../errors/mod.ts";
import type { Digest } from "../oci/digest.ts";
import { openLayout } from "../oci/layout.ts";
import type { EngineDeps } from "./mod.ts";

/**
 * Loads `image` (`repo@sha256:<index or manifest digest>`) from `layoutDir` into Podman's store: the layout's blobs
 * are read through a one-entry layout beside them, podman picks the host's platform, and the image is named
 * `repo:sha256-<hex>` so podman resolves `repo@sha256:<hex>` to it (podman records the digest it pulled).
 *
 * @example
 * ```ts
 * await loadIntoPodman(".vox/oci", "localhost/hello@sha256:…", deps);
 * ```
 */
export async function loadIntoPodman(layoutDir: string, image: string, deps: EngineDeps): Promise<void> {
  const [repo, digest] = image.split("@") as [string, Digest];
  const layout = await openLayout(layoutDir);
  // Read (and hash-checked) first: a corrupt blob is refused here, not half-loaded.
  const bytes = await layout.readBlob(digest);
  const top = JSON.parse(new TextDecoder().decode(bytes)) as { mediaType?: unknown };
  const mediaType = typeof top.mediaType === "string" ? top.mediaType : "application/vnd.oci.image.index.v1+json";
  const staging = await referenceSafeDir();
  try {
    await symlink(resolve(layoutDir, "blobs"), join(staging, "blobs"));
    await writeFile(join(staging, "oci-layout"), '{"imageLayoutVersion":"1.0.0"}');
    await writeFile(join(staging, "index.json"), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType, digest, size: bytes.byteLength }] }));
    const pulled = await podman(["pull", "--quiet", `oci:${staging}`], deps);
    const id = pulled.trim().split("\n").at(-1)!;
    await podman(["tag", id, `${repo}:${digest.replace(":", "-")}`], deps);
    // podman names an image pulled from a layout after the layout's path; that name means nothing once it is gone.
    await podman(["untag", id, `localhost${staging}:latest`], deps);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  const found = await deps.spawner.run(["podman", "image", "exists", image]);
  if (found.code !== 0) {
    throw new VoxError("E_ENGINE_LOAD", `Cannot load ${image} into Podman: after the load podman does not find it by that digest`, {
      hint: "Push the image to a registry (vox deploy build --push <ref>) and use that reference",
    });
  }
}

async function podman(args: readonly string[], deps: EngineDeps): Promise<string> {
  const result = await deps.spawner.run(["podman", ...args]);
  if (result.code !== 0) {
    throw new VoxError("E_ENGINE_LOAD", `Cannot load the image into Podman: podman ${args[0]} exited ${result.code}: ${result.stderr.trim()}`, { hint: "Run the podman command above by hand to see what it needs" });
  }
  return result.stdout;
}

/** podman turns a layout's path into an image name, so every path component must be a valid reference component. */
async function referenceSafeDir(): Promise<string> {
  const parent = /^(\/[a-z0-9]+(?:[._-][a-z0-9]+)*)+$/.test(tmpdir()) ? tmpdir() : "/tmp";
  const dir = join(parent, `vox-load-${randomBytes(8).toString("hex")}`);
  await mkdir(dir, { mode: 0o700 });
  return dir;
}
