// Installs what `npm test`, `npm run demo` and `npm run bench` need on a fresh machine: npm dependencies
// (npm ci, when node_modules is missing or older than the lockfile) and Debian tools (apt-get, when root).
// Plain Node with built-ins only: it runs before any dependency exists.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/** What the tests, demo and bench execute, and the Debian package that provides it. */
const SYSTEM_NEEDS = [
  { path: "/usr/bin/minisign", pkg: "minisign", why: "signature interop oracle" },
  { path: "/usr/bin/qemu-aarch64-static", pkg: "qemu-user-static", why: "runs linux arm64 builds" },
  { path: "/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1", pkg: "libc6-arm64-cross", why: "arm64 glibc for qemu" },
  { path: "/usr/bin/shellcheck", pkg: "shellcheck", why: "lints install.sh" },
  { path: "/usr/bin/dash", pkg: "dash", why: "runs install.sh as POSIX sh" },
  { path: "/usr/bin/unzip", pkg: "unzip", why: "zip oracle" },
  { path: "/usr/bin/sha256sum", pkg: "coreutils", why: "checksum oracle" },
  { path: "/usr/bin/git", pkg: "git", why: "commit time for SOURCE_DATE_EPOCH" },
  { path: "/usr/bin/hyperfine", pkg: "hyperfine", why: "bench timings" },
  { path: "/usr/bin/time", pkg: "time", why: "bench peak RSS" },
  { path: "/usr/bin/gh", pkg: "gh", why: "bench baseline (a Go CLI)" },
  { path: "/usr/sbin/nginx", pkg: "nginx", why: "static mirror server in tests" },
  { path: "/usr/bin/curl", pkg: "curl", why: "install.sh download and bench baseline" },
  { path: "/usr/bin/python3", pkg: "python3", why: "writes hostile archives in tests" },
  { path: "/usr/bin/clang", pkg: "clang", why: "rebuilds the deflate WebAssembly to check the committed one" },
  { path: "/usr/bin/wasm-ld", pkg: "lld", why: "links the deflate WebAssembly" },
  { path: "/usr/bin/patch", pkg: "patch", why: "applies archive/libdeflate/sync_flush.patch" },
  { path: "/usr/bin/openssl", pkg: "openssl", why: "makes the private CA for the TLS tests" },
  { path: "/usr/bin/setpriv", pkg: "util-linux", why: "runs an upgrade as another user in tests" },
  { path: "/usr/bin/docker-registry", pkg: "docker-registry", why: "the OCI registry the image tests push to" },
  { path: "/usr/bin/skopeo", pkg: "skopeo", why: "independent OCI oracle: inspect and copy images" },
  { path: "/usr/bin/umoci", pkg: "umoci", why: "independent OCI oracle: makes the base image, unpacks ours" },
  { path: "/usr/bin/dpkg-deb", pkg: "dpkg", why: "extracts busybox-static for the test base image" },
  { path: "/usr/bin/gcc", pkg: "gcc", why: "builds a real ELF that dies with SIGILL (wrong-CPU binary) in tests" },
  { path: "/usr/include/stdio.h", pkg: "libc6-dev", why: "C headers and crt files for that ELF" },
  { path: "/usr/bin/podman", pkg: "podman", why: "runs the emitted Compose, Kubernetes and systemd descriptors (vox deploy up/down)" },
  { path: "/usr/sbin/runc", pkg: "runc", why: "the OCI runtime vox deploy run drives, and the one the tests configure Podman with (containers.conf runtime = \"runc\")" },
  { path: "/usr/lib/cni/bridge", pkg: "containernetworking-plugins", why: "vox deploy run networks instances through the CNI reference plugins (bridge, host-local, portmap, loopback)" },
  { path: "/usr/lib/cni/portmap", pkg: "containernetworking-plugins", why: "publishes vox deploy run's ports on the host" },
  { path: "/usr/bin/ip", pkg: "iproute2", why: "vox deploy run's named network namespaces and bridge" },
  { path: "/usr/bin/catatonit", pkg: "catatonit", why: "the init Podman puts in a pod's infra container (podman kube play)" },
  { path: "/usr/sbin/iptables", pkg: "iptables", why: "the portmap and bridge plugins' rules (vox deploy run), and Podman's port publishing on loopback" },
  { path: "/usr/bin/docker-compose", pkg: "docker-compose", why: "validates (config -q) and runs the emitted Compose file against Podman's Docker API" },
  { path: "/usr/bin/kubectl", pkg: "kubernetes-client", why: "checks the emitted Kubernetes objects offline (create --dry-run=client)" },
  { path: "/usr/bin/systemd-analyze", pkg: "systemd", why: "verifies the emitted systemd and Quadlet units" },
  { path: "/usr/bin/qemu-system-x86_64", pkg: "qemu-system-x86", why: "boots materialized ext4 disks under the microvm machine (vox microvm run)" },
  { path: "/usr/sbin/mke2fs", pkg: "e2fsprogs", why: "mke2fs, debugfs and e2fsck make and check the microVM disks (vox oci materialize)" },
  { path: "/usr/bin/lz4", pkg: "lz4", why: "decompresses the kernel inside Debian's bzImage into a vmlinux (microVM tests)" },
  { path: "/usr/bin/xz", pkg: "xz-utils", why: "the same, for kernels compressed with xz" },
];

/** Debian's busybox-static for both image platforms, downloaded (not installed) for the test base image. */
const BUSYBOX_DEBS = "/var/cache/vox-test/debs";
const BUSYBOX_ARCHES = ["amd64", "arm64"];

function run(argv, options = {}) {
  const result = spawnSync(argv[0], argv.slice(1), { stdio: "inherit", cwd: root, ...options });
  if (result.status !== 0) {
    console.error(`prepare: '${argv.join(" ")}' failed with ${result.status ?? result.signal}`);
    process.exit(1);
  }
}

function npmDependencies() {
  const lock = join(root, "package-lock.json");
  const installed = join(root, "node_modules", ".package-lock.json");
  if (existsSync(installed) && statSync(installed).mtimeMs >= statSync(lock).mtimeMs) return;
  console.error("prepare: installing npm dependencies (npm ci)");
  run(["npm", "ci", "--no-audit", "--no-fund"]);
}

function systemTools() {
  const missing = SYSTEM_NEEDS.filter((need) => !existsSync(need.path));
  if (missing.length === 0) return;
  const packages = [...new Set(missing.map((m) => m.pkg))];
  if (process.getuid?.() !== 0) {
    console.error(`prepare: missing ${missing.map((m) => `${m.path} (${m.why})`).join(", ")}`);
    console.error(`prepare: run as root, or install them first: sudo apt-get install -y ${packages.join(" ")}`);
    process.exit(1);
  }
  console.error(`prepare: installing Debian packages: ${packages.join(" ")}`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  run(["apt-get", "update", "-qq"], { env });
  run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", ...packages], { env });
}

function busyboxDebs() {
  const have = existsSync(BUSYBOX_DEBS) ? readdirSync(BUSYBOX_DEBS) : [];
  const missing = BUSYBOX_ARCHES.filter((arch) => !have.some((name) => name.startsWith("busybox-static_") && name.endsWith(`_${arch}.deb`)));
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    console.error(`prepare: missing busybox-static .debs (${missing.join(", ")}) in ${BUSYBOX_DEBS}; run once as root`);
    process.exit(1);
  }
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const foreign = spawnSync("dpkg", ["--print-foreign-architectures"], { encoding: "utf8" }).stdout.split("\n");
  if (!foreign.includes("arm64")) {
    console.error("prepare: enabling arm64 package downloads (dpkg --add-architecture arm64)");
    run(["dpkg", "--add-architecture", "arm64"]);
    run(["apt-get", "update", "-qq"], { env });
  }
  mkdirSync(BUSYBOX_DEBS, { recursive: true });
  // _apt cannot write into a root-only directory; apt-get download then fetches as root, which is what we want here.
  run(["apt-get", "download", "-qq", ...missing.map((arch) => `busybox-static:${arch}`)], { env, cwd: BUSYBOX_DEBS });
}

/**
 * Debian's cloud kernel for the microVM tests, downloaded (never installed) and unpacked with dpkg-deb, plus a
 * vmlinux cut out of its bzImage: the uncompressed kernel boots through its PVH entry, seconds sooner under TCG.
 */
const KERNEL_DIR = "/var/cache/vox-test/kernel";
const KERNEL_META = "linux-image-cloud-amd64";

function microvmKernel() {
  const root = join(KERNEL_DIR, "root");
  const boot = join(root, "boot");
  if (existsSync(boot) && readdirSync(boot).some((name) => name.startsWith("vmlinux-"))) return;
  if (process.getuid?.() !== 0) {
    console.error(`prepare: missing the microVM test kernel in ${KERNEL_DIR}; run once as root`);
    process.exit(1);
  }
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  // The meta package only depends on the versioned one, which holds the kernel: download that.
  const depends = spawnSync("apt-cache", ["depends", KERNEL_META], { encoding: "utf8" }).stdout;
  const pkg = /Depends: (linux-image-[\w.+-]+-cloud-amd64)\b/.exec(depends)?.[1];
  if (!pkg) {
    console.error(`prepare: apt-cache knows no ${KERNEL_META}; run apt-get update`);
    process.exit(1);
  }
  mkdirSync(KERNEL_DIR, { recursive: true });
  if (!readdirSync(KERNEL_DIR).some((name) => name.startsWith(`${pkg}_`) && name.endsWith(".deb"))) run(["apt-get", "download", "-qq", pkg], { env, cwd: KERNEL_DIR });
  const deb = readdirSync(KERNEL_DIR).find((name) => name.startsWith(`${pkg}_`) && name.endsWith(".deb"));
  rmSync(root, { recursive: true, force: true });
  run(["dpkg-deb", "-x", join(KERNEL_DIR, deb), root]);
  const vmlinuz = readdirSync(boot).find((name) => name.startsWith("vmlinuz-"));
  writeFileSync(join(boot, vmlinuz.replace("vmlinuz-", "vmlinux-")), extractVmlinux(readFileSync(join(boot, vmlinuz))));
}

/**
 * The kernel's scripts/extract-vmlinux, in Node: find a compressed stream's magic in the bzImage, decompress from
 * there (trailing bytes make the tool complain, so its exit status is ignored) and keep the first result that is an
 * ELF file.
 */
function extractVmlinux(bzImage) {
  const formats = [
    { magic: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], argv: ["xz", "-dc"] },
    { magic: [0x02, 0x21, 0x4c, 0x18], argv: ["lz4", "-dc"] },
    { magic: [0x28, 0xb5, 0x2f, 0xfd], argv: ["zstd", "-dc"] },
    { magic: [0x1f, 0x8b, 0x08], argv: ["gzip", "-dc"] },
  ];
  for (const { magic, argv } of formats) {
    for (let at = bzImage.indexOf(Buffer.from(magic)); at >= 0; at = bzImage.indexOf(Buffer.from(magic), at + 1)) {
      const out = spawnSync(argv[0], argv.slice(1), { input: bzImage.subarray(at), maxBuffer: 1 << 30 }).stdout;
      if (out && out.length > 4 && out.readUInt32BE(0) === 0x7f454c46) return out;
    }
  }
  console.error("prepare: found no compressed ELF kernel inside the bzImage");
  process.exit(1);
}

npmDependencies();
systemTools();
busyboxDebs();
microvmKernel();
