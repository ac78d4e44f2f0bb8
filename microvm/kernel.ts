import { basename, dirname, join } from "node:path";

/**
 * Where a kernel's modules are when the kernel package was unpacked as it ships (`dpkg-deb -x`): a kernel at
 * `<root>/boot/vmlinu[xz]-<release>` has them in `<root>/lib/modules/<release>`. Undefined for other names.
 *
 * @example
 * ```ts
 * modulesDirFor("/k/boot/vmlinux-6.1.0-57-cloud-amd64"); // "/k/lib/modules/6.1.0-57-cloud-amd64"
 * ```
 */
export function modulesDirFor(kernel: string): string | undefined {
  const release = /^vmlinu[xz]-(.+)$/.exec(basename(kernel))?.[1];
  if (!release || basename(dirname(kernel)) !== "boot") return undefined;
  return join(dirname(dirname(kernel)), "lib", "modules", release);
}
