import { type Digest, formatReference, type Layout, parseReference, type Reference } from "../oci/mod.ts";
import { layoutBlobSource, type RegistryClient } from "../oci/remote/mod.ts";
import type { BuildResult } from "./build.ts";

/**
 * Pushes a build: blobs (HEAD first, mounted from the base's repository when it is on the same registry),
 * each platform manifest by digest, the index by the target's tag, then the SBOM and provenance as
 * referrers of the index (the OCI 1.1 API, or the `sha256-<hex>` tag where the registry has none).
 *
 * @example
 * ```ts
 * const pushed = await pushBuild(client, parseReference("ghcr.io/acme/hello:0.1.0"), result, layout, "docker.io/library/busybox:1.35");
 * pushed.reference; // "ghcr.io/acme/hello:0.1.0@sha256:…"
 * ```
 */
export async function pushBuild(client: RegistryClient, target: Reference, build: BuildResult, layout: Layout, baseReference?: string): Promise<{ reference: string; digest: Digest; referrers: string }> {
  const base = baseReference && baseReference !== "scratch" ? parseReference(baseReference) : undefined;
  // Layers go up from their files, never read whole.
  const source = layoutBlobSource(layout);
  const digest = await client.pushImage(target, {
    root: build.index,
    source,
    ...(base && base.registry === target.registry ? { mountFrom: base.repository } : {}),
  });
  const vias = new Set<string>();
  for (const referrer of build.referrers) {
    const pushed = await client.pushReferrer({ registry: target.registry, repository: target.repository }, referrer.bytes, { source });
    vias.add(pushed.via);
  }
  return { reference: formatReference({ ...target, digest }), digest, referrers: [...vias].join(", ") || "none" };
}
