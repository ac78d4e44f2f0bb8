import assert from "node:assert/strict";
import { test } from "node:test";
import { composeBundle, composeBundleProblems } from "./compose_bundle.ts";

const pinned = `registry.example/app@sha256:${"a".repeat(64)}`;

test("composeBundleProblems() names bind mounts, includes, env files, build-only services and unpinned images", () => {
  const file = `include:
  - ./other.yaml
services:
  web:
    image: registry.example/app:1.0
    env_file: .env
    volumes:
      - ./data:/data
      - { type: bind, source: /srv, target: /srv }
      - named:/cache
  builder:
    build: .
`;
  assert.deepEqual(composeBundleProblems(file), [
    "it has an `include`: a local file does not travel with the bundle",
    "service web: image registry.example/app:1.0 is not pinned by digest (repo@sha256:<hex>)",
    "service web reads an env_file: a local file does not travel with the bundle",
    "service web relies on a bind mount (./data:/data): use a named volume",
    'service web relies on a bind mount ({"type":"bind","source":"/srv","target":"/srv"}): use a named volume',
    "service builder has only a build section: a bundle runs images, it builds nothing",
  ]);
  assert.deepEqual(composeBundleProblems(`services:\n  web:\n    image: ${pinned}\n    volumes: [{ type: volume, source: data, target: /data }]\nvolumes:\n  data: {}\n`), []);
});

test("composeBundle() writes Docker's OCI 1.1 compose artifact, and refuses a file that cannot travel before building anything", () => {
  const content = `services:\n  web:\n    image: ${pinned}\n`;
  const bundle = composeBundle({ path: "compose.yaml", content }, { created: "1970-01-01T00:00:00Z", publisher: "vox 0.0.0" });
  const manifest = JSON.parse(new TextDecoder().decode(bundle.manifest));
  assert.equal(manifest.artifactType, "application/vnd.docker.compose.project");
  assert.equal(manifest.layers[0].annotations["com.docker.compose.file"], "compose.yaml");
  assert.equal(Buffer.from(manifest.layers[0].data, "base64").toString(), content);
  assert.deepEqual(bundle.blobs.map((b) => b.descriptor.digest), [manifest.config.digest, manifest.layers[0].digest]);
  assert.throws(() => composeBundle({ path: "compose.yaml", content: "services:\n  web:\n    build: .\n" }, { created: "x", publisher: "y" }), /^VoxError: Cannot publish compose\.yaml as a Compose bundle:\n {2}- service web has only a build section/);
});
