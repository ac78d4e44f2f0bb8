// The registry client against the real CNCF distribution registry (2.8.2) on loopback, plain and with token auth;
// skopeo is the independent oracle for what landed in the registry.
import assert from "node:assert/strict";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { gzipDeterministic, tarBytes } from "../archive/mod.ts";
import type { Fetch } from "../download/mod.ts";
import { mapEnv, nodeSpawner } from "../io/mod.ts";
import { canonicalJson, type Descriptor, type Digest, MediaType, sha256Digest } from "../oci/mod.ts";
import {
  type BlobSource,
  createRegistryClient,
  dockerConfigCredentials,
  type RegistryClientOptions,
  RegistryError,
  type RegistryEvent,
  referrersTag,
  staticCredentials,
} from "../oci/remote/mod.ts";
import { runAsync, tempDir } from "./support/helpers.ts";
import { type RunningRegistry, startRegistry, TOKEN_PASSWORD, TOKEN_USER } from "./support/registry.ts";

interface BuiltImage {
  root: Descriptor;
  manifest: Descriptor;
  config: Descriptor;
  layer: Descriptor;
  source: BlobSource & { blobs: Map<string, Uint8Array> };
}

/** A one-platform image built by hand: config, one gzip layer, manifest, and an index over it. */
function buildImage(label: string): BuiltImage {
  const blobs = new Map<string, Uint8Array>();
  const add = (mediaType: string, bytes: Uint8Array, extra: Partial<Descriptor> = {}): Descriptor => {
    const digest = sha256Digest(bytes);
    blobs.set(digest, bytes);
    return { mediaType, digest, size: bytes.byteLength, ...extra };
  };
  const tar = tarBytes([{ name: "hello.txt", type: "file", mode: 0o644, mtime: 0, data: new TextEncoder().encode(`hello from ${label}\n`) }]);
  const layer = add(MediaType.ociLayerGzip, gzipDeterministic(tar));
  const config = add(
    MediaType.ociConfig,
    canonicalJson({ architecture: "amd64", os: "linux", config: { Labels: { label } }, rootfs: { type: "layers", diff_ids: [sha256Digest(tar)] } }),
  );
  const manifest = add(MediaType.ociManifest, canonicalJson({ schemaVersion: 2, mediaType: MediaType.ociManifest, config, layers: [layer] }), {
    platform: { os: "linux", architecture: "amd64" },
  });
  const root = add(MediaType.ociIndex, canonicalJson({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [manifest] }));
  return { root, manifest, config, layer, source: { blobs, readBlob: async (digest) => blobs.get(digest) ?? Promise.reject(new Error(`no blob ${digest}`)) } };
}

/** Global fetch with every request recorded: the client only ever sees it through the seam. */
function recordingFetch(): { fetch: Fetch; calls: { method: string; url: string }[] } {
  const calls: { method: string; url: string }[] = [];
  return { calls, fetch: (url, init) => (calls.push({ method: init.method ?? "GET", url }), fetch(url, init)) };
}

function client(registry: RunningRegistry, options: Partial<RegistryClientOptions> & { events?: RegistryEvent[] } = {}) {
  const recorded = recordingFetch();
  const { events, ...rest } = options;
  const instance = createRegistryClient({
    fetch: recorded.fetch,
    insecure: [registry.host],
    retry: { attempts: 2, sleep: async () => {} },
    ...(events ? { onEvent: (e) => events.push(e) } : {}),
    ...rest,
  });
  return { client: instance, calls: recorded.calls };
}

const blobWrites = (calls: { method: string; url: string }[]) => calls.filter((c) => c.method !== "GET" && c.method !== "HEAD" && c.url.includes("/blobs/uploads/"));

async function skopeo(args: string[]): Promise<string> {
  const result = await runAsync("skopeo", args, { env: { ...process.env, HOME: tempDir("skopeo-home") } });
  assert.equal(result.status, 0, `skopeo ${args.join(" ")} failed: ${result.stderr}`);
  return result.stdout;
}

/** skopeo's view of a manifest, raw: the bytes whose digest the registry serves. */
async function skopeoRawDigest(registry: RunningRegistry, ref: string, creds?: string): Promise<string> {
  const raw = await skopeo(["inspect", "--raw", "--tls-verify=false", ...(creds ? ["--creds", creds] : []), `docker://${registry.host}/${ref}`]);
  return sha256Digest(raw);
}

/** Adds the registry log to a failing test's error: the log usually says why. */
function withLogs(registry: () => RunningRegistry, body: () => Promise<void>): () => Promise<void> {
  return async () => {
    try {
      await body();
    } catch (error) {
      if (error instanceof Error) error.message += `\n--- registry log (tail) ---\n${registry().logs().split("\n").slice(-40).join("\n")}`;
      throw error;
    }
  };
}

describe("registry client against docker-registry 2.8.2 without auth", () => {
  let registry: RunningRegistry;
  before(async () => {
    registry = await startRegistry();
  });
  after(() => registry?.stop());
  const it = (name: string, body: () => Promise<void>) => test(name, withLogs(() => registry, body));

  it("pushImage() pushes blobs, the platform manifest and the index; skopeo sees the same index digest", async () => {
    const image = buildImage("plain");
    const events: RegistryEvent[] = [];
    const { client: c } = client(registry, { events });
    const digest = await c.pushImage({ registry: registry.host, repository: "vox/app", tag: "1.0" }, { root: image.root, source: image.source });
    assert.equal(digest, image.root.digest);
    assert.equal(await skopeoRawDigest(registry, "vox/app:1.0"), image.root.digest);
    assert.equal(await skopeoRawDigest(registry, `vox/app@${image.manifest.digest}`), image.manifest.digest);
    assert.deepEqual(events.filter((e) => e.kind === "blob").map((e) => e.kind === "blob" && e.outcome), ["uploaded", "uploaded"]);
    const fetched = await c.getManifest({ registry: registry.host, repository: "vox/app", tag: "1.0" });
    assert.equal(fetched.digest, image.root.digest);
    assert.equal(fetched.mediaType, MediaType.ociIndex);
    assert.equal(fetched.document.kind, "index");
  });

  it("pushImage() of the same image again uploads nothing: every blob is a HEAD hit", async () => {
    const image = buildImage("again");
    const target = { registry: registry.host, repository: "vox/again", tag: "1" };
    await client(registry).client.pushImage(target, { root: image.root, source: image.source });
    const events: RegistryEvent[] = [];
    const second = client(registry, { events });
    await second.client.pushImage(target, { root: image.root, source: image.source });
    assert.deepEqual(blobWrites(second.calls), []);
    assert.deepEqual(events.flatMap((e) => (e.kind === "blob" ? [e.outcome] : [])), ["exists", "exists"]);
  });

  it("pushImage() with mountFrom mounts the blobs from another repository instead of uploading them", async () => {
    const image = buildImage("mount");
    await client(registry).client.pushImage({ registry: registry.host, repository: "vox/base", tag: "1" }, { root: image.root, source: image.source });
    const events: RegistryEvent[] = [];
    const mounting = client(registry, { events });
    await mounting.client.pushImage({ registry: registry.host, repository: "vox/derived", tag: "1" }, { root: image.root, source: image.source, mountFrom: "vox/base" });
    assert.deepEqual(events.flatMap((e) => (e.kind === "blob" ? [e.outcome] : [])), ["mounted", "mounted"]);
    assert.ok(blobWrites(mounting.calls).every((c) => c.method === "POST" && c.url.includes("mount=")));
    assert.equal(await skopeoRawDigest(registry, "vox/derived:1"), image.root.digest);
  });

  it("pushBlob() falls back to chunked PATCH uploads when the registry refuses the monolithic PUT", async () => {
    const image = buildImage("chunked");
    const calls: { method: string; range: string | null }[] = [];
    // distribution accepts monolithic uploads; this shim plays a proxy with a small body limit in front of it.
    const refusingFetch: Fetch = (url, init) => {
      const headers = new Headers(init.headers);
      calls.push({ method: init.method ?? "GET", range: headers.get("content-range") });
      if (init.method === "PUT" && url.includes("/blobs/uploads/") && init.body) return Promise.resolve(new Response("too large", { status: 413 }));
      return fetch(url, init);
    };
    const events: RegistryEvent[] = [];
    const c = createRegistryClient({ fetch: refusingFetch, insecure: [registry.host], chunkSize: 100, onEvent: (e) => events.push(e) });
    const repo = { registry: registry.host, repository: "vox/chunked" };
    const outcome = await c.pushBlob(repo, image.layer, { read: async () => image.source.blobs.get(image.layer.digest)! });
    assert.equal(outcome, "uploaded");
    const patches = calls.filter((call) => call.method === "PATCH");
    assert.equal(patches.length, Math.ceil(image.layer.size / 100));
    assert.equal(patches[0]!.range, "0-99");
    assert.deepEqual(events.flatMap((e) => (e.kind === "blob" ? [e.upload] : [])), ["chunked"]);
    assert.deepEqual(await c.getBlob(repo, image.layer), image.source.blobs.get(image.layer.digest));
  });

  it("getBlob() refuses a blob whose stored bytes were corrupted on disk", async () => {
    const image = buildImage("corrupt");
    const repo = { registry: registry.host, repository: "vox/corrupt" };
    const { client: c } = client(registry);
    await c.pushImage({ ...repo, tag: "1" }, { root: image.root, source: image.source });
    assert.deepEqual(await c.getBlob(repo, image.config), image.source.blobs.get(image.config.digest));
    const hex = image.layer.digest.slice("sha256:".length);
    const data = join(registry.storage, "docker/registry/v2/blobs/sha256", hex.slice(0, 2), hex, "data");
    const bytes = readFileSync(data);
    bytes[bytes.length - 1]! ^= 0xff;
    writeFileSync(data, bytes);
    await assert.rejects(c.getBlob(repo, image.layer), (error: Error & { code?: string }) => error.code === "E_DIGEST_MISMATCH");
    await assert.rejects(c.getBlob(repo, { ...image.layer, size: image.layer.size - 1 }), (error: Error & { code?: string }) => error.code === "E_BLOB_SIZE");
  });

  it("pushReferrer() on 2.8.2 falls back to the sha256-<hex> tag index, and listReferrers() finds it there", async () => {
    const image = buildImage("referred");
    const repo = { registry: registry.host, repository: "vox/referred" };
    const { client: c } = client(registry);
    await c.pushImage({ ...repo, tag: "1" }, { root: image.root, source: image.source });
    const sbom = artifact(image.root, MediaType.spdxJson, '{"spdxVersion":"SPDX-2.3"}');
    const provenance = artifact(image.root, MediaType.inTotoJson, '{"_type":"https://in-toto.io/Statement/v1"}');
    const first = await c.pushReferrer(repo, sbom.manifest, { source: sbom.source });
    assert.deepEqual(first, { digest: sha256Digest(sbom.manifest), via: "tag-schema" });
    await c.pushReferrer(repo, provenance.manifest, { source: provenance.source });
    await c.pushReferrer(repo, sbom.manifest, { source: sbom.source }); // again: must not duplicate
    const all = await c.listReferrers(repo, image.root.digest as Digest);
    assert.equal(all.via, "tag-schema");
    assert.deepEqual(all.manifests.map((d) => [d.digest, d.artifactType]).sort(), [
      [sha256Digest(sbom.manifest), MediaType.spdxJson],
      [sha256Digest(provenance.manifest), MediaType.inTotoJson],
    ].sort());
    assert.equal(all.manifests.find((d) => d.artifactType === MediaType.spdxJson)?.annotations?.["org.opencontainers.image.title"], "sbom");
    const sboms = await c.listReferrers(repo, image.root.digest as Digest, { artifactType: MediaType.spdxJson });
    assert.deepEqual(sboms.manifests.map((d) => d.digest), [sha256Digest(sbom.manifest)]);
    const tagIndex = JSON.parse(await skopeo(["inspect", "--raw", "--tls-verify=false", `docker://${registry.host}/vox/referred:${referrersTag(image.root.digest)}`])) as { manifests: Descriptor[] };
    assert.equal(tagIndex.manifests.length, 2);
    assert.deepEqual((await c.listReferrers(repo, image.manifest.digest as Digest)).manifests, []);
  });

  it("an index pushed by pushImage() survives `skopeo copy --all docker://… oci:<dir>` byte for byte", async () => {
    const image = buildImage("copied");
    await client(registry).client.pushImage({ registry: registry.host, repository: "vox/copied", tag: "2" }, { root: image.root, source: image.source });
    const dir = join(tempDir("skopeo-oci"), "layout");
    await skopeo(["copy", "--all", "--src-tls-verify=false", `docker://${registry.host}/vox/copied:2`, `oci:${dir}:copied`]);
    const index = JSON.parse(readFileSync(join(dir, "index.json"), "utf8")) as { manifests: Descriptor[] };
    assert.equal(index.manifests[0]?.digest, image.root.digest);
    assert.ok(readdirSync(join(dir, "blobs", "sha256")).includes(image.layer.digest.slice(7)));
  });

  it("a registry spoken to over HTTPS that only speaks HTTP fails with a hint to use --insecure", async () => {
    const c = createRegistryClient({ fetch: (url, init) => fetch(url, init), retry: { attempts: 3, sleep: async () => {} } });
    await assert.rejects(c.hasBlob({ registry: registry.host, repository: "vox/app" }, sha256Digest("x")), (error: unknown) => {
      assert.ok(error instanceof RegistryError);
      assert.equal(error.code, "E_REGISTRY_TLS");
      assert.equal(error.temporary, false);
      assert.match(error.hint ?? "", new RegExp(`--insecure ${registry.host.replace(/\./g, "\\.")}`));
      return true;
    });
  });
});

describe("registry client against docker-registry 2.8.2 with token auth", () => {
  let registry: RunningRegistry;
  before(async () => {
    registry = await startRegistry({ auth: "token" });
  });
  after(() => registry?.stop());
  const it = (name: string, body: () => Promise<void>) => test(name, withLogs(() => registry, body));
  const creds = () => staticCredentials({ [registry.host]: { username: TOKEN_USER, password: TOKEN_PASSWORD } });

  it("an anonymous push fails with a RegistryError that says to log in", async () => {
    const image = buildImage("anonymous");
    await assert.rejects(client(registry).client.pushImage({ registry: registry.host, repository: "vox/anon", tag: "1" }, { root: image.root, source: image.source }), (error: unknown) => {
      assert.ok(error instanceof RegistryError, String(error));
      assert.equal(error.status, 401);
      assert.equal(error.code, "E_REGISTRY_AUTH");
      assert.equal(error.method, "HEAD"); // the first call of a push; HEAD answers carry no error body
      assert.match(error.hint ?? "", new RegExp(`docker login ${registry.host.replace(/\./g, "\\.")}`));
      assert.doesNotMatch(error.message, /Bearer|eyJ/);
      return true;
    });
    await assert.rejects(client(registry).client.getManifest({ registry: registry.host, repository: "vox/anon", tag: "1" }), (error: unknown) => {
      assert.ok(error instanceof RegistryError, String(error));
      assert.equal(error.serverCode, "UNAUTHORIZED", error.message);
      return true;
    });
  });

  it("the right credentials push; the token server saw pull,push scopes for that user; skopeo with --creds agrees", async () => {
    const image = buildImage("token");
    const before = registry.tokenServer!.requests.length;
    const { client: c } = client(registry, { credentials: creds() });
    const digest = await c.pushImage({ registry: registry.host, repository: "vox/token", tag: "1" }, { root: image.root, source: image.source });
    const requests = registry.tokenServer!.requests.slice(before);
    assert.ok(requests.some((r) => r.user === TOKEN_USER && r.scopes.includes("repository:vox/token:pull,push")), JSON.stringify(requests));
    assert.ok(c.requestedScopes.some((s) => s.includes("repository:vox/token:pull,push")));
    // One token serves every call with the same scopes: no scope set is fetched twice in one push.
    const keys = requests.map((r) => [...r.scopes].sort().join(" "));
    assert.equal(new Set(keys).size, keys.length, JSON.stringify(keys));
    assert.equal(await skopeoRawDigest(registry, "vox/token:1", `${TOKEN_USER}:${TOKEN_PASSWORD}`), digest);
  });

  it("a wrong password is refused by the token endpoint with a login hint", async () => {
    const { client: c } = client(registry, { credentials: staticCredentials({ [registry.host]: { username: TOKEN_USER, password: "wrong" } }) });
    await assert.rejects(c.hasBlob({ registry: registry.host, repository: "vox/token" }, sha256Digest("x")), (error: unknown) => {
      assert.ok(error instanceof RegistryError);
      assert.equal(error.status, 401);
      assert.match(error.hint ?? "", /docker login/);
      assert.doesNotMatch(`${error.message} ${error.url}`, /wrong/);
      return true;
    });
  });

  it("credentials come from a Docker config.json in DOCKER_CONFIG", async () => {
    const dir = tempDir("docker-config");
    writeFileSync(join(dir, "config.json"), JSON.stringify({ auths: { [`http://${registry.host}`]: { auth: Buffer.from(`${TOKEN_USER}:${TOKEN_PASSWORD}`).toString("base64") } } }));
    const credentials = dockerConfigCredentials({ env: mapEnv({ DOCKER_CONFIG: dir, HOME: tempDir("home") }), spawner: nodeSpawner });
    const image = buildImage("config-json");
    const { client: c } = client(registry, { credentials });
    const digest = await c.pushImage({ registry: registry.host, repository: "vox/configured", tag: "1" }, { root: image.root, source: image.source });
    assert.equal(await skopeoRawDigest(registry, "vox/configured:1", `${TOKEN_USER}:${TOKEN_PASSWORD}`), digest);
  });

  it("a cross-repo mount asks for pull on the source repository and mounts", async () => {
    const image = buildImage("token-mount");
    await client(registry, { credentials: creds() }).client.pushImage({ registry: registry.host, repository: "vox/token-base", tag: "1" }, { root: image.root, source: image.source });
    const events: RegistryEvent[] = [];
    const { client: c } = client(registry, { credentials: creds(), events });
    await c.pushImage({ registry: registry.host, repository: "vox/token-derived", tag: "1" }, { root: image.root, source: image.source, mountFrom: "vox/token-base" });
    assert.ok(c.requestedScopes.some((s) => s.includes("repository:vox/token-base:pull") && s.includes("repository:vox/token-derived:pull,push")));
    assert.deepEqual(events.flatMap((e) => (e.kind === "blob" ? [e.outcome] : [])), ["mounted", "mounted"]);
  });
});

/** An OCI 1.1 artifact manifest: empty config, one layer holding `body`, `subject` pointing at the image. */
function artifact(subject: Descriptor, artifactType: string, body: string): { manifest: Uint8Array; source: BlobSource } {
  const blobs = new Map<string, Uint8Array>();
  const add = (mediaType: string, bytes: Uint8Array): Descriptor => {
    blobs.set(sha256Digest(bytes), bytes);
    return { mediaType, digest: sha256Digest(bytes), size: bytes.byteLength };
  };
  const config = add(MediaType.ociEmpty, new TextEncoder().encode("{}"));
  const layer = add(artifactType, new TextEncoder().encode(body));
  const title = artifactType === MediaType.spdxJson ? "sbom" : "provenance";
  const manifest = canonicalJson({
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    artifactType,
    config,
    layers: [layer],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    annotations: { "org.opencontainers.image.title": title },
  });
  return { manifest, source: { readBlob: async (digest) => blobs.get(digest)! } };
}
