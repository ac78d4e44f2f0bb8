// MicroVM root filesystems: a verified image as a reproducible ext4 disk (e2fsprogs), a generic initramfs whose init
// runs the image's entrypoint and reports its exit status, and qemu's microvm machine to boot them.

export { BLOCK_SIZE, type Ext4Layout, ext4Layout, fileSha256, makeExt4, MKE2FS_CONF, scanTree, type TreeStats } from "./ext4.ts";
export { bootArgs, GUEST_KERNEL_MIB, guestProcess, type GuestProcess, guestRunScript, type ImageProcess, machineShape, type MachineShape, MAX_VCPUS } from "./guest.ts";
export { buildInitramfs, cpioNewc, GUEST_INIT, GUEST_MODULES, isStaticElf } from "./initramfs.ts";
export { modulesDirFor } from "./kernel.ts";
export { imageEpoch, materializeExt4, type MaterializeOptions, type MaterializeResult } from "./materialize.ts";
export { bootMicrovm, type BootDeps, type BootOptions, type BootResult, nodeVmLauncher, qemuArgv, tscKhzFromCpuinfo, type VmLauncher } from "./qemu.ts";
