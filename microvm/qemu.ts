import type { AuditSink } from "../audit/mod.ts";
import { VoxError } from "../errors/mod.ts";
import { bootArgs, type GuestProcess, type MachineShape } from "./guest.ts";

/** Starts the VMM and streams what it writes (the guest's serial console); the seam tests and bench replace. */
export interface VmLauncher {
  launch(argv: readonly string[], onOutput: (text: string) => void): { exited: Promise<{ code: number | null; signal: string | null }>; kill(): void };
}

/** The real launcher: the VMM's stdout (the serial console) streamed, its stderr kept for the error message. */
export const nodeVmLauncher: VmLauncher = {
  launch(argv, onOutput) {
    let kill = () => {};
    const exited = import("node:child_process").then(
      ({ spawn }) =>
        new Promise<{ code: number | null; signal: string | null }>((resolve) => {
          const child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
          kill = () => void child.kill("SIGKILL");
          child.stdout.setEncoding("utf8").on("data", onOutput);
          let stderr = "";
          child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
          child.on("error", (error: NodeJS.ErrnoException) => {
            onOutput(`\n${error.message}\n`);
            resolve({ code: error.code === "ENOENT" ? 127 : 126, signal: null });
          });
          child.on("close", (code, signal) => {
            if (code !== 0 && stderr) onOutput(`\n${stderr}`);
            resolve({ code, signal });
          });
        }),
    );
    return { exited, kill: () => kill() };
  },
};

export interface BootOptions {
  /** An uncompressed kernel (vmlinux, booted through its PVH entry) or a bzImage. */
  kernel: string;
  initramfs: string;
  /** The ext4 image: attached read-only, so booting never changes it. */
  disk: string;
  shape: MachineShape;
  process: GuestProcess;
  /** tcg (emulation: works everywhere, the default) or kvm. */
  accel: "tcg" | "kvm";
  /** The host's TSC frequency: without it a PVH boot can hang calibrating against the PIT. */
  tscKhz?: number;
  /** How long the guest may take to reach the entrypoint before the VM is killed. */
  bootTimeoutMs: number;
  /** The VMM executable. Default qemu-system-x86_64. */
  qemu?: string;
}

export interface BootDeps {
  launcher: VmLauncher;
  audit: AuditSink;
  /** What the entrypoint writes, as it arrives. */
  output(text: string): void;
  /** A fresh nonce per boot. */
  nonce(): string;
  /** Milliseconds, for the boot-to-entrypoint time. */
  now(): number;
  /** Names the image in the audit events. */
  image: { reference: string; digest: string; scope: string | null };
}

export interface BootResult {
  /** The entrypoint's exit status, as the guest's shell reports it (128 + n for a signal). */
  status: number;
  /** From starting the VMM to the guest's start line, just before the entrypoint runs. */
  bootMs: number;
}

/**
 * The qemu command line: the `microvm` machine (virtio-mmio only, no PCI, no firmware), the kernel and the
 * initramfs loaded directly, the disk read-only on virtio-blk, the serial console on stdout, no reboot (so a
 * guest reboot or panic ends qemu).
 *
 * @example
 * ```ts
 * qemuArgv({ kernel: "vmlinux", initramfs: "initrd", disk: "rootfs.ext4", shape: { vcpus: 1, memMib: 128 }, process, accel: "tcg", bootTimeoutMs: 60000 }, "ab12");
 * ```
 */
export function qemuArgv(options: BootOptions, nonce: string): string[] {
  const extra = ["mitigations=off", ...(options.tscKhz ? [`tsc_early_khz=${options.tscKhz}`] : [])];
  return [
    options.qemu ?? "qemu-system-x86_64",
    "-M", "microvm,x-option-roms=off,isa-serial=on,rtc=on",
    "-accel", options.accel,
    "-cpu", options.accel === "kvm" ? "host" : "max",
    "-smp", String(options.shape.vcpus),
    "-m", `${options.shape.memMib}M`,
    "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
    "-chardev", "stdio,id=console,signal=off", "-serial", "chardev:console",
    "-kernel", options.kernel,
    "-initrd", options.initramfs,
    "-append", bootArgs(options.process, { nonce, halt: "poweroff", extra }),
    "-drive", `id=root,file=${options.disk.replaceAll(",", ",,")},format=raw,if=none,readonly=on`,
    "-device", "virtio-blk-device,drive=root",
  ];
}

/**
 * Boots the disk as named steps: audit `launch` → start qemu → wait for the guest's start line (the boot timeout
 * applies until then) → stream the entrypoint's output → read its exit status from the guest's exit line → audit
 * `stop`. A VM that ends without an exit line (a kernel panic ends qemu with 0 too) is an error, exit 125.
 *
 * @example
 * ```ts
 * const { status } = await bootMicrovm(options, { launcher: nodeVmLauncher, audit, output: (t) => process.stdout.write(t), nonce, now: Date.now, image });
 * ```
 */
export async function bootMicrovm(options: BootOptions, deps: BootDeps): Promise<BootResult> {
  const nonce = deps.nonce();
  const argv = qemuArgv(options, nonce);
  const event = (kind: "launch" | "stop", outcome: "ok" | "error", detail: Record<string, unknown>) =>
    deps.audit.record({ kind, scope: deps.image.scope, reference: deps.image.reference, digest: deps.image.digest, outcome, detail: { vmm: "qemu-microvm", disk: options.disk, ...detail } });
  await event("launch", "ok", { vcpus: options.shape.vcpus, memMib: options.shape.memMib, kernel: options.kernel, accel: options.accel, args: options.process.args });
  const started = deps.now();
  const marker = `vox-guest ${nonce} `;
  let pending = "";
  let before = "";
  let bootMs: number | undefined;
  let status: number | undefined;
  let guestError: string | undefined;
  const onLine = (line: string, complete: boolean) => {
    const at = line.indexOf(marker);
    if (at >= 0 && complete) {
      const [what, ...rest] = line.slice(at + marker.length).trim().split(" ");
      if (bootMs !== undefined && at > 0) deps.output(line.slice(0, at));
      if (what === "start") bootMs = deps.now() - started;
      else if (what === "exit") status = Number(rest[0]);
      else if (what === "error") guestError = rest.join(" ");
      return;
    }
    if (bootMs === undefined) before = (before + line + (complete ? "\n" : "")).slice(-4000);
    else if (status === undefined) deps.output(line + (complete ? "\n" : ""));
  };
  const vm = deps.launcher.launch(argv, (text) => {
    pending += text;
    const lines = pending.split("\n");
    pending = lines.pop()!;
    for (const line of lines) onLine(line, true);
  });
  const timer = setTimeout(() => {
    if (bootMs === undefined) {
      guestError = `the guest did not reach the entrypoint within ${options.bootTimeoutMs} ms`;
      vm.kill();
    }
  }, options.bootTimeoutMs);
  const exited = await vm.exited.finally(() => clearTimeout(timer));
  if (pending) onLine(pending, false);
  if (status === undefined || !Number.isInteger(status)) {
    await event("stop", "error", { code: exited.code, signal: exited.signal, reason: guestError ?? "no exit status from the guest" });
    if (exited.code === 127) throw new VoxError("E_MICROVM_QEMU", `Cannot boot the microVM: ${argv[0]} is not installed`, { hint: "Install qemu-system-x86 (apt-get install qemu-system-x86)", exitCode: 125 });
    throw new VoxError("E_MICROVM_NO_STATUS", `Cannot tell how the entrypoint ended: ${guestError ?? `the VM stopped (qemu ${exited.signal ?? `exit ${exited.code}`}) without the guest reporting an exit status`}`, {
      hint: `The guest's last console output:\n${(before + pending).trim().split("\n").slice(-15).join("\n") || "(none)"}`,
      exitCode: 125,
    });
  }
  await event("stop", "ok", { status, bootMs });
  return { status, bootMs: bootMs ?? 0 };
}

/** The host's TSC frequency in kHz from /proc/cpuinfo's "cpu MHz", or undefined when it does not say. */
export function tscKhzFromCpuinfo(cpuinfo: string): number | undefined {
  const mhz = Number(/^cpu MHz\s*:\s*([\d.]+)/m.exec(cpuinfo)?.[1]);
  return Number.isFinite(mhz) && mhz > 0 ? Math.round(mhz * 1000) : undefined;
}
