import assert from "node:assert/strict";
import { test } from "node:test";
import { canonicalJson, type Descriptor, MediaType, type Reference, sha256Digest } from "../oci/mod.ts";
import { type ImageSource, mirroredSource, parseMirrors, resolveBase } from "./base.ts";

const manifestDigest = (arch: string) => sha256Digest(`manifest ${arch}`);
const index = canonicalJson({
  schemaVersion: 2,
  mediaType: MediaType.ociIndex,
  manifests: ["amd64", "arm64"].map((arch) => ({ mediaType: MediaType.ociManifest, digest: manifestDigest(arch), size: 1, platform: { os: "linux", architecture: arch, ...(arch === "arm64" ? { variant: "v8" } : {}) } })),
});

function source(seen: Reference[] = []): ImageSource {
  return {
    getManifest: async (ref) => {
      seen.push(ref);
      return { bytes: index, mediaType: MediaType.ociIndex, digest: sha256Digest(index) };
    },
    getBlob: async (_repo: unknown, _descriptor: Descriptor) => new Uint8Array(),
  };
}

test("resolveBase() pins the index digest and one manifest per wanted platform (arm64 matches arm64/v8)", async () => {
  const base = await resolveBase("docker.io/library/busybox:1.35", [{ os: "linux", architecture: "amd64" }, { os: "linux", architecture: "arm64" }], source());
  assert.equal(base.digest, sha256Digest(index));
  assert.deepEqual(base.platforms, [{ platform: "linux/amd64", digest: manifestDigest("amd64") }, { platform: "linux/arm64", digest: manifestDigest("arm64") }]);
});

test("resolveBase() names the platforms a base offers when one is missing", async () => {
  await assert.rejects(resolveBase("busybox:1.35", [{ os: "linux", architecture: "riscv64" }], source()), (e: Error & { code?: string }) => e.code === "E_BASE_PLATFORM" && /offers linux\/amd64, linux\/arm64\/v8/.test(e.message));
});

test("parseMirrors() and mirroredSource(): a mirrored registry is read from its mirror (http:// marks plain HTTP), others are left alone", async () => {
  const seen: Reference[] = [];
  const mirrors = parseMirrors("docker.io=http://127.0.0.1:5000, ghcr.io=mirror.internal");
  assert.deepEqual(mirrors.get("docker.io"), { host: "127.0.0.1:5000", plainHttp: true });
  assert.deepEqual(mirrors.get("ghcr.io"), { host: "mirror.internal", plainHttp: false });
  const mirrored = mirroredSource(source(seen), mirrors);
  await mirrored.getManifest({ registry: "docker.io", repository: "library/busybox", tag: "1.35" });
  await mirrored.getManifest({ registry: "quay.io", repository: "a/b", tag: "1" });
  assert.deepEqual(seen.map((r) => r.registry), ["127.0.0.1:5000", "quay.io"]);
});

test("parseMirrors() refuses entries that are not registry=host, as a usage error", () => {
  for (const bad of ["docker.io", "docker.io=ftp://x", "docker.io=a=b", "docker.io=http://host/path"]) {
    assert.throws(() => parseMirrors(bad), (e: Error & { code?: string; exitCode?: number }) => e.code === "E_MIRRORS" && e.exitCode === 2, bad);
  }
  assert.equal(parseMirrors(undefined).size, 0);
});
