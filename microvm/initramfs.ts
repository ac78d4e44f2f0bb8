import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { VoxError } from "../errors/mod.ts";
import { GUEST_ROOT } from "./guest.ts";

/**
 * What the guest needs to reach the root disk, in load order, for a Debian kernel (which builds them as modules;
 * a name the kernel has built in, or lacks, is skipped): checksums, ext4 and its journal layer, virtio over MMIO
 * (the only bus of qemu's microvm machine and of Firecracker), the block driver, and overlayfs for a writable root.
 */
export const GUEST_MODULES = ["crc32c_generic", "crc16", "mbcache", "jbd2", "ext4", "virtio_ring", "virtio", "virtio_mmio", "virtio_blk", "overlay"] as const;

/**
 * The guest's /init (busybox sh). Loads the modules (virtio_mmio gets the `virtio_mmio.device=` words a VMM puts
 * on the command line, since insmod reads no command line), mounts the disk read-only (under a tmpfs overlay
 * unless the root is read-only), mounts /proc, /sys, /dev (and /tmp on a read-only root) where the image has those
 * directories, prints a start line, runs the run script's command with stdin from /dev/null, prints its exit
 * status, and halts. Status lines carry a per-boot nonce so the host does not mistake other output for them.
 */
export const GUEST_INIT = `#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t devtmpfs dev /dev 2>/dev/null
mount -t proc proc /proc
mount -t sysfs sys /sys
stty -opost 2>/dev/null
nonce=none halt=poweroff run= mmio=
for word in $(cat /proc/cmdline); do
  case "$word" in
    vox.nonce=*) nonce=\${word#vox.nonce=} ;;
    vox.halt=*) halt=\${word#vox.halt=} ;;
    vox.run=*) run=\${word#vox.run=} ;;
    virtio_mmio.device=*) mmio="$mmio device=\${word#virtio_mmio.device=}" ;;
  esac
done
stop() { sync; if [ "$halt" = reboot ]; then reboot -f; else poweroff -f; fi; sleep 60; }
fail() { echo "vox-guest $nonce error $*"; stop; }
for m in $(cat /etc/vox-modules); do
  if [ "$m" = virtio_mmio ]; then insmod /lib/modules/$m.ko $mmio || fail "cannot load $m"; else insmod /lib/modules/$m.ko || fail "cannot load $m"; fi
done
i=0
while [ ! -b /dev/vda ]; do i=$((i+1)); [ $i -gt 400 ] && fail "no root disk (/dev/vda)"; sleep 0.05; done
echo "$run" | base64 -d > /run.sh || fail "no run script on the command line"
. /run.sh
if [ "$VOX_RO" = 1 ]; then
  mount -t ext4 -o ro,noload /dev/vda ${GUEST_ROOT} || fail "cannot mount the root disk"
  [ -d ${GUEST_ROOT}/tmp ] && mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs ${GUEST_ROOT}/tmp
else
  mkdir -p /lower /rw && mount -t ext4 -o ro,noload /dev/vda /lower || fail "cannot mount the root disk"
  mount -t tmpfs -o mode=0755 tmpfs /rw && mkdir /rw/upper /rw/work
  mount -t overlay overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work ${GUEST_ROOT} || fail "cannot mount the overlay"
fi
[ -d ${GUEST_ROOT}/proc ] && mount -t proc proc ${GUEST_ROOT}/proc
[ -d ${GUEST_ROOT}/sys ] && mount -t sysfs sys ${GUEST_ROOT}/sys
[ -d ${GUEST_ROOT}/dev ] && mount -t devtmpfs dev ${GUEST_ROOT}/dev
echo "vox-guest $nonce start"
env -i "$@" </dev/null
echo "vox-guest $nonce exit $?"
stop
`;

/** A file for the initramfs; `content` undefined makes a directory, `device` a character device. */
export interface CpioEntry {
  name: string;
  mode: number;
  content?: Uint8Array;
  symlink?: string;
  device?: { major: number; minor: number };
}

/**
 * An uncompressed cpio archive in the "newc" format the kernel unpacks into its initial root: owners root, times
 * zero, inode numbers by position, so the same entries give the same bytes.
 *
 * @example
 * ```ts
 * const archive = cpioNewc([{ name: "init", mode: 0o100755, content: new TextEncoder().encode("#!/bin/sh\n") }]);
 * ```
 */
export function cpioNewc(entries: readonly CpioEntry[]): Uint8Array {
  const parts: Buffer[] = [];
  const pad = (length: number) => Buffer.alloc((4 - (length % 4)) % 4);
  const add = (entry: CpioEntry, ino: number) => {
    const data = entry.symlink !== undefined ? Buffer.from(entry.symlink) : Buffer.from(entry.content ?? []);
    const name = Buffer.from(`${entry.name}\0`);
    const fields = [ino, entry.mode, 0, 0, entry.content === undefined && entry.symlink === undefined && !entry.device ? 2 : 1, 0, data.length, 0, 0, entry.device?.major ?? 0, entry.device?.minor ?? 0, name.length, 0];
    const header = Buffer.from(`070701${fields.map((f) => f.toString(16).padStart(8, "0")).join("")}`);
    parts.push(header, name, pad(header.length + name.length), data, pad(data.length));
  };
  entries.forEach((entry, i) => add(entry, i + 1));
  add({ name: "TRAILER!!!", mode: 0, content: new Uint8Array() }, 0);
  return Buffer.concat(parts);
}

const DIRECTORY = 0o40755;
const REGULAR = 0o100644;
const EXECUTABLE = 0o100755;

/**
 * The initramfs: a static busybox, the modules this kernel needs (from `modulesDir`, the kernel's
 * `lib/modules/<release>`), /init and /dev/console. It holds nothing about the image, so one serves every disk
 * (the run script travels on the command line).
 *
 * @example
 * ```ts
 * const cpio = await buildInitramfs({ busybox: "/bin/busybox", modulesDir: "/boot/k/lib/modules/6.1.0-57-cloud-amd64" });
 * ```
 */
export async function buildInitramfs(sources: { busybox: string; modulesDir: string }): Promise<Uint8Array> {
  const busybox = await readFile(sources.busybox).catch((error: NodeJS.ErrnoException) => {
    throw new VoxError("E_MICROVM_BUSYBOX", `Cannot read the guest's busybox ${sources.busybox}: ${error.code ?? error.message}`, { hint: "Install busybox-static, or point VOX_MICROVM_BUSYBOX at a statically linked busybox" });
  });
  if (!isStaticElf(busybox)) throw new VoxError("E_MICROVM_BUSYBOX", `Cannot use ${sources.busybox} in the guest: it is not a statically linked ELF executable`, { hint: "Use Debian's busybox-static (its /bin/busybox), or point VOX_MICROVM_BUSYBOX at one" });
  const found = await findModules(sources.modulesDir);
  const modules = GUEST_MODULES.filter((name) => found.has(name));
  if (!modules.includes("virtio_blk") && !(await builtIn(sources.modulesDir, "virtio_blk"))) {
    throw new VoxError("E_MICROVM_KERNEL", `Cannot boot with the modules in ${sources.modulesDir}: there is no virtio_blk, so the guest could not see its disk`, { hint: "Use a Debian linux-image-*-amd64 or *-cloud-amd64 kernel, unpacked with its lib/modules" });
  }
  const entries: CpioEntry[] = [
    ...["bin", "dev", "etc", "lib", "lib/modules", "proc", "sys", GUEST_ROOT.slice(1)].map((name) => ({ name, mode: DIRECTORY })),
    { name: "dev/console", mode: 0o20600, device: { major: 5, minor: 1 } },
    { name: "bin/busybox", mode: EXECUTABLE, content: busybox },
    { name: "bin/sh", mode: 0o120777, symlink: "busybox" },
    { name: "init", mode: EXECUTABLE, content: Buffer.from(GUEST_INIT) },
    { name: "etc/vox-modules", mode: REGULAR, content: Buffer.from(`${modules.join("\n")}\n`) },
  ];
  for (const name of modules) entries.push({ name: `lib/modules/${name}.ko`, mode: REGULAR, content: await readFile(found.get(name)!) });
  return cpioNewc(entries);
}

/** Every `<name>.ko` under the kernel's module tree, by module name. */
async function findModules(dir: string): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  const files = await readdir(dir, { recursive: true }).catch((error: NodeJS.ErrnoException) => {
    throw new VoxError("E_MICROVM_KERNEL", `Cannot read the kernel's modules in ${dir}: ${error.code ?? error.message}`, { hint: "Set VOX_MICROVM_MODULES to the kernel's lib/modules/<release> directory" });
  });
  for (const file of files) {
    const match = /(?:^|\/)([^/]+)\.ko$/.exec(file);
    if (match) found.set(match[1]!, join(dir, file));
  }
  return found;
}

/** Whether modules.builtin lists the module (then there is nothing to load). */
async function builtIn(dir: string, name: string): Promise<boolean> {
  const text = await readFile(join(dir, "modules.builtin"), "utf8").catch(() => "");
  return text.split("\n").some((line) => line.endsWith(`/${name}.ko`));
}

/** An ELF executable without a program interpreter (PT_INTERP): it runs in a guest that has no libc. */
export function isStaticElf(bytes: Uint8Array): boolean {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.length < 64 || view.readUInt32BE(0) !== 0x7f454c46 || view[4] !== 2) return false;
  const phoff = Number(view.readBigUInt64LE(32));
  const phentsize = view.readUInt16LE(54);
  const phnum = view.readUInt16LE(56);
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    if (at + 4 > view.length) return false;
    if (view.readUInt32LE(at) === 3) return false;
  }
  return true;
}
