// Pushing to the real CNCF distribution registry (Debian's docker-registry 2.8.2) on loopback: a large layer from its
// file with the pushing process's peak RSS measured, uploads whose connection drops mid-way (a loopback proxy in
// front of the registry cuts them), and ten processes adding referrers of one image through the fallback tag at once.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, beforeEach, describe, test } from "node:test";
import { canonicalJson, type Descriptor, type Digest, MediaType, sha256Digest } from "../oci/mod.ts";
import { type BlobSource, createRegistryClient, type RegistryEvent, referrersTag } from "../oci/remote/mod.ts";
import { layoutWithLayer } from "./support/big_layout.ts";
import { bun, repoRoot, runAsync, tempDir } from "./support/helpers.ts";
import { forward, type ScriptedServer, startScriptedServer } from "./support/hostile_registry.ts";
import { type RunningRegistry, startRegistry } from "./support/registry.ts";

let registry: RunningRegistry;
/** Forwards to `registry` unless a test scripts a cut; `ranges` lists every Content-Range it passed or cut. */
let proxy: ScriptedServer;
const honest: ScriptedServer["handle"] = (req, res, body) => forward(registry.host, req, res, body);

before(async () => {
  registry = await startRegistry();
  proxy = await startScriptedServer(honest);
});

after(async () => {
  await proxy?.stop();
  await registry?.stop();
});

beforeEach(() => {
  proxy.handle = honest;
  proxy.seen.length = 0;
});

/** Adds the registry log to a failing test's error: the log usually says why. */
function withLogs(body: () => Promise<void>): () => Promise<void> {
  return async () => {
    try {
      await body();
    } catch (error) {
      if (error instanceof Error) error.message += `\n--- registry log (tail) ---\n${registry.logs().split("\n").slice(-30).join("\n")}`;
      throw error;
    }
  };
}

/** Where docker-registry keeps a blob it accepted (it checked the digest on the closing PUT). */
function storedBlob(digest: string): string {
  const hex = digest.slice("sha256:".length);
  return join(registry.storage, "docker/registry/v2/blobs/sha256", hex.slice(0, 2), hex, "data");
}

test(
  "a 512 MiB layer is pushed from its file: the pushing process peaks well below the layer's size, and the registry holds it",
  withLogs(async () => {
    const { dir, layer } = layoutWithLayer(join(tempDir("big-layout"), "oci"), 512 << 20);
    const pushed = await runAsync("/usr/bin/time", ["-f", "peak-rss-kib %M", bun, join(repoRoot, "tests", "support", "push_layout.ts"), dir, `${registry.host}/vox/big:1`]);
    assert.equal(pushed.status, 0, pushed.stderr);
    const peakMiB = Number(/peak-rss-kib (\d+)/.exec(pushed.stderr)![1]) / 1024;
    assert.ok(peakMiB < 256, `peak RSS ${peakMiB.toFixed(1)} MiB for a 512 MiB layer`);
    assert.equal(statSync(storedBlob(layer.digest)).size, layer.size);
  }),
);

describe("an upload whose connection drops", () => {
  const CHUNK = 1 << 20;
  /** Five chunks of bytes that differ per test, so no upload finds its blob already there. */
  const payload = (label: string) => {
    const bytes = new Uint8Array(5 * CHUNK);
    for (let i = 0; i < bytes.length; i += 4096) bytes.set(new TextEncoder().encode(`${label} ${i}`), i);
    return { bytes, descriptor: { mediaType: MediaType.ociLayerGzip, digest: sha256Digest(bytes), size: bytes.byteLength } as Descriptor };
  };
  /** The client as a user's would be, through the proxy; `chunked` makes the proxy refuse monolithic PUTs (413). */
  const setup = (options: { chunked: boolean; cut: (req: { method?: string; url?: string; headers: Record<string, unknown> }, body: Buffer) => "before" | "after" | undefined }) => {
    const ranges: string[] = [];
    const events: RegistryEvent[] = [];
    proxy.handle = async (req, res, body) => {
      if (req.method === "PATCH") ranges.push(String(req.headers["content-range"]));
      if (options.chunked && req.method === "PUT" && req.url?.includes("/blobs/uploads/") && body.length > 0) return void res.writeHead(413).end("too large");
      const cut = options.cut(req, body);
      // "before": the request never reaches the registry; "after": the registry takes it, its answer is lost.
      if (cut === "before") return void res.socket?.destroy();
      return forward(registry.host, req, res, body, cut === "after" ? { dropAnswer: true } : {});
    };
    const client = createRegistryClient({ fetch: (url, init) => fetch(url, init), insecure: [proxy.host], chunkSize: CHUNK, retry: { attempts: 3, sleep: async () => {} }, onEvent: (e) => events.push(e) });
    return { client, ranges, events, repo: { registry: proxy.host, repository: "vox/cut" } };
  };
  /** How many upload sessions (distinct upload ids) PATCHes went to. */
  const patchedUploads = () => new Set(proxy.seen.filter((s) => s.method === "PATCH").map((s) => /\/blobs\/uploads\/([^?]+)/.exec(s.path)![1])).size;
  /** Pushes a five-chunk blob through the proxy, which cuts the third PATCH `when`; the blob must land intact. */
  const pushCutAtThirdPatch = async (label: string, when: "before" | "after") => {
    let patches = 0;
    const { client, ranges, events, repo } = setup({ chunked: true, cut: (req) => (req.method === "PATCH" && ++patches === 3 ? when : undefined) });
    const { bytes, descriptor } = payload(label);
    assert.equal(await client.pushBlob(repo, descriptor, { read: async () => bytes }), "uploaded");
    assert.deepEqual(await client.getBlob(repo, descriptor), bytes);
    return { ranges, events };
  };

  test(
    "a PATCH the registry stored but whose answer was lost: docker-registry cannot resume that upload, so a new one starts and the blob lands intact",
    withLogs(async () => {
      const { events } = await pushCutAtThirdPatch("stored-then-cut", "after");
      assert.equal(patchedUploads(), 2, "a second upload session after the first was lost");
      assert.equal(events.filter((e) => e.kind === "retry").length, 1);
    }),
  );

  test(
    "a PATCH dropped before it reached the registry is resumed from the offset the upload's status reports, in the same upload",
    withLogs(async () => {
      const { ranges } = await pushCutAtThirdPatch("cut-in-transit", "before");
      const range = (chunk: number) => `${chunk * CHUNK}-${(chunk + 1) * CHUNK - 1}`;
      assert.deepEqual(ranges, [range(0), range(1), range(2), range(2), range(3), range(4)]);
      const status = proxy.seen.findIndex((s) => s.method === "GET" && s.path.includes("/blobs/uploads/"));
      assert.ok(status > 0, "the upload's status was asked for before going on");
      assert.equal(patchedUploads(), 1);
    }),
  );

  test(
    "a monolithic PUT whose answer was lost after the registry committed the blob is found by HEAD, not sent again",
    withLogs(async () => {
      let puts = 0;
      const { client, repo } = setup({ chunked: false, cut: (req) => (req.method === "PUT" && req.url?.includes("/blobs/uploads/") && ++puts === 1 ? "after" : undefined) });
      const { bytes, descriptor } = payload("committed-then-cut");
      assert.equal(await client.pushBlob(repo, descriptor, { read: async () => bytes }), "uploaded");
      assert.deepEqual(await client.getBlob(repo, descriptor), bytes);
      assert.equal(proxy.seen.filter((s) => s.method === "PUT" && s.path.includes("/blobs/uploads/")).length, 1);
    }),
  );
});

test(
  "ten vox deploy release --push processes add ten different referrers to one image through the fallback tag: all ten are listed",
  withLogs(async () => {
    const repo = `${registry.host}/apps/referred`;
    const image = await pushSmallImage({ registry: registry.host, repository: "apps/referred" });
    const project = join(tempDir("referred"), "hello");
    cpSync(join(repoRoot, "examples", "hello"), project, { recursive: true });
    for (const argv of [["init", "-q"], ["add", "."], ["-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-q", "-m", "hello"]]) execFileSync("git", ["-C", project, ...argv]);
    const copies = Array.from({ length: 10 }, (_, i) => {
      const dir = join(tempDir(`referrer-${i}`), "hello");
      cpSync(project, dir, { recursive: true });
      writeFileSync(join(dir, "vox.platform.toml"), `schema = "vox.platform/v1"\nname = "hello"\n\n[process]\nenv = { VARIANT = "${i}" }\n`);
      return dir;
    });
    const results = await Promise.all(
      copies.map((dir) => runAsync(bun, [join(repoRoot, "main.ts"), "deploy", "release", "--json", "--insecure", "--image", `${repo}@${image}`, "--push", repo], { cwd: dir, env: { ...process.env, DOCKER_CONFIG: tempDir("no-docker-config") } })),
    );
    const artifacts = results.map((result) => {
      assert.equal(result.status, 0, result.stderr);
      return (JSON.parse(result.stdout) as { pushed: { artifact: string; via: string } }).pushed;
    });
    assert.equal(new Set(artifacts.map((a) => a.artifact)).size, 10, "ten different platform manifests");
    assert.ok(artifacts.every((a) => a.via === "tag-schema"));
    const raw = execFileSync("skopeo", ["inspect", "--raw", "--tls-verify=false", `docker://${repo}:${referrersTag(image)}`], { encoding: "utf8", env: { ...process.env, HOME: tempDir("skopeo-home") } });
    const listed = (JSON.parse(raw) as { manifests: Descriptor[] }).manifests.map((d) => d.digest);
    assert.deepEqual([...listed].sort(), artifacts.map((a) => a.artifact).sort());
  }),
);

/** A one-platform image (an index over one manifest, one tiny layer) pushed by the client; returns the index digest. */
async function pushSmallImage(repo: { registry: string; repository: string }): Promise<Digest> {
  const blobs = new Map<string, Uint8Array>();
  const add = (mediaType: string, bytes: Uint8Array, extra: Partial<Descriptor> = {}): Descriptor => {
    blobs.set(sha256Digest(bytes), bytes);
    return { mediaType, digest: sha256Digest(bytes), size: bytes.byteLength, ...extra };
  };
  const layer = add(MediaType.ociLayerGzip, readFileSync(join(repoRoot, "examples", "hello", "Vox.toml")));
  const config = add(MediaType.ociConfig, canonicalJson({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [layer.digest] } }));
  const manifest = add(MediaType.ociManifest, canonicalJson({ schemaVersion: 2, mediaType: MediaType.ociManifest, config, layers: [layer] }), { platform: { os: "linux", architecture: "amd64" } });
  const root = add(MediaType.ociIndex, canonicalJson({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [manifest] }));
  const source: BlobSource = { readBlob: async (digest) => blobs.get(digest)! };
  const client = createRegistryClient({ fetch: (url, init) => fetch(url, init), insecure: [repo.registry] });
  return client.pushImage({ ...repo, tag: "1" }, { root, source });
}
