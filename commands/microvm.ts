// `vox oci materialize` (an image as a reproducible ext4 disk), `vox microvm run` (boot it under qemu's microvm machine,
// exit with the entrypoint's status) and `vox microvm initramfs`: option resolution and reporting; the work is in microvm/.

import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import type { AuditSink } from "../audit/mod.ts";
import type { CommandContext, Handler, ParsedArgs } from "../cli/mod.ts";
import { findPlatformManifest } from "../deploy/platform_file.ts";
import { usageError, VoxError } from "../errors/mod.ts";
import { writeFileAtomic } from "../io/mod.ts";
import { bootMicrovm, buildInitramfs, fileSha256, guestProcess, type ImageProcess, machineShape, type MaterializeResult, materializeExt4, modulesDirFor, nodeVmLauncher, tscKhzFromCpuinfo } from "../microvm/mod.ts";
import { type PulledImage, pullImage } from "../oci/pull/mod.ts";
import { DEFAULT_UNPACK_POLICY, parseUnpackPolicy, type UnpackPolicy } from "../oci/unpack/mod.ts";
import type { PlatformManifest } from "../platform/mod.ts";
import { findProjectRoot, loadProject } from "../pm/mod.ts";
import { auditSink, cacheDir, pullDeps } from "./_pull.ts";
import { renderJson } from "../cli/json.ts";

/** `vox oci materialize <source> --format ext4 --output FILE [--size auto|<bytes>] [--policy FILE]` */
export const ociMaterializeCommand: Handler = async (args, context) => {
  const source = args.positionals[0]!;
  const format = args.string("format") ?? "ext4";
  if (format !== "ext4") throw usageError("E_USAGE", `Cannot materialize as --format ${format}: only ext4 is supported`, "Use --format ext4");
  const output = args.string("output");
  if (!output) throw usageError("E_USAGE", "Cannot materialize without --output", "Pass --output rootfs.ext4");
  const size = parseSize(args.string("size"));
  const audit = auditSink(args, context);
  const image = await pull(source, args, context, audit);
  const result = await materializeExt4(image, resolve(context.cwd, output), { policy: await policyOf(args, context), audit, size, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, spawner: context.spawner });
  const summary = { reference: image.reference, manifestDigest: image.manifestDigest, output: result.output, sha256: `sha256:${result.sha256}`, bytes: result.bytes, blocks: result.layout.blocks, inodes: result.layout.inodes, uuid: result.layout.uuid, epoch: result.layout.epoch };
  if (args.flag("json")) return void context.out.stdout(renderJson("vox.materialize/1", summary));
  context.out.stdout(`materialized ${image.reference} (${image.manifestDigest}) as ext4: ${result.output}\nsha256:${result.sha256} (${result.bytes} bytes, ${result.layout.inodes} inodes, uuid ${result.layout.uuid})\n`);
};

/** `vox microvm run <source> [--manifest FILE] …`: exits with the entrypoint's status (125: the VM itself failed). */
export const microvmRunCommand: Handler = async (args, context) => {
  const source = args.positionals[0]!;
  const { kernel: kernelPath, modulesDir } = kernelSources(context);
  const timeout = Number(args.string("boot-timeout") ?? "120");
  if (!Number.isFinite(timeout) || timeout <= 0) throw usageError("E_USAGE", `Cannot use --boot-timeout ${args.string("boot-timeout")}: expected seconds`, "For example --boot-timeout 60");
  const manifest = await manifestOf(args, context);
  const audit = auditSink(args, context);
  const image = await pull(source, args, context, audit);
  const policy = await policyOf(args, context);
  const store = join(dirname(cacheDir(context)), "microvm");
  await mkdir(store, { recursive: true, mode: 0o700 });
  const disk = await cachedDisk(image, policy, store, { audit, context });
  const initramfs = await cachedInitramfs(store, { busybox: context.env.get("VOX_MICROVM_BUSYBOX") ?? "/bin/busybox", modulesDir });
  const shape = machineShape(manifest ?? { resources: { cpu_millicores: 1000, memory_limit_bytes: 256 * 2 ** 20 } });
  const accel = context.env.get("VOX_MICROVM_ACCEL") === "kvm" ? "kvm" : "tcg";
  const result = await bootMicrovm(
    { kernel: kernelPath, initramfs, disk: disk.output, shape, process: guestProcess(disk.process, manifest), accel, tscKhz: tscKhzFromCpuinfo(await readFile("/proc/cpuinfo", "utf8").catch(() => "")), bootTimeoutMs: timeout * 1000 },
    {
      launcher: nodeVmLauncher,
      audit,
      output: (text) => context.out.stdout(text),
      nonce: () => randomBytes(8).toString("hex"),
      now: () => performance.now(),
      image: { reference: image.reference, digest: image.manifestDigest, scope: image.scope },
    },
  );
  const report = { reference: image.reference, manifestDigest: image.manifestDigest, disk: disk.output, sha256: `sha256:${disk.sha256}`, vcpus: shape.vcpus, memMib: shape.memMib, status: result.status, bootMs: Math.round(result.bootMs) };
  if (args.flag("json")) context.out.stderr(renderJson("vox.microvm-run/1", report));
  else context.out.stderr(`microvm: ${image.reference} exited with status ${result.status} (booted to the entrypoint in ${(result.bootMs / 1000).toFixed(1)} s; ${shape.vcpus} vCPU, ${shape.memMib} MiB)\n`);
  return result.status;
};

/** `vox microvm initramfs --output FILE`: the initramfs a Firecracker config names (the same one `run` boots). */
export const microvmInitramfsCommand: Handler = async (args, context) => {
  const output = args.string("output");
  if (!output) throw usageError("E_USAGE", "Cannot write the initramfs without --output", "Pass --output initramfs.cpio");
  const { modulesDir } = kernelSources(context);
  const bytes = await buildInitramfs({ busybox: context.env.get("VOX_MICROVM_BUSYBOX") ?? "/bin/busybox", modulesDir });
  await writeFileAtomic(resolve(context.cwd, output), bytes);
  context.out.stdout(`wrote ${resolve(context.cwd, output)} (${bytes.byteLength} bytes; modules from ${modulesDir})\n`);
};

/** VOX_MICROVM_KERNEL and the modules directory that goes with it. */
function kernelSources(context: CommandContext): { kernel: string; modulesDir: string } {
  const kernel = context.env.get("VOX_MICROVM_KERNEL");
  if (!kernel) throw usageError("E_MICROVM_KERNEL", "Cannot boot a microVM: VOX_MICROVM_KERNEL is not set", "Point it at a kernel (a vmlinux, or a bzImage) from a Debian linux-image-*-amd64 package unpacked with dpkg-deb -x");
  const kernelPath = resolve(context.cwd, kernel);
  const modulesDir = context.env.get("VOX_MICROVM_MODULES") ?? modulesDirFor(kernelPath);
  if (!modulesDir) throw usageError("E_MICROVM_KERNEL", `Cannot find the modules of ${kernelPath}`, "Set VOX_MICROVM_MODULES to its lib/modules/<release> directory");
  return { kernel: kernelPath, modulesDir };
}

async function pull(source: string, args: ParsedArgs, context: CommandContext, audit: AuditSink): Promise<PulledImage> {
  const image = await pullImage(source, { ...(args.string("platform") ? { platform: args.string("platform")! } : {}), ...(args.string("scope") ? { scope: args.string("scope")! } : {}), insecure: args.flag("insecure") }, await pullDeps(args, context, source, audit));
  if (image.mutable) context.out.stderr(`note: ${source} names a tag, which can be moved; it resolved to ${image.resolvedDigest}\n`);
  return image;
}

async function policyOf(args: ParsedArgs, context: CommandContext): Promise<UnpackPolicy> {
  const file = args.string("policy");
  if (file === undefined) return DEFAULT_UNPACK_POLICY;
  const text = await readFile(resolve(context.cwd, file), "utf8").catch((error: NodeJS.ErrnoException) => {
    throw new VoxError("E_UNPACK_POLICY", `Cannot read the unpack policy ${file}: ${error.code ?? error.message}`, { hint: "Pass --policy a TOML file you can read, or leave it out for the safe defaults", exitCode: 2 });
  });
  return parseUnpackPolicy(text, file);
}

function parseSize(text: string | undefined): "auto" | number {
  if (text === undefined || text === "auto") return "auto";
  if (!/^[1-9]\d*$/.test(text)) throw usageError("E_USAGE", `Cannot use --size ${text}: expected auto or a number of bytes`, "For example --size auto or --size 268435456 (a multiple of 4096)");
  return Number(text);
}

/** `--manifest FILE`, else the project's platform manifest when there is a project, else none (defaults). */
async function manifestOf(args: ParsedArgs, context: CommandContext): Promise<PlatformManifest | undefined> {
  const named = args.string("manifest");
  const root = await findProjectRoot(resolve(context.cwd, args.string("project") ?? ".")).catch(() => undefined);
  if (named === undefined && root === undefined) return undefined;
  const project = root ? await loadProject(root) : undefined;
  const found = await findPlatformManifest(project, { cwd: context.cwd, ...(named === undefined ? {} : { manifest: named }) });
  return found?.manifest;
}

/**
 * The disk for an image and policy in the microVM store: `<manifest digest>-<policy hash>.ext4` with the image's
 * process beside it; reused only when it still hashes as recorded, else made again (beside, then renamed).
 */
async function cachedDisk(image: PulledImage, policy: UnpackPolicy, store: string, deps: { audit: AuditSink; context: CommandContext }): Promise<Pick<MaterializeResult, "output" | "sha256" | "process">> {
  const key = `${image.manifestDigest.replace(":", "-")}-${createHash("sha256").update(JSON.stringify(policy)).digest("hex").slice(0, 16)}`;
  const output = join(store, `${key}.ext4`);
  const record = join(store, `${key}.json`);
  const known = existsSync(record) && existsSync(output) ? (JSON.parse(await readFile(record, "utf8")) as { sha256: string; process: ImageProcess }) : undefined;
  if (known && (await fileSha256(output)) === known.sha256) {
    await deps.audit.record({ kind: "cache-hit", scope: image.scope, reference: image.reference, digest: image.manifestDigest, outcome: "ok", detail: { what: "ext4", output, sha256: `sha256:${known.sha256}` } });
    return { output, ...known };
  }
  const made = await materializeExt4(image, output, { policy, audit: deps.audit, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, spawner: deps.context.spawner });
  await writeFileAtomic(record, `${JSON.stringify({ sha256: made.sha256, process: made.process })}\n`);
  return made;
}

/** The initramfs for this busybox and kernel, made once and named by what went into it. */
async function cachedInitramfs(store: string, sources: { busybox: string; modulesDir: string }): Promise<string> {
  const bytes = await buildInitramfs(sources);
  const path = join(store, `initramfs-${createHash("sha256").update(bytes).digest("hex").slice(0, 16)}.cpio`);
  if (!existsSync(path)) await writeFileAtomic(path, bytes);
  return path;
}
