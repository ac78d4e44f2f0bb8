import assert from "node:assert/strict";
import { test } from "node:test";
import { assembleImage, assembleIndex, type BaseImage } from "./assemble.ts";
import { sha256Digest } from "./digest.ts";
import { MediaType } from "./media_types.ts";

const created = "2023-11-14T22:13:20Z";
const amd64 = { os: "linux", architecture: "amd64" };
const baseLayerDigest = sha256Digest("base layer");
const base: BaseImage = {
  manifestDigest: sha256Digest("base manifest"),
  manifest: { schemaVersion: 2, mediaType: MediaType.dockerManifest, config: { mediaType: MediaType.dockerConfig, digest: sha256Digest("c"), size: 1 }, layers: [{ mediaType: MediaType.dockerLayerGzip, digest: baseLayerDigest, size: 10 }] },
  config: {
    ...amd64,
    config: { Env: ["PATH=/bin", "LANG=C"], Cmd: ["sh"], Labels: { maintainer: "base" } },
    rootfs: { type: "layers", diff_ids: [sha256Digest("base diff")] },
    history: [{ created_by: "base" }],
  },
};
const decode = (bytes: Uint8Array) => JSON.parse(new TextDecoder().decode(bytes));

test("assembleImage() stacks our layers on the base's, in OCI media types, and applies the runtime fields", async () => {
  const layer = { descriptor: { mediaType: MediaType.ociLayerGzip, digest: sha256Digest("our layer"), size: 20 }, diffId: sha256Digest("our diff") };
  const { config, manifest } = assembleImage({
    platform: amd64,
    base,
    layers: [{ layer, createdBy: "copy app → /app" }],
    runtime: { entrypoint: ["/app/hello"], env: { PATH: "/app:/bin", GREETING: "hi" }, workdir: "/app" },
    annotations: { "org.opencontainers.image.title": "hello" },
    created,
  });
  const m = decode(manifest.bytes);
  assert.deepEqual(m.layers.map((l: { mediaType: string; digest: string }) => [l.mediaType, l.digest]), [[MediaType.ociLayerGzip, baseLayerDigest], [MediaType.ociLayerGzip, layer.descriptor.digest]]);
  assert.equal(m.config.digest, sha256Digest(config.bytes));
  assert.equal(manifest.descriptor.digest, sha256Digest(manifest.bytes));
  assert.deepEqual(manifest.descriptor.platform, amd64);
  const c = decode(config.bytes);
  assert.deepEqual(c.config.Env, ["PATH=/app:/bin", "LANG=C", "GREETING=hi"]);
  assert.deepEqual(c.config.Entrypoint, ["/app/hello"]);
  assert.equal(c.config.Cmd, undefined, "a new entrypoint drops the base's CMD");
  assert.deepEqual(c.config.Labels, { maintainer: "base", "org.opencontainers.image.title": "hello" });
  assert.deepEqual(c.rootfs.diff_ids, [sha256Digest("base diff"), layer.diffId]);
  assert.equal(c.history.length, 2);
  assert.equal(c.created, created);
});

test("assembleImage() refuses a base whose config is for another platform, and foreign layers", () => {
  assert.throws(() => assembleImage({ platform: { os: "linux", architecture: "arm64" }, base, layers: [], runtime: {}, annotations: {}, created }), (e: Error & { code?: string }) => e.code === "E_BASE_PLATFORM");
  const foreign = { ...base, manifest: { ...base.manifest, layers: [{ mediaType: MediaType.dockerForeignLayerGzip, digest: baseLayerDigest, size: 1 }] } };
  assert.throws(() => assembleImage({ platform: amd64, base: foreign, layers: [], runtime: {}, annotations: {}, created }), (e: Error & { code?: string }) => e.code === "E_BASE_LAYER");
});

test("assembleIndex() lists the manifests with their platforms and carries the annotations", () => {
  const image = assembleImage({ platform: amd64, layers: [], runtime: { cmd: ["/x"] }, annotations: {}, created });
  const index = assembleIndex([image.manifest.descriptor], { "org.opencontainers.image.version": "1.0.0" });
  const parsed = decode(index.bytes);
  assert.equal(parsed.mediaType, MediaType.ociIndex);
  assert.deepEqual(parsed.manifests[0].platform, amd64);
  assert.equal(parsed.annotations["org.opencontainers.image.version"], "1.0.0");
  assert.equal(index.descriptor.digest, sha256Digest(index.bytes));
});

test("assembleImage() drops the base's org.opencontainers.image.* labels, lets ours win, and refuses a user label contradicting an annotation", () => {
  const labelled: BaseImage = { ...base, config: { ...base.config, config: { ...base.config.config, Labels: { maintainer: "base", "org.opencontainers.image.source": "https://base.example", "org.opencontainers.image.revision": "abc", "org.opencontainers.image.url": "https://base.example" } } } };
  const spec = { platform: amd64, base: labelled, layers: [], annotations: { "org.opencontainers.image.source": "https://github.com/acme/hello" }, created };
  const { config } = assembleImage({ ...spec, runtime: { labels: { team: "web", "org.opencontainers.image.source": "https://github.com/acme/hello" } } });
  assert.deepEqual(decode(config.bytes).config.Labels, { maintainer: "base", team: "web", "org.opencontainers.image.source": "https://github.com/acme/hello" });
  assert.throws(
    () => assembleImage({ ...spec, runtime: { labels: { "org.opencontainers.image.source": "https://elsewhere.example" } } }),
    (e: Error & { code?: string }) => e.code === "E_LABEL_CONFLICT" && /https:\/\/elsewhere\.example/.test(e.message),
  );
});
