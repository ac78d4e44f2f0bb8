// The busybox base image the OCI tests build on, made by independent tools (dpkg-deb, umoci, sha256sum, skopeo),
// never by vox: a two-platform index (linux/amd64, linux/arm64) over Debian's busybox-static builds.
import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Where scripts/prepare.mjs puts `apt-get download busybox-static:{amd64,arm64}`. */
export const BUSYBOX_DEBS = "/var/cache/vox-test/debs";
export const BASE_TAG = "1.35";
const ARCHES = ["amd64", "arm64"] as const;
const APPLETS = ["sh", "echo", "cat", "ls", "uname", "printf", "env", "id"];

function run(argv: readonly string[], cwd?: string): string {
  return execFileSync(argv[0]!, argv.slice(1), { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

function debFor(arch: string): string {
  const deb = readdirSync(BUSYBOX_DEBS).find((name) => name.startsWith("busybox-static_") && name.endsWith(`_${arch}.deb`));
  if (!deb) throw new Error(`No busybox-static ${arch} .deb in ${BUSYBOX_DEBS}; run 'npm test' as root once so prepare downloads it`);
  return join(BUSYBOX_DEBS, deb);
}

/** umoci: one image per architecture, rootfs = busybox plus applet links, config says which platform. */
function addArchImage(layout: string, arch: string, work: string): void {
  const bundle = join(work, `bundle-${arch}`);
  const extracted = join(work, `deb-${arch}`);
  run(["dpkg-deb", "-x", debFor(arch), extracted]);
  run(["umoci", "new", "--image", `${layout}:${arch}`]);
  run(["umoci", "unpack", "--rootless", "--image", `${layout}:${arch}`, bundle]);
  const bin = join(bundle, "rootfs", "bin");
  mkdirSync(bin, { recursive: true });
  copyFileSync(join(extracted, "bin", "busybox"), join(bin, "busybox"));
  chmodSync(join(bin, "busybox"), 0o755);
  for (const applet of APPLETS) symlinkSync("busybox", join(bin, applet));
  mkdirSync(join(bundle, "rootfs", "tmp"), { recursive: true });
  run(["umoci", "repack", "--image", `${layout}:${arch}`, bundle]);
  run(["umoci", "config", "--image", `${layout}:${arch}`, "--architecture", arch, "--os", "linux", "--config.env", "PATH=/bin", "--config.cmd", "/bin/sh"]);
}

/** A hand-written image index over umoci's two manifests, stored as a blob named by sha256sum. */
function addIndex(layout: string): void {
  const top = JSON.parse(readFileSync(join(layout, "index.json"), "utf8")) as { manifests: Array<{ mediaType: string; digest: string; size: number; annotations?: Record<string, string> }> };
  const manifests = ARCHES.map((arch) => {
    const entry = top.manifests.find((m) => m.annotations?.["org.opencontainers.image.ref.name"] === arch)!;
    return { mediaType: entry.mediaType, digest: entry.digest, size: entry.size, platform: { architecture: arch, os: "linux" } };
  });
  const body = `${JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests })}\n`;
  const blob = join(layout, "index-blob.json");
  writeFileSync(blob, body);
  const hex = run(["sha256sum", blob]).split(" ")[0]!;
  renameSync(blob, join(layout, "blobs", "sha256", hex));
  top.manifests.push({ mediaType: "application/vnd.oci.image.index.v1+json", digest: `sha256:${hex}`, size: Buffer.byteLength(body), annotations: { "org.opencontainers.image.ref.name": BASE_TAG } });
  writeFileSync(join(layout, "index.json"), JSON.stringify(top));
}

/** The base as an OCI layout with tag `1.35` (an index) plus `amd64`/`arm64`; built once per machine and reused. */
export function busyboxBaseLayout(): string {
  const layout = join(tmpdir(), "vox-test-fixtures-base", "busybox");
  if (existsSync(join(layout, "index.json")) && readFileSync(join(layout, "index.json"), "utf8").includes(`"${BASE_TAG}"`)) return layout;
  const work = join(tmpdir(), "vox-test-fixtures-base", `work-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const staged = join(work, "busybox");
  run(["umoci", "init", "--layout", staged]);
  for (const arch of ARCHES) addArchImage(staged, arch, work);
  addIndex(staged);
  rmSync(layout, { recursive: true, force: true });
  try {
    renameSync(staged, layout);
  } catch (error) {
    // Another test process finished first; its layout is as good as ours.
    if (!existsSync(join(layout, "index.json"))) throw error;
  }
  rmSync(work, { recursive: true, force: true });
  return layout;
}

/** Pushes the base (both platforms, as an index) to a registry with skopeo; returns the reference. */
export function pushBusyboxBase(registryHost: string, repository = "library/busybox"): string {
  const reference = `${registryHost}/${repository}:${BASE_TAG}`;
  run(["skopeo", "copy", "--quiet", "--all", "--dest-tls-verify=false", `oci:${busyboxBaseLayout()}:${BASE_TAG}`, `docker://${reference}`]);
  return reference;
}
