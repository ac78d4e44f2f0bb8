// `vox oci materialize --format ext4` and `vox microvm run` end to end: examples/hello built by vox on the busybox
// base, pushed to docker-registry, materialized from two caches (same sha256), checked by e2fsck and listed with
// debugfs rdump against `vox oci unpack`'s rootfs; then booted under qemu's microvm machine (TCG) with Debian's
// cloud kernel (scripts/prepare.mjs downloads and unpacks it), its output and exit status coming back through vox.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, lstatSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { BUSYBOX_DEBS, pushBusyboxBase } from "./support/base_image.ts";
import { runAsync, bun, repoRoot, tempDir } from "./support/helpers.ts";
import { pushLayout } from "./support/pull_images.ts";
import { type RunningRegistry, startRegistry } from "./support/registry.ts";

const KERNEL_ROOT = "/var/cache/vox-test/kernel/root";
let registry: RunningRegistry;
let layout: string;
let pinned: string;
let busybox: string;
let kernel: string;

function vox(args: readonly string[], env: Record<string, string> = {}) {
  return runAsync(bun, [join(repoRoot, "main.ts"), ...args], { cwd: repoRoot, env: { ...process.env, DOCKER_CONFIG: tempDir("no-docker-config"), ...env } });
}

before(async () => {
  registry = await startRegistry();
  pushBusyboxBase(registry.host);
  const hello = join(tempDir("hello"), "hello");
  cpSync(join(repoRoot, "examples", "hello"), hello, { recursive: true });
  const env = { VOX_REGISTRY_MIRRORS: `docker.io=http://${registry.host}`, VOX_CACHE_DIR: tempDir("build-cache") };
  const run = (args: string[]) => runAsync(bun, [join(repoRoot, "main.ts"), ...args], { cwd: hello, env: { ...process.env, ...env, DOCKER_CONFIG: tempDir("no-docker-config") } });
  const lock = await run(["lock", "--insecure"]);
  assert.equal(lock.status, 0, lock.stderr);
  layout = join(tempDir("layout"), "hello");
  const built = await run(["deploy", "build", "--locked", "--insecure", "--platform", "linux/amd64", "--output", `oci:${layout}:hello`]);
  assert.equal(built.status, 0, built.stderr);
  pushLayout(layout, "hello", `${registry.host}/apps/hello:1`);
  const inspected = JSON.parse(execFileSync("skopeo", ["inspect", "--tls-verify=false", `docker://${registry.host}/apps/hello:1`], { encoding: "utf8" })) as { Digest: string };
  pinned = `${registry.host}/apps/hello@${inspected.Digest}`;
  const debDir = tempDir("busybox-deb");
  execFileSync("dpkg-deb", ["-x", join(BUSYBOX_DEBS, readdirSync(BUSYBOX_DEBS).find((n) => n.startsWith("busybox-static_") && n.endsWith("_amd64.deb"))!), debDir]);
  busybox = join(debDir, "bin", "busybox");
  kernel = join(KERNEL_ROOT, "boot", readdirSync(join(KERNEL_ROOT, "boot")).find((n) => n.startsWith("vmlinux-"))!);
});

after(async () => {
  await registry?.stop();
});

/** Every entry below `root` as one line: type, mode, owner, and the link target or the content's sha256. */
function listing(root: string): string[] {
  const lines: string[] = [];
  const walk = (dir: string, rel: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const stat = lstatSync(path);
      const what = stat.isDirectory() ? "dir" : stat.isSymbolicLink() ? `link ${readlinkSync(path)}` : stat.isFile() ? `file ${execFileSync("sha256sum", [path], { encoding: "utf8" }).split(" ")[0]}` : "other";
      lines.push(`${rel}${name} ${what} ${(stat.mode & 0o7777).toString(8)} ${stat.uid}:${stat.gid}`);
      if (stat.isDirectory()) walk(path, `${rel}${name}/`);
    }
  };
  walk(root, "/");
  return lines;
}

test("materialize: the same image from two caches, unpacked at different times, gives the same ext4 sha256; e2fsck -fn passes; the disk lists as vox oci unpack's rootfs", async () => {
  const out = tempDir("materialize");
  const audit = join(out, "audit.jsonl");
  const first = await vox(["oci", "materialize", pinned, "--insecure", "--format", "ext4", "--output", join(out, "a.ext4"), "--audit", audit, "--json"], { VOX_CACHE_DIR: tempDir("cache-a") });
  assert.equal(first.status, 0, first.stderr);
  // A second, later unpack: every ctime differs, and the rootfs directory's own times are "now".
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const second = await vox(["oci", "materialize", pinned, "--insecure", "--output", join(out, "b.ext4"), "--json"], { VOX_CACHE_DIR: tempDir("cache-b") });
  assert.equal(second.status, 0, second.stderr);
  const a = JSON.parse(first.stdout);
  const b = JSON.parse(second.stdout);
  assert.match(a.sha256, /^sha256:[0-9a-f]{64}$/);
  assert.equal(a.sha256, b.sha256);
  assert.equal(`sha256:${execFileSync("sha256sum", [join(out, "b.ext4")], { encoding: "utf8" }).split(" ")[0]}`, a.sha256);
  const fsck = spawnSync("e2fsck", ["-fn", join(out, "a.ext4")], { encoding: "utf8" });
  assert.equal(fsck.status, 0, fsck.stdout + fsck.stderr);
  assert.match(execFileSync("dumpe2fs", ["-h", join(out, "a.ext4")], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }), new RegExp(`Filesystem UUID:\\s+${a.uuid}`));

  const events = readFileSync(audit, "utf8").trim().split("\n").map((line) => JSON.parse(line));
  const done = events.filter((e) => e.kind === "materialize" && e.detail?.format === "ext4");
  assert.deepEqual(done.map((e) => [e.outcome, e.digest, e.detail.sha256]), [["ok", a.manifest_digest, a.sha256]]);
  assert.ok(events.some((e) => e.kind === "verify" && e.outcome === "ok"), "pulled through the verified path");

  const bundle = join(tempDir("bundle"), "b");
  const unpacked = await vox(["oci", "unpack", pinned, bundle, "--insecure"], { VOX_CACHE_DIR: tempDir("cache-c") });
  assert.equal(unpacked.status, 0, unpacked.stderr);
  const dumped = tempDir("rdump");
  execFileSync("debugfs", ["-R", `rdump / ${dumped}`, join(out, "a.ext4")], { stdio: "ignore" });
  // rdump names the copy of / after the image's root: its children are what we compare.
  const expected = listing(join(bundle, "rootfs"));
  const actual = listing(dumped);
  assert.ok(expected.some((line) => line.startsWith("/app/bin/hello file ")) && expected.some((line) => / link /.test(line)), "the image has files and links");
  assert.deepEqual(actual, expected);
});

test("materialize: a file system the tree cannot fit is refused with a hint, and nothing is left at --output", async () => {
  const out = tempDir("too-small");
  const result = await vox(["oci", "materialize", pinned, "--insecure", "--output", join(out, "small.ext4"), "--size", String(64 * 4096)], { VOX_CACHE_DIR: tempDir("cache-small") });
  assert.equal(result.status, 1, result.stderr);
  assert.match(result.stderr, /Cannot make the ext4 image/);
  assert.match(result.stderr, /hint: .*--size/);
  assert.deepEqual(readdirSync(out), []);
  const odd = await vox(["oci", "materialize", pinned, "--insecure", "--output", join(out, "odd.ext4"), "--size", "1000"], { VOX_CACHE_DIR: tempDir("cache-odd") });
  assert.equal(odd.status, 2, odd.stderr);
});

function bootEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { VOX_MICROVM_KERNEL: kernel, VOX_MICROVM_BUSYBOX: busybox, VOX_CACHE_DIR: tempDir("boot-cache"), ...extra };
}

test("microvm run: examples/hello boots under qemu microvm; /app/bin/hello's output and status 0 come back through vox; the cached disk is unchanged", async () => {
  const manifest = join(tempDir("manifest"), "hello.toml");
  writeFileSync(manifest, 'schema = "vox.platform/v1"\nname = "hello"\n[process]\nentrypoint = ["/app/bin/hello"]\n[resources]\nmemory_limit = "32Mi"\n[security]\nread_only_root_fs = true\nrun_as_user = 65534\n');
  const env = bootEnv();
  const audit = join(tempDir("audit"), "audit.jsonl");
  const result = await vox(["microvm", "run", pinned, "--insecure", "--manifest", manifest, "--audit", audit, "--json"], env);
  assert.equal(result.status, 0, result.stdout + result.stderr);
  assert.match(result.stdout, /^hello from vox on x86_64\n/);
  assert.match(result.stdout, new RegExp(readFileSync(join(repoRoot, "examples", "hello", "app", "share", "greeting.txt"), "utf8").trim().split("\n")[0]!.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));
  const report = JSON.parse(result.stderr.trim().split("\n").at(-1)!);
  assert.equal(report.status, 0);
  assert.deepEqual([report.vcpus, report.mem_mib], [1, 32 + 96]);
  const events = readFileSync(audit, "utf8").trim().split("\n").map((line) => JSON.parse(line));
  assert.deepEqual(events.filter((e) => e.kind === "launch" || e.kind === "stop").map((e) => [e.kind, e.outcome, e.detail.status]), [["launch", "ok", undefined], ["stop", "ok", 0]]);
  assert.equal(`sha256:${execFileSync("sha256sum", [report.disk], { encoding: "utf8" }).split(" ")[0]}`, report.sha256, "booting never changes the cached disk");
});

test("microvm run: a non-zero exit of the entrypoint is vox's exit status; the image's cwd and the manifest's user apply", async () => {
  const manifest = join(tempDir("manifest"), "fail.toml");
  writeFileSync(manifest, 'schema = "vox.platform/v1"\nname = "fail"\n[process]\nentrypoint = ["/bin/sh", "-c", "echo \\"in $PWD as $(id -u)\\"; echo to-stderr >&2; exit 7"]\n[security]\nrun_as_user = 4242\n');
  const result = await vox(["microvm", "run", pinned, "--insecure", "--manifest", manifest], bootEnv());
  assert.equal(result.status, 7, result.stdout + result.stderr);
  assert.match(result.stdout, /^in \/app as 4242\nto-stderr\n$/);
  assert.match(result.stderr, /exited with status 7/);
});

test("microvm run: a VM that ends without the guest reporting a status is exit 125, not success", async () => {
  const notAKernel = join(tempDir("bad-kernel"), "boot");
  execFileSync("mkdir", ["-p", notAKernel]);
  writeFileSync(join(notAKernel, "vmlinux-0.0"), "not a kernel\n");
  const result = await vox(["microvm", "run", pinned, "--insecure"], bootEnv({ VOX_MICROVM_KERNEL: join(notAKernel, "vmlinux-0.0"), VOX_MICROVM_MODULES: join(KERNEL_ROOT, "lib", "modules", readdirSync(join(KERNEL_ROOT, "lib", "modules"))[0]!) }));
  assert.equal(result.status, 125, result.stdout + result.stderr);
  assert.match(result.stderr, /Cannot tell how the entrypoint ended/);
});
