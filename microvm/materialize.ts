import { mkdir, readFile, rm } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import type { AuditSink } from "../audit/mod.ts";
import { errorMessage } from "../errors/mod.ts";
import type { Spawner } from "../io/mod.ts";
import type { PulledImage } from "../oci/pull/mod.ts";
import { type UnpackPolicy, unpackImage } from "../oci/unpack/mod.ts";
import { BLOCK_SIZE, type Ext4Layout, ext4Layout, makeExt4, scanTree } from "./ext4.ts";
import type { ImageProcess } from "./guest.ts";

export interface MaterializeOptions {
  /** The unpack policy, exactly as `vox oci unpack` applies it. */
  policy: UnpackPolicy;
  audit: AuditSink;
  /** "auto" or a byte count (a multiple of 4096). Default "auto". */
  size?: "auto" | number;
  uid: number;
  gid: number;
  spawner: Spawner;
}

export interface MaterializeResult {
  output: string;
  sha256: string;
  bytes: number;
  layout: Ext4Layout;
  /** The process the image's config.json describes (args, env, cwd, user), for booting the disk. */
  process: ImageProcess;
}

/**
 * A verified image to a reproducible ext4 disk, as named steps: unpack through oci/unpack (same policy, same audit
 * events) into a private directory beside `output` → measure the tree → make the ext4 image beside and rename it
 * into place → audit `materialize` with its sha256 → remove the bundle. The same image digest gives the same
 * bytes on any host; a failure leaves nothing at `output`.
 *
 * @example
 * ```ts
 * const image = await pullImage("oci:./layout:1", {}, deps);
 * const { sha256 } = await materializeExt4(image, "rootfs.ext4", { policy: DEFAULT_UNPACK_POLICY, audit, uid: 0, gid: 0, spawner: nodeSpawner });
 * ```
 */
export async function materializeExt4(image: PulledImage, output: string, options: MaterializeOptions): Promise<MaterializeResult> {
  const target = resolve(output);
  const work = join(dirname(target), `.vox-materialize-${process.pid}-${[...crypto.getRandomValues(new Uint8Array(4))].map((b) => b.toString(16).padStart(2, "0")).join("")}`);
  await mkdir(work, { mode: 0o700 });
  try {
    const bundle = join(work, "bundle");
    const unpacked = await unpackImage(image, bundle, { policy: options.policy, audit: options.audit, uid: options.uid, gid: options.gid, spawner: options.spawner });
    const config = JSON.parse(await readFile(unpacked.config, "utf8")) as { process: { env: string[]; cwd: string; user: { uid: number; gid: number } } };
    const own = image.config.config ?? {};
    const layout = ext4Layout(await scanTree(unpacked.rootfs), options.size ?? "auto", { digest: image.manifestDigest, epoch: imageEpoch(image) });
    const sha256 = await makeExt4(unpacked.rootfs, target, layout, { spawner: options.spawner, workDir: work });
    const result: MaterializeResult = { output: target, sha256, bytes: layout.blocks * BLOCK_SIZE, layout, process: { entrypoint: own.Entrypoint ?? [], cmd: own.Cmd ?? [], env: config.process.env, cwd: config.process.cwd, uid: config.process.user.uid, gid: config.process.user.gid } };
    await options.audit.record({
      kind: "materialize",
      scope: image.scope,
      reference: image.reference,
      digest: image.manifestDigest,
      outcome: "ok",
      detail: { format: "ext4", output: target, sha256: `sha256:${sha256}`, bytes: result.bytes, blocks: layout.blocks, inodes: layout.inodes, uuid: layout.uuid, epoch: layout.epoch },
    });
    return result;
  } catch (error) {
    await options.audit.record({ kind: "materialize", scope: image.scope, reference: image.reference, digest: image.manifestDigest, outcome: "error", detail: { format: "ext4", output: target, reason: errorMessage(error) } });
    throw error;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * The image's `created` in whole seconds (digest-covered, so the same everywhere), at least 1: e2fsprogs reads
 * E2FSPROGS_FAKE_TIME=0 as "not set" and would stamp the superblock with the real time (reproducible builds often
 * say 1970-01-01T00:00:00Z).
 */
export function imageEpoch(image: Pick<PulledImage, "config">): number {
  const created = (image.config as { created?: unknown }).created;
  const ms = typeof created === "string" ? Date.parse(created) : NaN;
  return Number.isFinite(ms) && ms >= 2000 ? Math.floor(ms / 1000) : 1;
}
