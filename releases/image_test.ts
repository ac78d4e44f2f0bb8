import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { artifactManifest, canonicalJson, type Descriptor, type Layout, MediaType, openLayout, sha256Digest } from "../oci/mod.ts";
import { locateImage, pinnedImage } from "./image.ts";

/** A layout holding a two-platform index (named 1.0), a single-platform image (named solo) and an SBOM-like artifact. */
async function fixture(): Promise<{ layout: Layout; index: Descriptor; amd64: Descriptor; solo: Descriptor; artifact: Descriptor }> {
  const layout = await openLayout(join(mkdtempSync(join(tmpdir(), "vox-image-")), "oci"), { create: true });
  const put = async (value: unknown, mediaType: string): Promise<Descriptor> => {
    const bytes = canonicalJson(value);
    return { mediaType, digest: await layout.writeBlob(bytes), size: bytes.length };
  };
  const config = (arch: string) => put({ architecture: arch, os: "linux", rootfs: { type: "layers", diff_ids: [] } }, MediaType.ociConfig);
  const image = async (arch: string) => put({ schemaVersion: 2, mediaType: MediaType.ociManifest, config: await config(arch), layers: [] }, MediaType.ociManifest);
  const amd64 = await image("amd64");
  const arm64 = await image("arm64");
  const index = await put({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [{ ...amd64, platform: { os: "linux", architecture: "amd64" } }, { ...arm64, platform: { os: "linux", architecture: "arm64" } }] }, MediaType.ociIndex);
  const solo = await image("riscv64");
  const { manifest, blob } = artifactManifest(index, { artifactType: MediaType.cycloneDxJson, payload: new TextEncoder().encode("{}") });
  await layout.writeBlob(blob.bytes);
  const artifact = { ...manifest.descriptor, digest: await layout.writeBlob(manifest.bytes) };
  await layout.putIndexEntry(index, "1.0");
  await layout.putIndexEntry(solo, "solo");
  return { layout, index, amd64, solo, artifact };
}

test("pinnedImage() refuses a tag-only reference, saying how to pin it", () => {
  assert.throws(() => pinnedImage("127.0.0.1:5000/apps/hello:0.1.0", "--image"), (error: Error & { code?: string; hint?: string; exitCode?: number }) => {
    assert.equal(error.code, "E_IMAGE_NOT_PINNED");
    assert.equal(error.exitCode, 2);
    assert.equal(error.message, "Cannot release image '127.0.0.1:5000/apps/hello:0.1.0' (--image): it is not pinned by digest, and a tag can later name other content");
    assert.match(error.hint!, /^Name it by digest: 127\.0\.0\.1:5000\/apps\/hello@sha256:<hex>/);
    return true;
  });
  const digest = sha256Digest("x");
  assert.deepEqual(pinnedImage(`ghcr.io/acme/app:1@${digest}`, "--image"), { registry: "ghcr.io", repository: "acme/app", tag: "1", digest });
});

test("locateImage() finds an index or a single-platform image in a layout, without a registry", async () => {
  const { layout, index, solo } = await fixture();
  assert.deepEqual(await locateImage(pinnedImage(`localhost/hello@${index.digest}`, "--image"), { layouts: [layout] }), { descriptor: index, layout });
  assert.deepEqual((await locateImage(pinnedImage(`localhost/hello@${solo.digest}`, "--image"), { layouts: [layout] })).descriptor, solo);
});

test("locateImage() refuses a platform manifest of a multi-platform image, naming the index to release instead", async () => {
  const { layout, index, amd64 } = await fixture();
  await assert.rejects(
    locateImage(pinnedImage(`localhost/hello@${amd64.digest}`, "--image"), { layouts: [layout] }),
    new RegExp(`it is the linux/amd64 manifest of the multi-platform image ${index.digest}, and a Release pins the index`),
  );
});

test("locateImage() refuses an artifact, and names where it looked for a digest it cannot find", async () => {
  const { layout, artifact } = await fixture();
  await assert.rejects(locateImage(pinnedImage(`localhost/hello@${artifact.digest}`, "--image"), { layouts: [layout] }), /it is an artifact \(application\/vnd\.cyclonedx\+json\), not an image/);
  const missing = sha256Digest("missing");
  await assert.rejects(locateImage(pinnedImage(`localhost/hello@${missing}`, "--image"), { layouts: [layout] }), new RegExp(`${missing} is not in ${layout.dir}`));
});
