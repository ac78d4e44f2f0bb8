import { createHash } from "node:crypto";
import { chmod, lstat, mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { VoxError } from "../errors/mod.ts";
import { type Spawner, writeFileAtomic } from "../io/mod.ts";
import type { BridgeNetwork } from "./cni.ts";
import { type RunPaths, stateTag } from "./state.ts";

/** Where `ip netns add` puts named namespaces. */
export const NETNS_DIR = "/var/run/netns";

/**
 * The host side of an instance that is not runc's or CNI's: named network namespaces, the tmpfs holding secret
 * copies, the bridge device, and reading a namespace's open connections. Every call goes through the spawner.
 */
export class HostOps {
  constructor(private readonly spawner: Spawner) {}

  async addNetns(name: string): Promise<string> {
    await this.#must(["ip", "netns", "add", name], `create the network namespace ${name}`, /File exists/);
    return join(NETNS_DIR, name);
  }

  async deleteNetns(name: string): Promise<void> {
    await this.#must(["ip", "netns", "delete", name], `delete the network namespace ${name}`, /No such file|Invalid argument/);
  }

  /** Egress none: only the bridge's own subnet stays routable from inside. */
  async dropDefaultRoute(netns: string): Promise<void> {
    await this.#must(["ip", "-n", netns, "route", "delete", "default"], `remove the default route of ${netns}`, /No such process/);
  }

  async mountTmpfs(dir: string, options: string): Promise<void> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await this.#must(["mount", "-t", "tmpfs", "-o", options, "tmpfs", dir], `mount a tmpfs on ${dir}`);
  }

  async remountReadOnly(dir: string): Promise<void> {
    await this.#must(["mount", "-o", "remount,ro,bind", dir], `make ${dir} read-only`);
  }

  /** Unmounts when mounted; a path that is not a mount point is left alone. */
  async unmount(dir: string): Promise<void> {
    if (!(await this.mountsUnder(dir)).includes(dir)) return;
    await this.#must(["umount", dir], `unmount ${dir}`);
  }

  /** Mount points at or below `dir`, outermost first (/proc/self/mountinfo's order). */
  async mountsUnder(dir: string): Promise<string[]> {
    const mounts = await readFile("/proc/self/mountinfo", "utf8");
    return mounts.split("\n").map((line) => line.split(" ")[4] ?? "").filter((point) => point === dir || point.startsWith(`${dir}/`));
  }

  /** The bridge stays after its last veth goes (the plugin never deletes it); `vox deploy rm` of the last workload does. */
  async deleteBridge(bridge: string): Promise<void> {
    await this.#must(["ip", "link", "delete", bridge], `delete the bridge ${bridge}`, /Cannot find device/);
  }

  /** Host routes, to keep a new subnet off addresses the host already reaches. */
  async routedPrefixes(): Promise<string[]> {
    const result = await this.spawner.run(["ip", "-4", "-o", "route", "show"]);
    return result.stdout.split("\n").map((line) => line.split(" ")[0] ?? "").filter((dst) => /^\d+\.\d+\.\d+\.\d+(\/\d+)?$/.test(dst));
  }

  async #must(argv: string[], what: string, fine?: RegExp): Promise<void> {
    const result = await this.spawner.run(argv, { timeoutMs: 30_000 });
    if (result.code === 0 || (fine && fine.test(result.stderr))) return;
    throw new VoxError("E_RUN_HOST", `Cannot ${what}: ${result.stderr.trim() || `${argv[0]} exited ${result.code}`}`, {
      hint: result.code === 127 ? `Install ${argv[0] === "ip" ? "iproute2" : "util-linux"}` : "vox deploy run needs root (namespaces, mounts, iptables)",
    });
  }
}

/**
 * The state directory's bridge network, fixed in `network.json` on first use: names from a hash of the state
 * directory (so two state directories on one host never share a bridge), a /24 in 10.128.0.0/10 that no host
 * route overlaps.
 *
 * @example
 * ```ts
 * const network = await bridgeNetwork(paths, host); // { name: "vox-1a2b3c4d", bridge: "vox1a2b3c4d", subnet: "10.170.9.0/24", … }
 * ```
 */
export async function bridgeNetwork(paths: RunPaths, host: Pick<HostOps, "routedPrefixes">): Promise<BridgeNetwork> {
  const existing = await readFile(paths.network, "utf8").catch(() => undefined);
  if (existing !== undefined) return JSON.parse(existing) as BridgeNetwork;
  const hash = createHash("sha256").update(paths.root).digest();
  const tag = stateTag(paths);
  const routed = await host.routedPrefixes();
  let subnet: string | undefined;
  for (let i = 0; i < 256 && subnet === undefined; i++) {
    const candidate = `10.${128 + ((hash[4]! + i) % 64)}.${(hash[5]! + i * 7) % 256}.0/24`;
    if (!routed.some((prefix) => overlaps(prefix, candidate))) subnet = candidate;
  }
  if (subnet === undefined) throw new VoxError("E_RUN_NETWORK", "Cannot choose a subnet for the instances: every /24 tried overlaps a host route", { hint: `Write ${paths.network} by hand with a free subnet` });
  const network: BridgeNetwork = { name: `vox-${tag}`, bridge: `vox${tag}`, subnet, ipamDir: paths.ipamDir };
  await mkdir(paths.root, { recursive: true, mode: 0o700 });
  await writeFileAtomic(paths.network, `${JSON.stringify(network, null, 2)}\n`, { mode: 0o600 });
  return network;
}

/**
 * Whether two IPv4 prefixes share an address.
 *
 * @example
 * ```ts
 * overlaps("10.128.0.0/9", "10.170.9.0/24"); // true
 * ```
 */
export function overlaps(a: string, b: string): boolean {
  const [aBase, aLen] = parsePrefix(a);
  const [bBase, bLen] = parsePrefix(b);
  const len = Math.min(aLen, bLen);
  const mask = len === 0 ? 0 : (~0 << (32 - len)) >>> 0;
  return ((aBase & mask) >>> 0) === ((bBase & mask) >>> 0);
}

function parsePrefix(text: string): [number, number] {
  const [address = "", length] = text.split("/");
  const value = address.split(".").reduce((acc, part) => ((acc << 8) | Number(part)) >>> 0, 0);
  return [value, length === undefined ? 32 : Number(length)];
}

/**
 * Established TCP connections to `ports` in the network namespace of `pid` (its /proc/<pid>/net/tcp and tcp6),
 * so the old instance is stopped only after the requests it was serving are answered.
 */
export async function establishedConnections(pid: number, ports: readonly number[]): Promise<number> {
  let count = 0;
  for (const file of ["tcp", "tcp6"]) {
    const text = await readFile(`/proc/${pid}/net/${file}`, "utf8").catch(() => "");
    for (const line of text.split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      const local = fields[1]?.split(":")[1];
      // 01: ESTABLISHED (include/net/tcp_states.h).
      if (local !== undefined && fields[3] === "01" && ports.includes(parseInt(local, 16))) count += 1;
    }
  }
  return count;
}

/**
 * Creates a mount point inside the rootfs before launch, refusing any existing component that is a symbolic link
 * or not a directory: runc would otherwise create the path itself, following what the image put there. runc gives a
 * tmpfs the mode of the directory it covers (its `mode=` option is overridden), so `mode` sets that directory's.
 */
export async function makeMountPoint(rootfs: string, destination: string, mode?: number): Promise<void> {
  let path = rootfs;
  for (const part of destination.split("/").filter(Boolean)) {
    path = join(path, part);
    const stat = await lstat(path).catch(() => undefined);
    if (stat === undefined) {
      await mkdir(path, { mode: 0o755 });
      continue;
    }
    if (!stat.isDirectory()) {
      throw new VoxError("E_RUN_MOUNT", `Cannot mount at ${destination}: ${path.slice(rootfs.length)} in the image is ${stat.isSymbolicLink() ? "a symbolic link" : "not a directory"}`, {
        hint: "Choose a mount_path the image does not hold as a file or link (vox.platform.toml [[volumes]] or [[secrets]])",
      });
    }
  }
  if (mode !== undefined) await chmod(path, mode);
}
