// The firecracker target: one Firecracker VM config file (`firecracker --config-file`) booting the image's ext4
// disk read-only with vox's initramfs, the guest's command in the boot args, the VM shaped by the manifest.

import { VoxError } from "../errors/mod.ts";
import { bootArgs, guestProcess, guestRunScript, machineShape } from "../microvm/mod.ts";
import type { PlatformManifest } from "../platform/types.ts";
import type { EmittedFile } from "./mod.ts";

/** Files the config names, relative to Firecracker's working directory (see the README's MicroVM section). */
export const FIRECRACKER_KERNEL = "vmlinux";
export const FIRECRACKER_INITRD = "initramfs.cpio";

/**
 * `<name>.firecracker.json` (boot-source, drives, machine-config, network-interfaces, as Firecracker's
 * FullVmConfiguration names them) and `<name>.run.sh`, the run script its boot args carry in base64, for review.
 * The guest's command must come from the manifest: the boot args are all the guest knows, and an emitter sees
 * no image config.
 */
export function firecrackerFiles(image: string, manifest: PlatformManifest): EmittedFile[] {
  if (manifest.process.entrypoint === null && manifest.process.cmd === null) {
    throw new VoxError("E_NOT_EXPRESSIBLE", `Cannot emit a Firecracker config for ${manifest.name}: its command is the image's own, and the guest learns its command from the boot args`, {
      hint: "Set [process] entrypoint (and cmd) in the platform manifest, or boot the image with `vox microvm run`, which reads the image's config",
    });
  }
  // runc's default PATH, as oci/unpack's config.json starts from, under the manifest's environment.
  const process = guestProcess({ entrypoint: [], cmd: [], env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], cwd: "/", uid: 0, gid: 0 }, manifest);
  const shape = machineShape(manifest);
  const digest = image.slice(image.indexOf("@sha256:") + 8);
  // Firecracker has no ACPI power-off: the guest reboots, and with reboot=k Firecracker exits.
  const args = bootArgs(process, { nonce: digest.slice(0, 16), halt: "reboot", extra: ["reboot=k", "pci=off", `vox.image=${image}`] });
  const config = {
    "boot-source": { kernel_image_path: FIRECRACKER_KERNEL, initrd_path: FIRECRACKER_INITRD, boot_args: args },
    drives: [{ drive_id: "rootfs", path_on_host: `${manifest.name}.rootfs.ext4`, is_root_device: true, is_read_only: true }],
    "machine-config": { vcpu_count: shape.vcpus, mem_size_mib: shape.memMib, smt: false },
    "network-interfaces": [],
  };
  return [
    { path: `${manifest.name}.firecracker.json`, content: `${JSON.stringify(config, null, 2)}\n` },
    { path: `${manifest.name}.run.sh`, content: `# The run script in ${manifest.name}.firecracker.json's boot_args (vox.run=, base64), read by vox's initramfs.\n${guestRunScript(process)}` },
  ];
}
