// Images for the pull tests and bench, made by independent tools (umoci builds, skopeo copies and converts), never by
// vox: a multi-layer image of random files of chosen sizes, cached per machine by name like the busybox base.
import { execFileSync } from "node:child_process";
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const MULTI_TAG = "1";

function run(argv: readonly string[]): string {
  return execFileSync(argv[0]!, argv.slice(1), { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** Writes `size` random (incompressible) bytes to `path` a MiB at a time. */
function randomFile(path: string, size: number): void {
  const fd = openSync(path, "w");
  try {
    for (let left = size; left > 0; left -= 1 << 20) writeSync(fd, randomBytes(Math.min(left, 1 << 20)));
  } finally {
    closeSync(fd);
  }
}

/**
 * An OCI layout (tag `1`, linux/amd64) whose layer i holds one random file of `layerSizes[i]` bytes, each layer a
 * `umoci repack`; built once per machine under `name` and reused.
 */
export function multiLayerLayout(name: string, layerSizes: readonly number[]): string {
  const layout = join(tmpdir(), "vox-test-fixtures-pull", name);
  if (existsSync(join(layout, "index.json"))) return layout;
  const work = join(tmpdir(), "vox-test-fixtures-pull", `work-${name}-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const staged = join(work, "layout");
  run(["umoci", "init", "--layout", staged]);
  run(["umoci", "new", "--image", `${staged}:${MULTI_TAG}`]);
  const bundle = join(work, "bundle");
  layerSizes.forEach((size, i) => {
    rmSync(bundle, { recursive: true, force: true });
    run(["umoci", "unpack", "--rootless", "--image", `${staged}:${MULTI_TAG}`, bundle]);
    mkdirSync(join(bundle, "rootfs", "data"), { recursive: true });
    randomFile(join(bundle, "rootfs", "data", `layer-${i}.bin`), size);
    run(["umoci", "repack", "--image", `${staged}:${MULTI_TAG}`, bundle]);
  });
  run(["umoci", "config", "--image", `${staged}:${MULTI_TAG}`, "--architecture", "amd64", "--os", "linux", "--config.cmd", "/bin/sh"]);
  run(["umoci", "gc", "--layout", staged]);
  mkdirSync(join(layout, ".."), { recursive: true });
  try {
    renameSync(staged, layout);
  } catch (error) {
    if (!existsSync(join(layout, "index.json"))) throw error;
  }
  rmSync(work, { recursive: true, force: true });
  return layout;
}

/**
 * `skopeo copy` of a layout's tag to a registry (plain HTTP), optionally converted; returns the reference. A zstd
 * image is first recompressed into a layout of its own: pushing with --dest-compress-format would let skopeo reuse
 * the gzip layers the registry already has.
 */
export function pushLayout(layout: string, tag: string, reference: string, options: { format?: "v2s2" | "oci"; compress?: "zstd" } = {}): string {
  let source = `oci:${layout}:${tag}`;
  if (options.compress) {
    const recompressed = mkdtempSync(join(tmpdir(), "vox-test-zstd-"));
    run(["skopeo", "copy", "--quiet", "--dest-compress-format", options.compress, source, `oci:${recompressed}:${tag}`]);
    source = `oci:${recompressed}:${tag}`;
  }
  run(["skopeo", "copy", "--quiet", "--dest-tls-verify=false", ...(options.format ? ["--format", options.format] : []), source, `docker://${reference}`]);
  return reference;
}
