// `npm run demo`: the main job end to end on this machine. Builds the host's vox and vox-bootstrap as releases
// v0.1.0 and v0.2.0 (trusting a throw-away minisign key), signs and verifies them, mirrors them with a signed index,
// serves the mirror with nginx on loopback, installs v0.1.0 through install.sh into a temporary HOME, upgrades it to
// v0.2.0 through the mirror with `vox upgrade`, and rolls back. Then packages examples/hello as a two-platform OCI
// image on a busybox base served by docker-registry, pushes it with its SBOM and provenance, and runs it under chroot.
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { pushBusyboxBase } from "../tests/support/base_image.ts";
import { type RunningServer, startNginx } from "../tests/support/nginx.ts";
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

let nginx: RunningServer | undefined;
let registry: RunningRegistry | undefined;
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
  rmSync(work, { recursive: true, force: true });
}
