// `vox lock` and `vox deploy build` against hostile inputs (issue 16): a tampered lock, a shared cache someone else
// planted things in, parallel builds into one layout, a corrupt layout, copied metadata, special modes, a symlinked
// `.vox`, a very deep tree and a CI environment with missing or secret-bearing variables. Real CLI, real
// docker-registry; images are read back with skopeo, umoci, tar and sha256sum.
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { chmodSync, chownSync, cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, test } from "node:test";
import { busyboxBaseLayout, pushBusyboxBase } from "./support/base_image.ts";
import { bun, repoRoot, tempDir } from "./support/helpers.ts";
import { type RunningRegistry, startRegistry } from "./support/registry.ts";

const NOBODY = 65534;
let registry: RunningRegistry;
let cacheDir: string;
/** A second amd64 manifest in library/busybox, with the three source labels a base should not pass on. */
let labelledDigest: string;

before(async () => {
  registry = await startRegistry();
  pushBusyboxBase(registry.host);
  const layout = join(tempDir("labelled"), "layout");
  cpSync(busyboxBaseLayout(), layout, { recursive: true });
  sh(["umoci", "config", "--image", `${layout}:amd64`, "--tag", "labelled", "--config.label", "org.opencontainers.image.source=https://base.example/src", "--config.label", "org.opencontainers.image.revision=0123456789abcdef", "--config.label", "org.opencontainers.image.url=https://base.example"]);
  sh(["skopeo", "copy", "--quiet", "--dest-tls-verify=false", `oci:${layout}:labelled`, `docker://${registry.host}/library/busybox:labelled`]);
  labelledDigest = `sha256:${sh(["sh", "-c", `skopeo inspect --raw --tls-verify=false docker://${registry.host}/library/busybox:labelled | sha256sum`]).split(" ")[0]}`;
  cacheDir = tempDir("cache");
});

after(async () => {
  await registry?.stop();
});

function sh(argv: readonly string[], options: { cwd?: string } = {}): string {
  return execFileSync(argv[0]!, argv.slice(1), { cwd: options.cwd, encoding: "utf8", maxBuffer: 64 << 20 });
}

/** vox from source under Bun, docker.io mirrored to the loopback registry; killed (by pid) after 2 minutes so a hang fails. */
function vox(args: readonly string[], cwd: string, env: Record<string, string> = {}, prefix: readonly string[] = []): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const argv = [...prefix, bun, join(repoRoot, "main.ts"), ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd,
      env: { ...process.env, VOX_REGISTRY_MIRRORS: `docker.io=http://${registry.host}`, VOX_CACHE_DIR: cacheDir, DOCKER_CONFIG: tempDir("no-docker-config"), GITHUB_ACTIONS: "", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(() => {
      stderr += "\nHUNG: killed after 2 minutes";
      child.kill("SIGKILL");
    }, 120_000);
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** examples/hello in a fresh directory (no git), with Vox.toml edited by `edit`. */
function project(name: string, edit: (toml: string) => string = (t) => t): string {
  const dir = join(tempDir(name), "hello");
  cpSync(join(repoRoot, "examples", "hello"), dir, { recursive: true });
  writeFileSync(join(dir, "Vox.toml"), edit(readFileSync(join(dir, "Vox.toml"), "utf8")));
  return dir;
}

function json(stdout: string): { index_digest: string; platforms: Array<{ platform: string; manifest: string }> } {
  return JSON.parse(stdout);
}

function blobPath(layout: string, digest: string): string {
  return join(layout, "blobs", "sha256", digest.replace(/^sha256:/, ""));
}

function readJsonBlob(layout: string, digest: string): any {
  return JSON.parse(readFileSync(blobPath(layout, digest), "utf8"));
}

/** The names in the last layer (ours) of the first platform's manifest, read with tar. */
function lastLayerNames(layout: string, indexDigest: string): string[] {
  const manifest = readJsonBlob(layout, readJsonBlob(layout, indexDigest).manifests[0].digest);
  return sh(["tar", "-tzf", blobPath(layout, manifest.layers.at(-1).digest)]).split("\n").filter(Boolean);
}

function sha256File(path: string): string {
  return `sha256:${sh(["sha256sum", path]).split(" ")[0]}`;
}

const offline = { VOX_REGISTRY_MIRRORS: "docker.io=127.0.0.1:9" };

// ---- finding 2 -------------------------------------------------------------------------------------------------

test("a vox.lock whose amd64 digest was replaced by another manifest of the same repository is refused as tampered, online and --frozen", async () => {
  const dir = project("tampered");
  assert.equal((await vox(["lock"], dir)).status, 0);
  const honest = await vox(["deploy", "build", "--locked", "--json"], dir);
  assert.equal(honest.status, 0, honest.stderr);
  const lock = readFileSync(join(dir, "vox.lock"), "utf8");
  const amd64 = /platform = "linux\/amd64"\ndigest = "(sha256:[0-9a-f]{64})"/.exec(lock)![1]!;
  assert.notEqual(amd64, labelledDigest);
  writeFileSync(join(dir, "vox.lock"), lock.replace(amd64, labelledDigest));
  for (const [args, env] of [[["deploy", "build", "--locked"], {}], [["deploy", "build", "--frozen", "--output", `oci:${tempDir("frozen")}`], offline]] as const) {
    const result = await vox(args, dir, env);
    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stderr, /tampered/);
    assert.match(result.stderr, new RegExp(`linux/amd64.*${labelledDigest}`));
    assert.match(result.stderr, new RegExp(`lists ${amd64}`));
    assert.match(result.stderr, /hint: .*vox lock/);
  }
});

// ---- finding 5 -------------------------------------------------------------------------------------------------

/** A cache filled by one honest build. */
async function filledCache(name: string): Promise<{ dir: string; cache: string; layers: string[] }> {
  const dir = project(name);
  const cache = tempDir(`${name}-cache`);
  assert.equal((await vox(["lock"], dir, { VOX_CACHE_DIR: cache })).status, 0);
  const built = await vox(["deploy", "build", "--locked", "--json"], dir, { VOX_CACHE_DIR: cache });
  assert.equal(built.status, 0, built.stderr);
  const layout = join(dir, ".vox", "oci");
  const manifest = readJsonBlob(layout, json(built.stdout).platforms[0]!.manifest);
  return { dir, cache, layers: manifest.layers.slice(0, -1).map((l: { digest: string }) => l.digest) };
}

test("a cache entry that is a FIFO, a link to /dev/zero or corrupt bytes is evicted and fetched again with a warning; --frozen names it", async () => {
  const { dir, cache, layers } = await filledCache("evict");
  const blobs = join(cache, "oci", "blobs", "sha256");
  const [layer] = layers as [string];
  const index = readFileSync(join(dir, "vox.lock"), "utf8").match(/^digest = "(sha256:[0-9a-f]{64})"/m)![1]!;
  const lockedAmd64 = /platform = "linux\/amd64"\ndigest = "(sha256:[0-9a-f]{64})"/.exec(readFileSync(join(dir, "vox.lock"), "utf8"))![1]!;
  for (const plant of [
    (path: string) => sh(["mkfifo", path]),
    (path: string) => symlinkSync("/dev/zero", path),
    (path: string) => writeFileSync(path, "not the blob"),
  ]) {
    const plantAll = () => {
      for (const digest of [layer, lockedAmd64, index]) {
        rmSync(blobPath(join(cache, "oci"), digest), { force: true });
        plant(blobPath(join(cache, "oci"), digest));
      }
    };
    plantAll();
    const frozen = await vox(["deploy", "build", "--frozen", "--output", `oci:${tempDir("frozen-out")}`], dir, { ...offline, VOX_CACHE_DIR: cache });
    assert.equal(frozen.status, 1, frozen.stderr);
    assert.match(frozen.stderr, /in the cache/);
    assert.match(frozen.stderr, /hint: .*without --frozen/);
    plantAll();
    const rebuilt = await vox(["deploy", "build", "--locked", "--output", `oci:${tempDir("evict-out")}`], dir, { VOX_CACHE_DIR: cache });
    assert.equal(rebuilt.status, 0, rebuilt.stderr);
    assert.match(rebuilt.stderr, /warning: .*cache.*(evicted|removed).*fetched again/i);
    for (const digest of [layer, lockedAmd64, index]) {
      const path = blobPath(join(cache, "oci"), digest);
      assert.ok(lstatSync(path).isFile(), `${digest} is a regular file again`);
      assert.equal(sha256File(path), digest);
    }
  }
  assert.ok(readdirSync(blobs).length > 0);
});

test("a cache with a planted blobs/sha256 link, or one writable by group or others, is refused and nothing is written through it", async () => {
  const { dir } = await filledCache("planted");
  const planted = tempDir("planted-cache");
  const elsewhere = tempDir("elsewhere");
  mkdirSync(join(planted, "oci", "blobs"), { recursive: true });
  writeFileSync(join(planted, "oci", "oci-layout"), '{"imageLayoutVersion":"1.0.0"}');
  symlinkSync(elsewhere, join(planted, "oci", "blobs", "sha256"));
  const linked = await vox(["deploy", "build", "--locked", "--output", `oci:${tempDir("planted-out")}`], dir, { VOX_CACHE_DIR: planted });
  assert.equal(linked.status, 1, linked.stderr);
  assert.match(linked.stderr, /blobs\/sha256.*symbolic link|not a directory/);
  assert.deepEqual(readdirSync(elsewhere), []);

  const shared = tempDir("shared-cache");
  chmodSync(shared, 0o777);
  const writable = await vox(["deploy", "build", "--locked", "--output", `oci:${tempDir("shared-out")}`], dir, { VOX_CACHE_DIR: shared });
  assert.equal(writable.status, 1, writable.stderr);
  assert.match(writable.stderr, /writable by others/);
  assert.match(writable.stderr, /hint: .*chmod go-w|VOX_CACHE_DIR/);
});

test("a cache owned by another user is refused (as git's safe.directory does), with a hint", async () => {
  const { dir, cache } = await filledCache("foreign");
  // Let nobody read the project and the cache: the refusal, not a permission error, must be what stops it.
  for (let path = dir; path !== dirname(tempDir("x")) && path !== "/"; path = dirname(path)) chmodSync(path, 0o755);
  chmodSync(dirname(tempDir("x")), 0o755);
  sh(["chmod", "-R", "a+rX", dir, cache]);
  const out = tempDir("foreign-out");
  const home = tempDir("nobody-home");
  for (const path of [out, home]) {
    chmodSync(path, 0o755);
    chownSync(path, NOBODY, NOBODY);
  }
  const asNobody = await vox(["deploy", "build", "--frozen", "--output", `oci:${out}/layout`], dir, { ...offline, VOX_CACHE_DIR: cache, HOME: home, TMPDIR: home }, ["setpriv", `--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups"]);
  assert.equal(asNobody.status, 1, asNobody.stderr);
  assert.match(asNobody.stderr, /Cannot use the cache .*owned by uid 0/);
  assert.match(asNobody.stderr, /hint: .*VOX_CACHE_DIR/);
  assert.equal(existsSync(join(out, "layout", "index.json")), false);
});

// ---- finding 6 -------------------------------------------------------------------------------------------------

test("six parallel builds into one layout keep all six tags, and a corrupt blob already in the layout is rewritten", async () => {
  const dir = project("parallel");
  assert.equal((await vox(["lock"], dir)).status, 0);
  const layout = join(tempDir("shared-layout"), "oci");
  const results = await Promise.all([1, 2, 3, 4, 5, 6].map((n) => vox(["deploy", "build", "--locked", "--output", `oci:${layout}:t${n}`], dir)));
  for (const result of results) assert.equal(result.status, 0, result.stderr);
  const names = JSON.parse(readFileSync(join(layout, "index.json"), "utf8")).manifests.map((m: { annotations?: Record<string, string> }) => m.annotations?.["org.opencontainers.image.ref.name"]).filter(Boolean);
  assert.deepEqual(names.sort(), ["t1", "t2", "t3", "t4", "t5", "t6"]);

  const built = await vox(["deploy", "build", "--locked", "--json", "--output", `oci:${layout}:t1`], dir);
  const manifest = readJsonBlob(layout, json(built.stdout).platforms[0]!.manifest);
  const corrupted = [manifest.layers[0].digest, manifest.layers.at(-1).digest];
  for (const digest of corrupted) {
    rmSync(blobPath(layout, digest));
    writeFileSync(blobPath(layout, digest), "corrupt");
  }
  const again = await vox(["deploy", "build", "--locked", "--output", `oci:${layout}:t1`], dir);
  assert.equal(again.status, 0, again.stderr);
  for (const digest of corrupted) assert.equal(sha256File(blobPath(layout, digest)), digest);
  sh(["skopeo", "copy", "--quiet", "--all", `oci:${layout}:t1`, `oci:${join(tempDir("copy"), "copy")}:t1`]);
});

// ---- finding 7 -------------------------------------------------------------------------------------------------

test('from = "." leaves out .git, .vox, earlier output and the `exclude` list, and a second --locked build is not stale', async () => {
  const dir = project("dot", (toml) => toml.replace(/\[\[deploy\.copy\]\][^]*$/, '[[deploy.copy]]\nfrom = "."\nto = "/src"\nexclude = ["*.log", "tmp"]\n'));
  writeFileSync(join(dir, "debug.log"), "noise\n");
  mkdirSync(join(dir, "tmp"));
  writeFileSync(join(dir, "tmp", "scratch"), "noise\n");
  sh(["git", "init", "-q"], { cwd: dir });
  sh(["git", "remote", "add", "origin", "https://ci:ghp_SECRETTOKEN@github.com/acme/hello.git"], { cwd: dir });
  const output = join(dir, "image");
  assert.equal((await vox(["lock"], dir)).status, 0);
  // Into .vox/oci, then into a layout at the top of the project, twice: none of it is an input.
  const first = await vox(["deploy", "build", "--locked", "--json"], dir);
  assert.equal(first.status, 0, first.stderr);
  for (let i = 0; i < 2; i++) {
    const again = await vox(["deploy", "build", "--locked", "--json", "--output", `oci:${output}`], dir);
    assert.equal(again.status, 0, again.stderr);
    assert.equal(json(again.stdout).index_digest, json(first.stdout).index_digest);
  }
  const names = lastLayerNames(output, json(first.stdout).index_digest);
  assert.ok(names.includes("src/Vox.toml") && names.includes("src/app/bin/hello"), names.join(" "));
  for (const name of names) assert.doesNotMatch(name, /^src\/(\.git|\.vox|image|tmp|debug\.log)(\/|$)/);
  assert.doesNotMatch(sh(["sh", "-c", `for f in ${join(output, "blobs", "sha256")}/*; do gzip -dcf "$f"; done`]), /SECRETTOKEN/);
});

test("the base's source, revision and url labels are dropped, ours win, and a user label contradicting an annotation is an error", async () => {
  const single = (toml: string) => toml.replace('platforms = ["linux/amd64", "linux/arm64"]', 'platforms = ["linux/amd64"]').replace('base = "docker.io/library/busybox:1.35"', 'base = "docker.io/library/busybox:labelled"');
  const dir = project("labels", single);
  const built = await vox(["deploy", "build", "--json"], dir);
  assert.equal(built.status, 0, built.stderr);
  const layout = join(dir, ".vox", "oci");
  const manifest = readJsonBlob(layout, json(built.stdout).platforms[0]!.manifest);
  const labels = readJsonBlob(layout, manifest.config.digest).config.Labels as Record<string, string>;
  assert.equal(labels["org.opencontainers.image.source"], "https://github.com/vox-foundation/vox");
  assert.equal(labels["org.opencontainers.image.revision"], undefined);
  assert.equal(labels["org.opencontainers.image.url"], undefined);
  assert.equal(labels["dev.vox.example"], "hello");

  const conflicting = project("label-conflict", (toml) => single(toml).replace('labels = { "dev.vox.example" = "hello" }', 'labels = { "org.opencontainers.image.source" = "https://elsewhere.example/hello" }'));
  const refused = await vox(["deploy", "build"], conflicting);
  assert.equal(refused.status, 1, refused.stderr);
  assert.match(refused.stderr, /org\.opencontainers\.image\.source/);
  assert.match(refused.stderr, /https:\/\/elsewhere\.example\/hello/);
  assert.match(refused.stderr, /hint: /);
});

test("setuid/setgid/sticky or world-writable modes need allow_special_modes; bad platforms, NUL in env and to = \"/.\" are refused by vox lock", async () => {
  const withCopy = (extra: string) => (toml: string) => toml.replace('to = "/app"', `to = "/app"\n${extra}`);
  for (const mode of ['"7777"', '"4755"', '"0666"']) {
    const refused = await vox(["lock"], project("mode", withCopy(`mode = ${mode}`)));
    assert.equal(refused.status, 1, refused.stderr);
    assert.match(refused.stderr, /Vox\.toml:\d+: deploy\.copy\[0\]\.mode: .*allow_special_modes/);
  }
  const allowed = project("mode-allowed", withCopy('mode = "4755"\nallow_special_modes = true'));
  assert.equal((await vox(["lock"], allowed)).status, 0);
  const built = await vox(["deploy", "build", "--locked", "--json"], allowed);
  assert.equal(built.status, 0, built.stderr);
  const manifest = readJsonBlob(join(allowed, ".vox", "oci"), json(built.stdout).platforms[0]!.manifest);
  assert.match(sh(["tar", "-tvzf", blobPath(join(allowed, ".vox", "oci"), manifest.layers.at(-1).digest)]), /-rwsr-xr-x .* app\/bin\/hello/);

  const cases: Array<[string, (toml: string) => string, RegExp]> = [
    ["dotdot", (t) => t.replace('platforms = ["linux/amd64", "linux/arm64"]', 'platforms = ["linux/.."]'), /deploy\.platforms\[0\]/],
    ["nul", (t) => t.replace('env = { GREETING = "hello from vox" }', 'env = { GREETING = "hello\\u0000world" }'), /deploy\.env\.GREETING: .*NUL/],
    ["dot", (t) => t.replace('to = "/app"', 'to = "/."'), /deploy\.copy\[0\]\.to: .*'\.'/],
  ];
  for (const [name, edit, message] of cases) {
    const result = await vox(["lock"], project(name, edit));
    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stderr, message);
  }
});

// ---- finding 8 -------------------------------------------------------------------------------------------------

test("a symlinked .vox is refused and nothing is written where it points", async () => {
  const dir = project("dotvox");
  const elsewhere = tempDir("dotvox-target");
  symlinkSync(elsewhere, join(dir, ".vox"));
  const result = await vox(["deploy", "build"], dir);
  assert.equal(result.status, 1, result.stderr);
  assert.match(result.stderr, /\.vox.*symbolic link/);
  assert.deepEqual(readdirSync(elsewhere), []);
});

test("a 2000-level deep tree packs, with every level in the layer", async (t) => {
  const dir = project("deep", (toml) => toml.replace('from = "app"', 'from = "d"'));
  // GNU rm, not Node's recursive rm, whose recursion overflows the stack on this tree at exit.
  t.after(() => sh(["rm", "-rf", join(dir, "d")]));
  sh(["sh", "-c", 'i=0; while [ $i -lt 2000 ]; do mkdir d && cd d || exit 1; i=$((i+1)); done; echo bottom > f'], { cwd: dir });
  const built = await vox(["deploy", "build", "--json"], dir);
  assert.equal(built.status, 0, built.stderr);
  const names = lastLayerNames(join(dir, ".vox", "oci"), json(built.stdout).index_digest);
  assert.equal(names.filter((n) => n.endsWith("/")).length, 2000);
  assert.ok(names.includes(`app/${"d/".repeat(1999)}f`));
});

test("on GitHub Actions without GITHUB_REPOSITORY or GITHUB_RUN_ID the builder id is the host's, and GITHUB_SERVER_URL loses its credentials", async () => {
  const dir = project("ci");
  const env = { GITHUB_ACTIONS: "true", GITHUB_SERVER_URL: "https://bot:s3cret-token@github.example", GITHUB_REPOSITORY: "", GITHUB_RUN_ID: "", GITHUB_WORKFLOW_REF: "" };
  const built = await vox(["deploy", "build", "--json"], dir, env);
  assert.equal(built.status, 0, built.stderr);
  const layout = join(dir, ".vox", "oci");
  const entry = JSON.parse(readFileSync(join(layout, "index.json"), "utf8")).manifests.find((m: { artifactType?: string }) => m.artifactType === "application/vnd.in-toto+json");
  const statement = readJsonBlob(layout, readJsonBlob(layout, entry.digest).layers[0].digest);
  const text = JSON.stringify(statement);
  assert.doesNotMatch(text, /undefined/);
  assert.doesNotMatch(text, /s3cret-token|bot@/);
  assert.match(statement.predicate.runDetails.builder.id, /^urn:vox:builder:local:/);

  const withRun = await vox(["deploy", "build", "--json"], dir, { ...env, GITHUB_REPOSITORY: "acme/hello", GITHUB_RUN_ID: "42" });
  assert.equal(withRun.status, 0, withRun.stderr);
  const entries = JSON.parse(readFileSync(join(layout, "index.json"), "utf8")).manifests.filter((m: { artifactType?: string }) => m.artifactType === "application/vnd.in-toto+json");
  const ids = entries.map((e: { digest: string }) => readJsonBlob(layout, readJsonBlob(layout, e.digest).layers[0].digest).predicate.runDetails.builder.id);
  assert.ok(ids.includes("https://github.example/acme/hello/actions/runs/42"), ids.join(" "));
  assert.ok(statSync(layout).isDirectory());
});
