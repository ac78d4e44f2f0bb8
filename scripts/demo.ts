// `npm run demo`: the main job end to end on this machine. Builds the host's vox and vox-bootstrap as releases
// v0.1.0 and v0.2.0 (trusting a throw-away minisign key), signs and verifies them, mirrors them with an index signed
// by a separate mirror key, serves the mirror with nginx on loopback, installs v0.1.0 with the released install.sh,
// upgrades it to v0.2.0 through the mirror with `vox upgrade`, and rolls back. Then packages examples/hello as a
// two-platform OCI image on a busybox base served by docker-registry, pushes it with its SBOM and provenance, runs
// the CI image gates, validates its platform manifest, releases it, emits every descriptor target, brings the Compose
// output up on Podman and curls it, rolls the Release log back; pulls the image into a cache scope and unpacks it
// (a hostile layer refused, the audit log shown); runs it under runc with CNI, rolls a changed release out under a
// curl loop and watches a broken one fail while the old keeps serving; boots it in a qemu microVM from a
// reproducible ext4 disk; and checks that the command table, its registry, the README, --help and completions agree.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { pushBusyboxBase } from "../tests/support/base_image.ts";
import { writeLayout } from "../tests/support/hostile_layers.ts";
import { type RunningServer, startNginx } from "../tests/support/nginx.ts";
import { type RunningPodman, startPodman } from "../tests/support/podman.ts";
import { type RunningRegistry, startRegistry } from "../tests/support/registry.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bun = join(root, "node_modules", ".bin", "bun");
const work = mkdtempSync(join(tmpdir(), "vox-demo-"));
const www = join(work, "www");
const tags = ["v0.1.0", "v0.2.0"];

function step(title: string): void {
  console.log(`\n== ${title}`);
}

function run(argv: string[], options: { capture?: boolean; env?: Record<string, string>; okCodes?: number[]; cwd?: string } = {}): string {
  const result = spawnSync(argv[0]!, argv.slice(1), { cwd: options.cwd ?? root, encoding: "utf8", env: { ...process.env, ...options.env }, stdio: ["ignore", options.capture ? "pipe" : "inherit", "inherit"] });
  if (result.status !== 0 && !options.okCodes?.includes(result.status ?? -1)) throw new Error(`${argv.join(" ")} exited ${result.status}`);
  return result.stdout ?? "";
}

const vox = (args: string[], options: { capture?: boolean } = {}) => run([bun, join(root, "main.ts"), ...args], options);

/** Like run(), without blocking the event loop (a curl loop of this process's runs beside it); stderr passes through. */
function runAsync(argv: string[], options: { env?: Record<string, string>; cwd?: string }): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: options.cwd ?? root, env: { ...process.env, ...options.env }, stdio: ["ignore", "pipe", "inherit"] });
    let stdout = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.on("close", (code) => (code === 0 ? resolve(stdout.trimEnd()) : reject(new Error(`${argv.join(" ")} exited ${code}`))));
  });
}

let nginx: RunningServer | undefined;
let registry: RunningRegistry | undefined;
let podman: RunningPodman | undefined;

/** The first answer of a service just started (its port may take a moment to be published). */
async function fetchWithRetry(url: string): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      const response = await fetch(url);
      if (response.ok) return (await response.text()).trim();
      throw new Error(`${url} answered ${response.status}`);
    } catch (error) {
      if (attempt >= 30) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}
try {
  step("throw-away release key (minisign -G -W); only its public half is embedded in the builds");
  execFileSync("minisign", ["-G", "-W", "-p", join(work, "demo.pub"), "-s", join(work, "demo.sec")], { stdio: "ignore" });
  console.log(readFileSync(join(work, "demo.pub"), "utf8").trim());

  const reports: Array<{ tag: string; dir: string; artifacts: Array<{ basename: string; sha256: string; size: number; triple: string }>; smoke: Array<{ basename: string; status: string; detail: string }> }> = [];
  for (const tag of tags) {
    const dir = join(www, "upstream", "releases", "download", tag);
    step(`vox ci release-build --version ${tag} (host triple, vox + vox-bootstrap, smoke-tested), then vox ci sign`);
    const report = JSON.parse(vox(["ci", "release-build", "--version", tag, "--out-dir", dir, "--trusted-key", join(work, "demo.pub"), "--json"], { capture: true }));
    vox(["ci", "sign", "--key", join(work, "demo.sec"), "--tag", tag, join(dir, "checksums.txt")], { capture: true });
    console.log(readFileSync(join(dir, "checksums.txt.minisig"), "utf8").split("\n")[2]);
    reports.push({ tag, dir, ...report });
  }

  const bin = join(work, "bin");
  mkdirSync(bin);
  const newest = reports.at(-1)!;
  const hostVox = newest.artifacts.find((a) => a.basename.startsWith("vox-v"))!;
  execFileSync("tar", ["-xzf", join(newest.dir, hostVox.basename), "-C", bin]);
  const builtVox = join(bin, "vox");

  step("the built vox verifies each release (signature → sha256 → archive structure); oracles agree");
  for (const { tag, dir } of reports) console.log(run([builtVox, "ci", "verify", dir, "--tag", tag], { capture: true }).trimEnd());
  console.log(execFileSync("sha256sum", ["-c", "checksums.txt"], { cwd: newest.dir, encoding: "utf8" }).trimEnd());
  console.log(execFileSync("minisign", ["-V", "-p", join(work, "demo.pub"), "-m", join(newest.dir, "checksums.txt")], { encoding: "utf8" }).trimEnd());
  console.log(execFileSync("tar", ["-tvzf", join(newest.dir, hostVox.basename)], { encoding: "utf8" }).trimEnd());

  step("nginx on loopback serves the releases; vox mirror sync copies them into a mirror whose index is signed by a mirror key");
  nginx = await startNginx(www);
  const mirrorDir = join(www, "mirror", "releases");
  // A mirror key vouches for the listing and its freshness only; clients trust it with VOX_MIRROR_KEY, never for releases.
  execFileSync("minisign", ["-G", "-W", "-p", join(work, "mirror.pub"), "-s", join(work, "mirror.sec")], { stdio: "ignore" });
  const mirrorKeyEnv = { VOX_MIRROR_KEY: readFileSync(join(work, "mirror.pub"), "utf8").trim().split("\n").at(-1)! };
  console.log(run([builtVox, "mirror", "sync", "--from-base-url", `${nginx.url}/upstream/releases`, "--to", mirrorDir, "--version", "v0.1.0", "--version", "v0.2.0", "--key", join(work, "mirror.sec")], { capture: true }).trimEnd());
  console.log(run([builtVox, "mirror", "verify", mirrorDir, "--mirror-key", join(work, "mirror.pub")], { capture: true }).trimEnd());

  step("the released install.sh (trusted keys embedded) under dash, from the mirror, into a temporary HOME (VOX_VERSION=v0.1.0)");
  const home = join(work, "home");
  mkdirSync(home);
  const base = `${nginx.url}/mirror/releases`;
  // The loopback mirror is plain http: install.sh takes it only when named exactly, and then verifies the signature itself.
  const installEnv = { VOX_UPGRADE_BASE_URL: base, VOX_INSECURE_HTTP_MIRROR: base, VOX_VERSION: "v0.1.0", HOME: home };
  console.log(`$ curl -fsSL ${base}/download/v0.1.0/install.sh | VOX_UPGRADE_BASE_URL=${base} VOX_INSECURE_HTTP_MIRROR=${base} VOX_VERSION=v0.1.0 HOME=${home} dash`);
  run(["dash", "-c", `curl -fsSL --proto '=http,https' ${base}/download/v0.1.0/install.sh | dash`], { env: installEnv });
  const installed = join(home, ".vox", "bin", "vox");
  const receipt = JSON.parse(readFileSync(join(home, ".vox", "bin", ".vox-receipt.json"), "utf8"));
  console.log(`$ ${installed} --version → ${execFileSync(installed, ["--version"], { encoding: "utf8" }).trim()}`);
  console.log(`receipt: ${receipt.source} ${receipt.tag} for ${receipt.triple} from ${receipt.origin}; files ${receipt.files.join(", ")}; profile ${receipt.profileEdits.join(", ")}`);

  step("vox upgrade through the mirror (latest from its signed index), then vox upgrade --rollback");
  const upgradeEnv = { HOME: home, VOX_UPGRADE_BASE_URL: base, ...mirrorKeyEnv };
  console.log(`$ vox upgrade --check → ${run([installed, "upgrade", "--check"], { capture: true, env: upgradeEnv, okCodes: [10] }).trim()}`);
  console.log(`$ vox upgrade → ${run([installed, "upgrade"], { capture: true, env: upgradeEnv }).trim()}`);
  console.log(`$ vox --version → ${execFileSync(installed, ["--version"], { encoding: "utf8" }).trim()}`);
  console.log(`$ vox upgrade --rollback --json → ${run([installed, "upgrade", "--rollback", "--json"], { capture: true, env: upgradeEnv }).trim()}`);
  console.log(`$ vox --version → ${execFileSync(installed, ["--version"], { encoding: "utf8" }).trim()}`);

  step("packaging: a busybox base made by umoci from Debian's busybox-static, served by docker-registry as a docker.io mirror");
  registry = await startRegistry();
  const baseRef = pushBusyboxBase(registry.host);
  console.log(`base ${baseRef} (skopeo copy --all of a two-platform index)`);
  const hello = join(work, "hello");
  cpSync(join(root, "examples", "hello"), hello, { recursive: true });
  // A work tree of its own, as a real project is: the image's source and revision annotations come from git.
  for (const argv of [["init", "-q"], ["add", "."], ["-c", "user.name=demo", "-c", "user.email=demo@example.invalid", "commit", "-q", "-m", "hello"]]) execFileSync("git", ["-C", hello, ...argv]);
  // An empty Docker config of the demo's own: no credentials of this machine's user are read (podman reads it too).
  mkdirSync(join(work, "docker"));
  writeFileSync(join(work, "docker", "config.json"), "{}\n");
  const packagingEnv = { VOX_REGISTRY_MIRRORS: `docker.io=http://${registry.host}`, VOX_CACHE_DIR: join(work, "cache"), DOCKER_CONFIG: join(work, "docker") };
  const inHello = (args: string[]) => run([builtVox, ...args], { capture: true, env: packagingEnv, cwd: hello }).trimEnd();
  step("vox lock: examples/hello's base resolved to digests, its input files hashed");
  console.log(inHello(["lock"]));
  step("vox deploy build --locked: the OCI layout, then the same build pushed with its SBOM and provenance");
  console.log(inHello(["deploy", "build", "--locked", "--output", `oci:${join(work, "hello-image")}:0.1.0`]));
  const pushed = JSON.parse(inHello(["deploy", "build", "--locked", "--insecure", "--json", "--output", `oci:${join(work, "hello-image")}:0.1.0`, "--push", `${registry.host}/apps/hello:0.1.0`]));
  console.log(`pushed ${pushed.pushed.reference}; referrers via ${pushed.pushed.referrers}`);
  const index = JSON.parse(execFileSync("skopeo", ["inspect", "--raw", "--tls-verify=false", `docker://${registry.host}/apps/hello:0.1.0`], { encoding: "utf8" }));
  console.log(`skopeo inspect --raw: ${index.mediaType}, platforms ${index.manifests.map((m: { platform: { os: string; architecture: string } }) => `${m.platform.os}/${m.platform.architecture}`).join(" ")}`);
  if (process.getuid?.() === 0) {
    step("skopeo copy (host platform) → umoci unpack → chroot runs the entrypoint");
    execFileSync("skopeo", ["copy", "--quiet", "--src-tls-verify=false", `docker://${registry.host}/apps/hello:0.1.0`, `oci:${join(work, "pulled")}:hello`]);
    execFileSync("umoci", ["unpack", "--image", `${join(work, "pulled")}:hello`, join(work, "bundle")]);
    const processSpec = JSON.parse(readFileSync(join(work, "bundle", "config.json"), "utf8")).process as { args: string[]; env: string[] };
    console.log(execFileSync("chroot", [join(work, "bundle", "rootfs"), "/bin/env", "-i", ...processSpec.env, ...processSpec.args], { encoding: "utf8" }).trimEnd());
  }
  console.log(`release (${pushed.release.image_digest}, ${pushed.release.manifest_content_hash})`);

  step("vox ci image-policy: the CI gates on the pushed image (pinned base, lock, platforms, SBOM, provenance, annotations)");
  console.log(inHello(["ci", "image-policy", "--insecure", "--project", ".", `${registry.host}/apps/hello:0.1.0`]));

  step("platform manifest: vox deploy validate --explain (every default it applies), then the content hash");
  console.log(inHello(["deploy", "validate", "--explain"]).split("\n").slice(0, 14).join("\n"));
  console.log(`content_hash ${JSON.parse(inHello(["deploy", "validate", "--json"])).content_hash}`);

  step("vox deploy build --locked into the project's own layout, then vox deploy release: the tuple appended to the hash-chained log");
  console.log(inHello(["deploy", "build", "--locked"]));
  console.log(inHello(["deploy", "release"]));

  step("vox deploy emit for every target: the image pinned by digest; what a target cannot express is listed, never dropped");
  for (const target of ["compose", "kubernetes", "quadlet", "systemd", "firecracker"]) {
    const emitted = JSON.parse(inHello(["deploy", "emit", "--target", target, "--out", join(work, "descriptors", target), "--json"])) as { files: string[]; not_expressible: Array<{ field: string }> };
    console.log(`${target.padEnd(12)} ${emitted.files.join(", ")}; not expressible: ${emitted.not_expressible.map((n) => n.field).join(", ") || "nothing"}`);
  }

  if (process.getuid?.() === 0) {
    step("vox deploy up --target compose on Podman (docker-compose on its API socket), curl the published port, vox deploy down");
    podman = await startPodman();
    const onPodman = (args: string[]) => run([builtVox, ...args], { capture: true, env: { ...packagingEnv, ...podman!.env }, cwd: hello }).trimEnd();
    console.log(onPodman(["deploy", "up", "--target", "compose"]));
    console.log(`$ curl http://127.0.0.1:8080/greeting.txt → ${await fetchWithRetry("http://127.0.0.1:8080/greeting.txt")}`);
    console.log(onPodman(["deploy", "down", "--target", "compose"]));
  }

  step("a changed manifest released, then vox deploy rollback re-records the first tuple (never a tag); the log, verified");
  writeFileSync(join(hello, "vox.platform.toml"), readFileSync(join(hello, "vox.platform.toml"), "utf8").replace('cpu = "50m"', 'cpu = "100m"'));
  console.log(inHello(["deploy", "release"]));
  console.log(inHello(["deploy", "rollback"]));
  console.log(inHello(["deploy", "releases"]));
  console.log(inHello(["deploy", "releases", "verify"]));

  step("verified pull into a scope: a mutable tag said so, --require-digest refuses it, the digest pulls; then verify and the cache");
  const ociEnv = { ...packagingEnv, VOX_AUDIT_LOG: join(work, "audit.jsonl") };
  const oci = (args: string[], okCodes: number[] = []) => run([builtVox, "oci", ...args], { capture: true, env: ociEnv, okCodes }).trimEnd();
  const helloRef = `${registry.host}/apps/hello:0.1.0`;
  const pulledImage = JSON.parse(oci(["pull", "--insecure", "--scope", "demo", helloRef, "--json"])) as { resolved_digest: string };
  console.log(`pulled ${helloRef} → ${pulledImage.resolved_digest}`);
  oci(["pull", "--insecure", "--scope", "demo", "--require-digest", helloRef], [1]);
  console.log(oci(["pull", "--insecure", "--scope", "demo", "--require-digest", `${registry.host}/apps/hello@${pulledImage.resolved_digest}`]));
  console.log(oci(["verify", "--scope", "demo", helloRef]));
  console.log(oci(["cache", "ls"]));

  step("vox oci unpack under the default policy into a runtime bundle; one hostile layer ('../../etc/pwned') refused; the audit log");
  console.log(oci(["unpack", helloRef, join(work, "hello-bundle"), "--scope", "demo", "--insecure"]));
  writeLayout(join(work, "hostile"), "evil", { layers: [{ entries: [{ name: "../../etc/pwned", text: "x\n" }] }] });
  oci(["unpack", `oci:${join(work, "hostile")}:evil`, join(work, "hostile-bundle")], [1]);
  for (const line of readFileSync(join(work, "audit.jsonl"), "utf8").trim().split("\n")) {
    const event = JSON.parse(line) as { kind: string; outcome: string; reference: string | null; digest: string | null; detail?: { rule?: string } };
    console.log(`  audit ${event.kind.padEnd(11)} ${event.outcome.padEnd(8)} ${event.reference ?? ""} ${event.digest?.slice(0, 19) ?? ""} ${event.detail?.rule ?? ""}`.trimEnd());
  }

  if (process.getuid?.() === 0) {
    step("vox deploy run: the latest Release under runc with CNI networking, healthy before it returns; curl its published port");
    const runEnv = { ...ociEnv, VOX_STATE_DIR: join(work, "state"), VOX_DATA_DIR: join(work, "data") };
    const inRun = (args: string[], okCodes: number[] = []) => run([builtVox, ...args], { capture: true, env: runEnv, cwd: hello, okCodes }).trimEnd();
    const greetingUrl = "http://127.0.0.1:18080/greeting.txt";
    console.log(inRun(["deploy", "release", "--insecure", "--image", `${registry.host}/apps/hello@${pushed.release.image_digest}`, "--push", `${registry.host}/apps/hello`]));
    console.log(inRun(["deploy", "run", "--insecure", "--publish", "8080:18080"]));
    console.log(`$ curl ${greetingUrl} → ${await fetchWithRetry(greetingUrl)}`);

    step("a changed image released and rolled out (rolling) while a curl loop runs: no failed request; then a broken release");
    writeFileSync(join(hello, "app", "share", "greeting.txt"), "hello again, from the next release\n");
    const next = JSON.parse(inRun(["deploy", "build", "--insecure", "--json", "--push", `${registry.host}/apps/hello:0.2.0`])) as { index_digest: string };
    console.log(inRun(["deploy", "release", "--insecure", "--image", `${registry.host}/apps/hello@${next.index_digest}`, "--push", `${registry.host}/apps/hello`]));
    const stopFile = join(work, "stop-curl-loop");
    const loop = spawn("sh", ["-c", `n=0; ok=0; while [ ! -e ${stopFile} ]; do if curl -fsS -o /dev/null ${greetingUrl}; then ok=$((ok+1)); else n=$((n+1)); fi; done; echo "$ok $n"`], { stdio: ["ignore", "pipe", "inherit"] });
    let loopOut = "";
    loop.stdout.setEncoding("utf8").on("data", (chunk: string) => (loopOut += chunk));
    const loopDone = new Promise((resolve) => loop.on("close", resolve));
    console.log(await runAsync([builtVox, "deploy", "run", "--insecure"], { env: runEnv, cwd: hello }));
    writeFileSync(stopFile, "");
    await loopDone;
    const [served, failed] = loopOut.trim().split(" ");
    console.log(`curl loop during the rollout: ${served} requests served, ${failed} failed`);
    console.log(`$ curl ${greetingUrl} → ${await fetchWithRetry(greetingUrl)}`);
    writeFileSync(join(hello, "vox.platform.toml"), readFileSync(join(hello, "vox.platform.toml"), "utf8").replace('path = "/greeting.txt"', 'path = "/missing.txt"'));
    console.log(inRun(["deploy", "release", "--insecure", "--image", `${registry.host}/apps/hello@${next.index_digest}`, "--push", `${registry.host}/apps/hello`]));
    inRun(["deploy", "run", "--insecure"], [1]);
    console.log(`the broken release never became healthy; the previous one still answers: curl → ${await fetchWithRetry(greetingUrl)}`);
    console.log(inRun(["deploy", "ps"]));
    console.log(inRun(["deploy", "rm"]));
  }

  const kernelDir = "/var/cache/vox-test/kernel/root/boot";
  const kernel = existsSync(kernelDir) ? readdirSync(kernelDir).find((name) => name.startsWith("vmlinux-")) : undefined;
  if (kernel && process.getuid?.() === 0) {
    step("microVM: the image as a reproducible ext4 disk, booted under qemu microvm; the entrypoint's output comes back");
    const busyboxDeb = readdirSync("/var/cache/vox-test/debs").find((name) => name.startsWith("busybox-static_") && name.endsWith("_amd64.deb"))!;
    execFileSync("dpkg-deb", ["-x", join("/var/cache/vox-test/debs", busyboxDeb), join(work, "bb")]);
    const image = `oci:${join(work, "hello-image")}:0.1.0`;
    console.log(run([builtVox, "oci", "materialize", image, "--platform", "linux/amd64", "--format", "ext4", "--output", join(work, "hello.ext4")], { capture: true, env: ociEnv }).trimEnd());
    writeFileSync(join(work, "hello-vm.toml"), 'schema = "vox.platform/v1"\nname = "hello"\n[process]\nentrypoint = ["/app/bin/hello"]\n[resources]\nmemory_limit = "32Mi"\n[security]\nread_only_root_fs = true\nrun_as_user = 65534\n');
    const vmEnv = { ...ociEnv, VOX_MICROVM_KERNEL: join(kernelDir, kernel), VOX_MICROVM_BUSYBOX: join(work, "bb", "bin", "busybox") };
    console.log(run([builtVox, "microvm", "run", image, "--platform", "linux/amd64", "--manifest", join(work, "hello-vm.toml")], { capture: true, env: vmEnv }).trimEnd());
  }

  step("vox ci command-compliance: the command table, contracts/cli/command-registry.yaml, the README table, --help and completions agree");
  console.log(run([builtVox, "ci", "command-compliance"], { capture: true, cwd: root }).trimEnd());

  step("summary");
  for (const report of reports) {
    for (const artifact of report.artifacts) {
      const smoke = report.smoke.find((s) => s.basename === artifact.basename);
      console.log(`  ${artifact.basename.padEnd(52)} ${(artifact.size / 1048576).toFixed(1).padStart(5)} MiB  sha256 ${artifact.sha256.slice(0, 16)}…  smoke ${smoke?.status} (${smoke?.detail})`);
    }
  }
  console.log(`  mirror ${base} (signed index); installed ${receipt.version} at ${installed}, upgraded to 0.2.0, rolled back to ${execFileSync(installed, ["--version"], { encoding: "utf8" }).trim()}`);
  console.log("demo: ok");
} finally {
  await nginx?.stop();
  await registry?.stop();
  await podman?.stop();
  rmSync(work, { recursive: true, force: true });
}
