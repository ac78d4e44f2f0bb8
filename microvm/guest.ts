import { VoxError } from "../errors/mod.ts";
import type { PlatformManifest } from "../platform/mod.ts";

/**
 * The process an image describes: Entrypoint and Cmd apart (a manifest may replace either), env, cwd and user as
 * oci/unpack's config.json resolved them (user names through the image's own passwd and group).
 */
export interface ImageProcess {
  entrypoint: string[];
  cmd: string[];
  env: string[];
  cwd: string;
  uid: number;
  gid: number;
}

/** What the guest's init runs, after the manifest's overrides. */
export interface GuestProcess {
  args: string[];
  env: string[];
  cwd: string;
  uid: number;
  gid: number;
  /** Root file system read-only (else a writable overlay in guest memory over the read-only disk). */
  readOnlyRoot: boolean;
}

/** vCPUs and memory of the VM. */
export interface MachineShape {
  vcpus: number;
  memMib: number;
}

/**
 * Guest memory beyond the workload's cap: the kernel, its page tables and the initramfs live in the same RAM, and
 * a Debian kernel does not boot in much less. The workload still gets about its cap.
 */
export const GUEST_KERNEL_MIB = 96;
/** Firecracker's limit (its machine-config API refuses more), kept for qemu too so both run the same shape. */
export const MAX_VCPUS = 32;

/**
 * The VM's shape from the manifest's resources: vCPUs = the CPU request rounded up to whole CPUs (at least 1, at
 * most 32); memory = the memory cap in MiB (rounded up) plus the guest kernel's share.
 *
 * @example
 * ```ts
 * machineShape(manifest); // { vcpus: 1, memMib: 128 } for cpu = "50m", memory_limit = "32Mi"
 * ```
 */
export function machineShape(manifest: { resources: Pick<PlatformManifest["resources"], "cpu_millicores" | "memory_limit_bytes"> }): MachineShape {
  const vcpus = Math.min(MAX_VCPUS, Math.max(1, Math.ceil(manifest.resources.cpu_millicores / 1000)));
  return { vcpus, memMib: Math.ceil(manifest.resources.memory_limit_bytes / 2 ** 20) + GUEST_KERNEL_MIB };
}

/**
 * The image's process with the manifest's overrides, as the runc backend applies them: entrypoint and cmd replace
 * the image's (an entrypoint alone drops the image's cmd, as Docker does), env merges over the image's, workdir
 * replaces, run_as_user replaces the uid.
 *
 * @example
 * ```ts
 * guestProcess({ entrypoint: ["/app/bin/hello"], cmd: [], env: ["PATH=/bin"], cwd: "/app", uid: 0, gid: 0 }, manifest).uid; // 65534
 * ```
 */
export function guestProcess(image: ImageProcess, manifest?: Pick<PlatformManifest, "process" | "security">): GuestProcess {
  const { entrypoint: imageEntrypoint, cmd: imageCmd, ...rest } = image;
  if (!manifest) return { ...rest, args: [...imageEntrypoint, ...imageCmd], readOnlyRoot: false };
  const { entrypoint, cmd, env, workdir } = manifest.process;
  const args = [...(entrypoint ?? imageEntrypoint), ...(cmd ?? (entrypoint !== null ? [] : imageCmd))];
  const merged = new Map(image.env.map((entry) => [entry.slice(0, entry.indexOf("=")), entry] as const));
  for (const [name, value] of Object.entries(env)) merged.set(name, `${name}=${value}`);
  return { args, env: [...merged.values()], cwd: workdir ?? image.cwd, uid: manifest.security.run_as_user ?? image.uid, gid: image.gid, readOnlyRoot: manifest.security.read_only_root_fs };
}

/** Single-quoted for sh: the one quoting that has no special characters inside but the quote itself. */
export function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** The mount point the guest init builds the root on (shared with the run script below). */
export const GUEST_ROOT = "/newroot";

/**
 * The run script the guest init sources: whether the root is read-only, the working directory, and the positional
 * parameters for `env -i` (the environment, then nsenter entering the root with the working directory and ids,
 * then the entrypoint's argv). Data only: every value single-quoted, so no byte of the image's config is ever
 * interpreted by the guest's shell.
 *
 * @example
 * ```ts
 * guestRunScript({ args: ["/app/bin/hello"], env: ["PATH=/bin"], cwd: "/app", uid: 0, gid: 0, readOnlyRoot: true });
 * // "VOX_RO=1\nVOX_CWD='/app'\nset -- 'PATH=/bin' '/bin/nsenter' '-r/newroot' \"-w/newroot$VOX_CWD\" '-S' '0' … '--' '/app/bin/hello'\n"
 * ```
 */
export function guestRunScript(process: GuestProcess): string {
  if (process.args.length === 0) throw new VoxError("E_MICROVM_NO_COMMAND", "Cannot boot an image without a command: its config has no Entrypoint or Cmd, and the manifest sets none", { hint: "Set [process] entrypoint or cmd in the platform manifest" });
  const cwd = process.cwd.startsWith("/") ? process.cwd : `/${process.cwd}`;
  const words = [...process.env.map(shellQuote), shellQuote("/bin/nsenter"), shellQuote(`-r${GUEST_ROOT}`), `"-w${GUEST_ROOT}$VOX_CWD"`, ...["-S", String(process.uid), "-G", String(process.gid), "-F", "--", ...process.args].map(shellQuote)];
  return `VOX_RO=${process.readOnlyRoot ? 1 : 0}\nVOX_CWD=${shellQuote(cwd)}\nset -- ${words.join(" ")}\n`;
}

/** The kernel's command line limit on x86 (COMMAND_LINE_SIZE), which Firecracker enforces too. */
export const MAX_COMMAND_LINE = 2048;

/**
 * The kernel command line: serial console, quiet (panics still print), reboot on panic at once (so the VMM exits
 * and the missing status tells), and the run script as `vox.run=<base64>` (a dotted name: the kernel keeps it out
 * of init's environment, and the init reads it from /proc/cmdline).
 *
 * @example
 * ```ts
 * bootArgs(process, { nonce: "3f2a…", halt: "poweroff", extra: ["tsc_early_khz=2100000"] });
 * ```
 */
export function bootArgs(process: GuestProcess, options: { nonce: string; halt: "poweroff" | "reboot"; extra?: readonly string[] }): string {
  const line = ["console=ttyS0", "quiet", "loglevel=1", "panic=-1", ...(options.extra ?? []), `vox.nonce=${options.nonce}`, `vox.halt=${options.halt}`, `vox.run=${Buffer.from(guestRunScript(process)).toString("base64")}`].join(" ");
  if (line.length >= MAX_COMMAND_LINE) {
    throw new VoxError("E_MICROVM_CMDLINE", `Cannot boot this image: its kernel command line would be ${line.length} bytes, over the kernel's ${MAX_COMMAND_LINE - 1}`, {
      hint: "The entrypoint, its arguments and the environment travel there; shorten them (or move configuration into a file in the image)",
    });
  }
  return line;
}
