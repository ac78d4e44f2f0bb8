// `vox oci pull`, `vox oci verify` and `vox oci cache ls|verify|gc` through the CLI against Debian's docker-registry,
// with images made by umoci and skopeo (and broken on purpose by a Python script), never by vox's own writer.
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { chmodSync, cpSync, existsSync, readdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { BASE_TAG, busyboxBaseLayout, pushBusyboxBase } from "./support/base_image.ts";
import { bun, repoRoot, runAsync, tempDir } from "./support/helpers.ts";
import { forward, type ScriptedServer, startScriptedServer } from "./support/hostile_registry.ts";
import { MULTI_TAG, multiLayerLayout, pushLayout } from "./support/pull_images.ts";
import { type RunningRegistry, startRegistry } from "./support/registry.ts";

let registry: RunningRegistry;
/** In front of `registry`; forwards unless a test scripts otherwise. */
let proxy: ScriptedServer;
let busybox: string;
/** Three layers of random data (4, 6 and 8 MiB), by umoci. */
let multi: string;
let multiLayout: string;

before(async () => {
  registry = await startRegistry();
  busybox = pushBusyboxBase(registry.host);
  multiLayout = multiLayerLayout("three-layers", [4 << 20, 6 << 20, 8 << 20]);
  multi = pushLayout(multiLayout, MULTI_TAG, `${registry.host}/team/multi:1`);
  proxy = await startScriptedServer((req, res, body) => forward(registry.host, req, res, body));
});

after(async () => {
  await proxy?.stop();
  await registry?.stop();
});

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** vox from source under Bun with its own cache and audit log. */
function vox(args: readonly string[], env: Record<string, string>): Promise<Run> {
  return runAsync(bun, [join(repoRoot, "main.ts"), ...args], { env: { ...process.env, ...env } });
}

function workspace(): { env: Record<string, string>; cache: string; audit: string } {
  const dir = tempDir("pull");
  const cache = join(dir, "cache");
  const audit = join(dir, "audit.jsonl");
  return { env: { VOX_CACHE_DIR: cache, VOX_AUDIT_LOG: audit }, cache: join(cache, "oci"), audit };
}

function events(audit: string): Array<{ kind: string; scope: string | null; reference: string | null; digest: string | null; outcome: string; time: string; detail?: Record<string, unknown> }> {
  return existsSync(audit) ? readFileSync(audit, "utf8").trim().split("\n").map((line) => JSON.parse(line)) : [];
}

function ok(run: Run): Run {
  assert.equal(run.status, 0, `vox failed:\n${run.stdout}\n${run.stderr}`);
  return run;
}

function blobFiles(cache: string): string[] {
  return readdirSync(join(cache, "blobs", "sha256")).filter((name) => /^[a-f0-9]{64}$/.test(name));
}

describe("resolve", () => {
  test("a tag is pulled but said to be mutable, its resolved digest recorded; --require-digest refuses it and a digest passes", async () => {
    const w = workspace();
    const run = ok(await vox(["oci", "pull", "--insecure", "--json", busybox], w.env));
    const image = JSON.parse(run.stdout);
    const index = execFileSync("skopeo", ["inspect", "--raw", "--tls-verify=false", `docker://${busybox}`]);
    const expected = `sha256:${execFileSync("sha256sum", { input: index, encoding: "utf8" }).split(" ")[0]}`;
    assert.equal(image.resolved_digest, expected);
    assert.equal(image.mutable, true);
    assert.match(run.stderr, new RegExp(`names a tag, which can be moved; it resolved to ${expected}`));
    const resolve = events(w.audit).find((e) => e.kind === "resolve")!;
    assert.deepEqual([resolve.reference, resolve.digest, resolve.detail?.requested, resolve.detail?.mutable], [busybox, expected, busybox, true]);

    const refused = await vox(["oci", "pull", "--insecure", "--require-digest", busybox], w.env);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /names the tag '1\.35', which can be moved, and --require-digest is set/);
    assert.equal(events(w.audit).at(-1)!.kind, "refuse");

    const pinned = `${registry.host}/library/busybox@${expected}`;
    const byDigest = JSON.parse(ok(await vox(["oci", "pull", "--insecure", "--require-digest", "--json", pinned], w.env)).stdout);
    assert.deepEqual([byDigest.resolved_digest, byDigest.mutable], [expected, false]);
  });
});

describe("formats", () => {
  test("Docker schema 2 (skopeo --format v2s2) and OCI zstd (skopeo --dest-compress-format zstd) images pull with diff_ids verified", async () => {
    const w = workspace();
    const docker = pushLayout(multiLayout, MULTI_TAG, `${registry.host}/team/docker:1`, { format: "v2s2" });
    const pulled = JSON.parse(ok(await vox(["oci", "pull", "--insecure", "--json", docker], w.env)).stdout);
    assert.deepEqual([...new Set(pulled.layers.map((l: { media_type: string }) => l.media_type))], ["application/vnd.docker.image.rootfs.diff.tar.gzip"]);
    const zstd = pushLayout(multiLayout, MULTI_TAG, `${registry.host}/team/zstd:1`, { format: "oci", compress: "zstd" });
    const compressed = JSON.parse(ok(await vox(["oci", "pull", "--insecure", "--json", zstd], w.env)).stdout);
    assert.deepEqual([...new Set(compressed.layers.map((l: { media_type: string }) => l.media_type))], ["application/vnd.oci.image.layer.v1.tar+zstd"]);
    // The same uncompressed layers, whatever the compression: the diff_ids agree.
    assert.deepEqual(compressed.config.rootfs.diff_ids, pulled.config.rootfs.diff_ids);
  });
});

describe("ambiguous and corrupt images (a layout broken by a Python script) are refused before anything is used", () => {
  const cases: Array<[string, RegExp]> = [
    ["duplicate-platform", /lists linux\/amd64 twice/],
    ["diff-id-count", /lists 2 diff_ids for 1 layers/],
    ["media-type-mismatch", /declares application\/vnd\.docker\.distribution\.manifest\.v2\+json but was served as application\/vnd\.oci\.image\.manifest\.v1\+json/],
    ["wrong-diff-id", /uncompressed content hashes to sha256:[a-f0-9]{64}, but the config's diff_id is sha256:0{64}/],
    ["wrong-size", /it has \d+ bytes, the descriptor says \d+/],
    ["flipped-byte", /its content hashes to sha256:[a-f0-9]{64}, not sha256:/],
    ["missing-blob", /is not in/],
  ];
  for (const [name, message] of cases) {
    test(name, async () => {
      const layout = join(tempDir("crafted"), "layout");
      cpSync(busyboxBaseLayout(), layout, { recursive: true });
      execFileSync("python3", [join(repoRoot, "tests", "support", "craft_layout.py"), layout, BASE_TAG, name]);
      const w = workspace();
      const pull = await vox(["oci", "pull", "--platform", "linux/amd64", `oci:${layout}:${BASE_TAG}`], w.env);
      assert.equal(pull.status, 1, pull.stdout);
      assert.match(pull.stderr, message);
      assert.equal(events(w.audit).at(-1)!.outcome, "refused");
      const verify = await vox(["oci", "verify", `oci:${layout}:${BASE_TAG}`], w.env);
      assert.equal(verify.status, 1);
      assert.match(verify.stderr, message);
    });
  }

  test("the intact layout verifies for both platforms", async () => {
    const w = workspace();
    const run = ok(await vox(["oci", "verify", "--json", `oci:${busyboxBaseLayout()}:${BASE_TAG}`], w.env));
    assert.deepEqual(JSON.parse(run.stdout).images.map((i: { platform: { architecture: string } }) => i.platform.architecture), ["amd64", "arm64"]);
  });

  test("a manifest served with another media type than it declares is refused", async () => {
    const w = workspace();
    proxy.handle = async (req, res, body) => {
      if (!req.url?.includes("/manifests/")) return forward(registry.host, req, res, body);
      const upstream = await fetch(`http://${registry.host}${req.url}`, { method: req.method, headers: { accept: String(req.headers.accept) } });
      const bytes = Buffer.from(await upstream.arrayBuffer());
      res.writeHead(upstream.status, { "content-type": "application/vnd.docker.distribution.manifest.list.v2+json", "content-length": bytes.length }).end(bytes);
    };
    try {
      const run = await vox(["oci", "pull", "--insecure", `${proxy.host}/library/busybox:${BASE_TAG}`], w.env);
      assert.equal(run.status, 1);
      assert.match(run.stderr, /declares application\/vnd\.oci\.image\.index\.v1\+json but was served as application\/vnd\.docker\.distribution\.manifest\.list\.v2\+json/);
    } finally {
      proxy.handle = (req, res, body) => forward(registry.host, req, res, body);
    }
  });
});

describe("cache", () => {
  test("a second pull reuses every blob; a corrupted layer is evicted, fetched again and said so", async () => {
    const w = workspace();
    ok(await vox(["oci", "pull", "--insecure", multi], w.env));
    // The manifest came with the resolve; then the config and three layers.
    assert.equal(events(w.audit).filter((e) => e.kind === "fetch").length, 4);
    const warm = JSON.parse(ok(await vox(["oci", "pull", "--insecure", "--json", multi], w.env)).stdout);
    assert.deepEqual([warm.fetched, warm.reused], [0, 4]);
    const layer = warm.layers[1].digest.split(":")[1];
    const path = join(w.cache, "blobs", "sha256", layer);
    chmodSync(path, 0o644);
    const bytes = readFileSync(path);
    bytes[100]! ^= 1;
    writeFileSync(path, bytes);
    const again = ok(await vox(["oci", "pull", "--insecure", "--json", multi], w.env));
    assert.match(again.stderr, new RegExp(`layer sha256:${layer} in the cache .* is unusable .*: evicted, fetched again`));
    const evicted = events(w.audit).filter((e) => e.kind === "verify" && e.outcome === "evicted");
    assert.deepEqual(evicted.map((e) => e.digest), [`sha256:${layer}`]);
    assert.equal(JSON.parse(again.stdout).fetched, 1);
    ok(await vox(["oci", "cache", "verify"], w.env));
  });

  test("scopes: one scope's tag is never seen or moved through another's, and identical blobs are stored once", async () => {
    const w = workspace();
    const ref = `${registry.host}/team/scoped:1`;
    pushLayout(multiLayout, MULTI_TAG, ref);
    const first = JSON.parse(ok(await vox(["oci", "pull", "--insecure", "--json", "--scope", "alpha", ref], w.env)).stdout);
    const blobsAfterFirst = blobFiles(w.cache).length;
    // The tag moves (another image, sharing no layer) and only scope beta pulls it again.
    execFileSync("skopeo", ["copy", "--quiet", "--dest-tls-verify=false", `oci:${busyboxBaseLayout()}:amd64`, `docker://${ref}`]);
    const second = JSON.parse(ok(await vox(["oci", "pull", "--insecure", "--json", "--scope", "beta", ref], w.env)).stdout);
    assert.notEqual(second.resolved_digest, first.resolved_digest);
    const alpha = JSON.parse(ok(await vox(["oci", "cache", "ls", "--json", "--scope", "alpha"], w.env)).stdout);
    assert.deepEqual(alpha.scopes.map((s: { name: string; images: Array<{ reference: string; digest: string }> }) => [s.name, s.images.map((i) => [i.reference, i.digest])]), [["alpha", [[ref, first.resolved_digest]]]]);
    // A third scope pulling alpha's image by digest stores nothing new.
    execFileSync("skopeo", ["copy", "--quiet", "--dest-tls-verify=false", `oci:${multiLayout}:${MULTI_TAG}`, `docker://${ref}`]);
    const before = blobFiles(w.cache).length;
    const third = JSON.parse(ok(await vox(["oci", "pull", "--insecure", "--json", "--scope", "gamma", `${registry.host}/team/scoped@${first.resolved_digest}`], w.env)).stdout);
    assert.equal(third.fetched, 0);
    assert.equal(blobFiles(w.cache).length, before);
    assert.ok(before > blobsAfterFirst);
    ok(await vox(["oci", "verify", "--scope", "alpha", ref], w.env));
  });

  test("gc keeps what any scope references and, once a scope is forgotten, removes what only it held", async () => {
    const w = workspace();
    ok(await vox(["oci", "pull", "--insecure", "--scope", "keep", busybox], w.env));
    ok(await vox(["oci", "pull", "--insecure", "--scope", "drop", multi], w.env));
    const all = blobFiles(w.cache);
    // Past the grace period a pull in flight gets.
    const old = new Date(Date.now() - 2 * 3600_000);
    for (const name of all) utimesSync(join(w.cache, "blobs", "sha256", name), old, old);
    const kept = JSON.parse(ok(await vox(["oci", "cache", "gc", "--json"], w.env)).stdout);
    assert.deepEqual(kept.removed, []);
    const dropped = JSON.parse(ok(await vox(["oci", "cache", "gc", "--json", "--scope", "drop"], w.env)).stdout);
    assert.equal(dropped.removed.length, 5);
    ok(await vox(["oci", "verify", "--scope", "keep", busybox], w.env));
    const deletes = events(w.audit).filter((e) => e.kind === "delete");
    assert.equal(deletes.length, 6);
  });
});

describe("interrupted downloads", () => {
  test("a connection cut mid-layer is resumed with Range from where it stopped", async () => {
    const w = workspace();
    const manifest = JSON.parse(execFileSync("skopeo", ["inspect", "--raw", "--tls-verify=false", `docker://${multi}`], { encoding: "utf8" })) as { layers: Array<{ digest: string }> };
    const layers = manifest.layers.map((l) => l.digest);
    const ranges: Array<string | undefined> = [];
    let cut = false;
    proxy.handle = (req, res, body) => {
      const isLayer = req.method === "GET" && layers.some((digest) => req.url?.endsWith(`/blobs/${digest}`));
      if (isLayer) ranges.push(req.headers.range);
      if (isLayer && !cut && req.headers.range === undefined) {
        cut = true;
        return forward(registry.host, req, res, body, { cutAfter: 1 << 20 });
      }
      return forward(registry.host, req, res, body);
    };
    try {
      ok(await vox(["oci", "pull", "--insecure", `${proxy.host}/team/multi:1`], w.env));
    } finally {
      proxy.handle = (req, res, body) => forward(registry.host, req, res, body);
    }
    assert.ok(ranges.some((r) => r !== undefined && /^bytes=\d+-$/.test(r) && Number(r.slice(6, -1)) > 0), `ranges asked: ${ranges.join(", ")}`);
    ok(await vox(["oci", "verify", `${proxy.host}/team/multi:1`], w.env));
  });

  test("SIGKILL at random moments never leaves a cache entry that is used later: the cache verifies, the next pull completes", async () => {
    for (let round = 0; round < 5; round++) {
      const w = workspace();
      const child = spawn(bun, [join(repoRoot, "main.ts"), "oci", "pull", "--insecure", multi], { env: { ...process.env, ...w.env }, stdio: "ignore" });
      const exited = new Promise((resolve) => child.once("exit", resolve));
      await new Promise((resolve) => setTimeout(resolve, 100 + Math.floor(Math.random() * 700)));
      child.kill("SIGKILL");
      await exited;
      if (existsSync(w.cache)) ok(await vox(["oci", "cache", "verify"], w.env));
      const final = JSON.parse(ok(await vox(["oci", "pull", "--insecure", "--json", multi], w.env)).stdout);
      assert.equal(final.layers.length, 3);
      ok(await vox(["oci", "verify", multi], w.env));
    }
  });
});

describe("memory", () => {
  test("pulling a 96 MiB layer does not raise peak RSS with its size", async () => {
    const big = pushLayout(multiLayerLayout("one-96mib-layer", [96 << 20]), MULTI_TAG, `${registry.host}/team/big:1`);
    const peak = (ref: string) => {
      const w = workspace();
      // With --smol, as the compiled vox runs (compileArgv): without it, Bun collects the body's chunks so late that
      // the gap swung around the bound from run to run (118.9 against 70.0 MiB once), which timed the collector.
      const timed = spawnSync("/usr/bin/time", ["-f", "%M", bun, "--smol", join(repoRoot, "main.ts"), "oci", "pull", "--insecure", ref], { env: { ...process.env, ...w.env }, encoding: "utf8" });
      assert.equal(timed.status, 0, timed.stderr);
      return Number(timed.stderr.trim().split("\n").at(-1)) / 1024;
    };
    // The lower of two pulls each: when the collector runs is noise; a peak that grew with the layer grows in both.
    const small = Math.min(peak(busybox), peak(busybox));
    const large = Math.min(peak(big), peak(big));
    assert.ok(large - small < 48, `peak RSS ${large.toFixed(1)} MiB for the 96 MiB layer vs ${small.toFixed(1)} MiB for 1 MiB`);
  });
});
