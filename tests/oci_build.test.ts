// `vox lock` and `vox deploy build` end to end: examples/hello on a busybox base made by umoci, served by Debian's
// docker-registry (as a docker.io mirror), checked by skopeo, umoci and chroot, never by vox's own reader.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { pushBusyboxBase } from "./support/base_image.ts";
import { repoRoot, runAsync, tempDir } from "./support/helpers.ts";
import { type RunningRegistry, startRegistry, TOKEN_PASSWORD, TOKEN_USER } from "./support/registry.ts";
import { bun } from "./support/helpers.ts";

const ANNOTATIONS = ["source", "revision", "version", "documentation", "vendor", "licenses", "title", "base.name", "base.digest"].map((k) => `org.opencontainers.image.${k}`);
let plain: RunningRegistry;
let token: RunningRegistry;
let cacheDir: string;

before(async () => {
  plain = await startRegistry();
  token = await startRegistry({ auth: "token" });
  pushBusyboxBase(plain.host);
  cacheDir = tempDir("oci-cache");
});

after(async () => {
  await plain?.stop();
  await token?.stop();
});

/** vox from source under Bun, with docker.io mirrored to the loopback registry; async so the token server can answer. */
async function vox(args: readonly string[], cwd: string, env: Record<string, string> = {}) {
  return runAsync(bun, [join(repoRoot, "main.ts"), ...args], {
    cwd,
    env: { ...process.env, VOX_REGISTRY_MIRRORS: `docker.io=http://${plain.host}`, VOX_CACHE_DIR: cacheDir, DOCKER_CONFIG: tempDir("no-docker-config"), ...env },
  });
}

function sh(argv: readonly string[], options: { cwd?: string; umask?: string } = {}): string {
  const command = options.umask ? ["sh", "-c", `umask ${options.umask} && exec "$@"`, "sh", ...argv] : argv;
  return execFileSync(command[0]!, command.slice(1), { cwd: options.cwd, encoding: "utf8" });
}

/** examples/hello as its own git repository (so source and revision come from git), copied with `umask`. */
function checkout(name: string, umask: string): string {
  const dir = join(tempDir(name), "hello");
  sh(["cp", "-r", join(repoRoot, "examples", "hello"), dir], { umask });
  sh(["chmod", "-R", umask === "077" ? "go-rwx" : "go+r", dir]);
  for (const [cmd, ...rest] of [["init", "-q"], ["add", "."], ["-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-q", "-m", "hello", "--date", "2024-01-01T00:00:00Z"], ["remote", "add", "origin", "git@github.com:vox-foundation/vox.git"]]) {
    sh(["git", "-C", dir, cmd!, ...rest]);
  }
  return dir;
}

function buildJson(stdout: string): { index_digest: string; release: { image_digest: string; manifest_content_hash: string }; platforms: Array<{ platform: string; manifest: string }>; attachments: Array<{ artifact_type: string; digest: string }> } {
  return JSON.parse(stdout);
}

function skopeo(args: readonly string[]): string {
  return sh(["skopeo", ...args]);
}

test("examples/hello builds to the same index digest from two checkouts (umask, mtimes, paths differ); one changed byte changes it", async () => {
  const first = checkout("first", "022");
  const second = join(tempDir("second"), "elsewhere", "hello");
  mkdirSync(join(second, ".."), { recursive: true });
  sh(["git", "clone", "-q", first, second], { umask: "077" });
  sh(["git", "-C", second, "remote", "set-url", "origin", "git@github.com:vox-foundation/vox.git"]);
  utimesSync(join(second, "app", "bin", "hello"), new Date("2001-02-03"), new Date("2001-02-03"));
  const lock = await vox(["lock"], first);
  assert.equal(lock.status, 0, lock.stderr);
  assert.match(readFileSync(join(first, "vox.lock"), "utf8"), /reference = "docker.io\/library\/busybox:1.35"/);
  cpSync(join(first, "vox.lock"), join(second, "vox.lock"));
  const a = await vox(["deploy", "build", "--locked", "--json"], first);
  const b = await vox(["deploy", "build", "--locked", "--insecure", "--json", "--output", `oci:${join(second, "..", "layout")}:hello`], join(second, "app"));
  assert.equal(a.status, 0, a.stderr);
  assert.equal(b.status, 0, b.stderr);
  const built = buildJson(a.stdout);
  assert.match(built.index_digest, /^sha256:[0-9a-f]{64}$/);
  assert.equal(buildJson(b.stdout).index_digest, built.index_digest);
  assert.deepEqual(built.platforms.map((p) => p.platform), ["linux/amd64", "linux/arm64"]);
  assert.equal(built.release.image_digest, built.index_digest);
  // The layout alone is a complete image for an independent tool: skopeo copies every platform out of it unchanged.
  const copied = join(tempDir("layout-copy"), "copy");
  skopeo(["copy", "--quiet", "--all", `oci:${join(first, ".vox", "oci")}:0.1.0`, `oci:${copied}:copy`]);
  assert.equal(JSON.parse(readFileSync(join(copied, "index.json"), "utf8")).manifests[0].digest, built.index_digest);

  writeFileSync(join(second, "app", "share", "greeting.txt"), readFileSync(join(second, "app", "share", "greeting.txt"), "utf8").replace("P", "p"));
  const stale = await vox(["deploy", "build", "--locked", "--insecure"], second);
  assert.equal(stale.status, 1);
  assert.match(stale.stderr, /vox\.lock is stale/);
  assert.match(stale.stderr, /input 'app'/);
  assert.match(stale.stderr, /hint: Run `vox lock`/);
  const relocked = await vox(["lock", "--insecure"], second);
  assert.equal(relocked.status, 0, relocked.stderr);
  const changed = await vox(["deploy", "build", "--locked", "--insecure", "--json"], second);
  assert.equal(changed.status, 0, changed.stderr);
  assert.notEqual(buildJson(changed.stdout).index_digest, built.index_digest);
});

test("the pushed image is an index for linux/amd64 and linux/arm64 with every annotation; SBOM and provenance are referrers", async () => {
  const project = checkout("push", "022");
  const target = `${plain.host}/apps/hello:0.1.0`;
  const result = await vox(["deploy", "build", "--insecure", "--json", "--push", target], project);
  assert.equal(result.status, 0, result.stderr);
  const built = buildJson(result.stdout);
  const raw = JSON.parse(skopeo(["inspect", "--raw", "--tls-verify=false", `docker://${target}`]));
  assert.equal(raw.mediaType, "application/vnd.oci.image.index.v1+json");
  assert.deepEqual(raw.manifests.map((m: { platform: { os: string; architecture: string } }) => `${m.platform.os}/${m.platform.architecture}`), ["linux/amd64", "linux/arm64"]);
  assert.equal(`sha256:${sh(["sh", "-c", `skopeo inspect --raw --tls-verify=false docker://${target} | sha256sum`]).split(" ")[0]}`, built.index_digest);
  for (const key of ANNOTATIONS) assert.ok(raw.annotations[key], `index annotation ${key}`);
  assert.equal(raw.annotations["org.opencontainers.image.source"], "https://github.com/vox-foundation/vox");
  assert.equal(raw.annotations["org.opencontainers.image.revision"], sh(["git", "-C", project, "rev-parse", "HEAD"]).trim());
  assert.equal(raw.annotations["org.opencontainers.image.base.name"], "docker.io/library/busybox:1.35");
  for (const platform of raw.manifests) {
    const manifest = JSON.parse(skopeo(["inspect", "--raw", "--tls-verify=false", `docker://${plain.host}/apps/hello@${platform.digest}`]));
    for (const key of ANNOTATIONS) assert.ok(manifest.annotations[key], `manifest annotation ${key}`);
    const config = JSON.parse(skopeo(["inspect", "--config", "--raw", "--tls-verify=false", `docker://${plain.host}/apps/hello@${platform.digest}`]));
    for (const key of ANNOTATIONS) assert.equal(config.config.Labels[key], manifest.annotations[key], `label ${key} mirrors the annotation`);
  }
  // docker-registry 2.8 predates the referrers API: the fallback tag sha256-<hex> lists them.
  const referrers = JSON.parse(skopeo(["inspect", "--raw", "--tls-verify=false", `docker://${plain.host}/apps/hello:${built.index_digest.replace(":", "-")}`]));
  assert.deepEqual(referrers.manifests.map((m: { artifactType: string }) => m.artifactType).sort(), ["application/vnd.cyclonedx+json", "application/vnd.in-toto+json"]);
  const provenanceManifest = JSON.parse(skopeo(["inspect", "--raw", "--tls-verify=false", `docker://${plain.host}/apps/hello@${referrers.manifests.find((m: { artifactType: string }) => m.artifactType === "application/vnd.in-toto+json").digest}`]));
  assert.equal(provenanceManifest.subject.digest, built.index_digest);
});

test("skopeo copies the pushed image to a layout, umoci unpacks it, and the amd64 rootfs runs its entrypoint under chroot", async () => {
  const project = checkout("run", "022");
  const target = `${plain.host}/apps/run:0.1.0`;
  const result = await vox(["deploy", "build", "--insecure", "--push", target], project);
  assert.equal(result.status, 0, result.stderr);
  const work = tempDir("unpack");
  for (const arch of ["amd64", "arm64"]) {
    skopeo(["copy", "--quiet", "--src-tls-verify=false", "--override-arch", arch, `docker://${target}`, `oci:${join(work, "layout")}:${arch}`]);
    sh(["umoci", "unpack", "--image", `${join(work, "layout")}:${arch}`, join(work, arch)]);
  }
  const rootfs = join(work, "amd64", "rootfs");
  assert.equal(sh(["stat", "-c", "%a %u:%g", join(rootfs, "app", "bin", "hello")]).trim(), "755 0:0");
  assert.equal(sh(["stat", "-c", "%a", join(rootfs, "app", "share", "greeting.txt")]).trim(), "644");
  const runtime = JSON.parse(readFileSync(join(work, "amd64", "config.json"), "utf8")).process as { args: string[]; env: string[]; cwd: string };
  assert.deepEqual(runtime.args, ["/app/bin/hello"]);
  assert.equal(runtime.cwd, "/app");
  const run = spawnSync("chroot", [rootfs, "/bin/env", "-i", ...runtime.env, ...runtime.args], { encoding: "utf8" });
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stdout, `hello from vox on x86_64\n${readFileSync(join(repoRoot, "examples", "hello", "app", "share", "greeting.txt"), "utf8")}`);
  const arm = join(work, "arm64", "rootfs");
  assert.match(sh(["qemu-aarch64-static", join(arm, "bin", "busybox"), "uname", "-m"]), /^aarch64/);
  assert.equal(readFileSync(join(arm, "app", "bin", "hello"), "utf8"), readFileSync(join(rootfs, "app", "bin", "hello"), "utf8"));
});

test("pushing to a token-auth registry uses Docker config.json credentials; anonymous pushes are refused with a login hint", async () => {
  const project = checkout("token", "022");
  const target = `${token.host}/team/hello:0.1.0`;
  const anonymous = await vox(["deploy", "build", "--insecure", "--push", target], project);
  assert.equal(anonymous.status, 1);
  assert.match(anonymous.stderr, /docker login/);
  const dockerConfig = tempDir("docker-config");
  writeFileSync(join(dockerConfig, "config.json"), JSON.stringify({ auths: { [token.host]: { auth: Buffer.from(`${TOKEN_USER}:${TOKEN_PASSWORD}`).toString("base64") } } }));
  const pushed = await vox(["deploy", "build", "--insecure", "--json", "--push", target], project, { DOCKER_CONFIG: dockerConfig });
  assert.equal(pushed.status, 0, pushed.stderr);
  const digest = buildJson(pushed.stdout).index_digest;
  assert.ok(token.tokenServer!.requests.some((r) => r.user === TOKEN_USER && r.scopes.some((s) => s === "repository:team/hello:pull,push")));
  // Asynchronously: the token server skopeo needs runs in this process.
  const inspected = await runAsync("skopeo", ["inspect", "--raw", "--tls-verify=false", "--creds", `${TOKEN_USER}:${TOKEN_PASSWORD}`, `docker://${target}`]);
  assert.equal(inspected.status, 0, inspected.stderr);
  assert.equal(`sha256:${execFileSync("sha256sum", { input: inspected.stdout, encoding: "utf8" }).split(" ")[0]}`, digest);
});

test("--frozen builds offline from the cache (all or some locked platforms), and refuses a platform outside the lock or a cache that lacks a base blob", async () => {
  const project = checkout("frozen", "022");
  assert.equal((await vox(["lock", "--insecure"], project)).status, 0);
  const online = await vox(["deploy", "build", "--locked", "--insecure", "--json"], project);
  assert.equal(online.status, 0, online.stderr);
  const offline = { VOX_REGISTRY_MIRRORS: "docker.io=127.0.0.1:9" };
  const frozen = await vox(["deploy", "build", "--frozen", "--json", "--output", `oci:${tempDir("frozen-out")}`], project, offline);
  assert.equal(frozen.status, 0, frozen.stderr);
  assert.equal(buildJson(frozen.stdout).index_digest, buildJson(online.stdout).index_digest);
  const amd64Only = await vox(["deploy", "build", "--frozen", "--json", "--platform", "linux/amd64", "--output", `oci:${tempDir("frozen-amd64")}`], project, offline);
  assert.equal(amd64Only.status, 0, amd64Only.stderr);
  assert.deepEqual(buildJson(amd64Only.stdout).platforms.map((p) => p.platform), ["linux/amd64"]);
  const unlisted = await vox(["deploy", "build", "--frozen", "--platform", "linux/riscv64"], project, offline);
  assert.equal(unlisted.status, 2);
  assert.match(unlisted.stderr, /linux\/riscv64: not in deploy\.platforms/);
  const empty = await vox(["deploy", "build", "--frozen", "--output", `oci:${tempDir("frozen-empty")}`], project, { ...offline, VOX_CACHE_DIR: tempDir("empty-cache") });
  assert.equal(empty.status, 1);
  assert.match(empty.stderr, /--frozen: base index sha256:[0-9a-f]{64} .* is not in the cache/);
});

test("a registry behind a private CA is trusted through VOX_CA_BUNDLE, and refused without it", async () => {
  const pki = tempDir("registry-pki");
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-days", "2", "-keyout", join(pki, "key.pem"), "-out", join(pki, "cert.pem")], { stdio: "ignore" });
  const secure = await startRegistry({ tls: { certificate: join(pki, "cert.pem"), key: join(pki, "key.pem") } });
  try {
    const project = checkout("private-ca", "022");
    const target = `${secure.host}/apps/hello:0.1.0`;
    const untrusted = await vox(["deploy", "build", "--push", target], project);
    assert.equal(untrusted.status, 1);
    assert.match(untrusted.stderr, /VOX_CA_BUNDLE/);
    const trusted = await vox(["deploy", "build", "--json", "--push", target], project, { VOX_CA_BUNDLE: join(pki, "cert.pem") });
    assert.equal(trusted.status, 0, trusted.stderr);
    const digest = buildJson(trusted.stdout).index_digest;
    // skopeo reads CA roots from *.crt files in --cert-dir.
    const certDir = tempDir("skopeo-certs");
    cpSync(join(pki, "cert.pem"), join(certDir, "ca.crt"));
    const inspected = skopeo(["inspect", "--raw", "--cert-dir", certDir, `docker://${target}`]);
    assert.equal(`sha256:${execFileSync("sha256sum", { input: inspected, encoding: "utf8" }).split(" ")[0]}`, digest);
  } finally {
    await secure.stop();
  }
});

test("vox deploy schema prints a JSON Schema that describes [deploy] and [[deploy.copy]]", async () => {
  const result = await vox(["deploy", "schema"], repoRoot);
  assert.equal(result.status, 0, result.stderr);
  const schema = JSON.parse(result.stdout);
  assert.equal(schema.$schema, "https://json-schema.org/draft/2020-12/schema");
  assert.ok(schema.properties.deploy.properties.copy);
  assert.ok(schema.properties.deploy.properties.platforms);
});

test("a Vox.toml error names the file, line and key, and exits 1 without writing a lock", async () => {
  const project = checkout("bad", "022");
  writeFileSync(join(project, "Vox.toml"), readFileSync(join(project, "Vox.toml"), "utf8").replace('workdir = "/app"', 'workdir = "app"'));
  const result = await vox(["lock", "--insecure"], join(project, "app"));
  assert.notEqual(result.status, 0);
  assert.match(result.stderr, /Vox\.toml:\d+: deploy\.workdir/);
  assert.equal(spawnSync("test", ["-e", join(project, "vox.lock")]).status, 1);
  rmSync(project, { recursive: true, force: true });
});
