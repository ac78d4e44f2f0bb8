import { VoxError } from "../errors/mod.ts";
import type { Spawner } from "../io/mod.ts";

/** Where Debian's containernetworking-plugins puts the reference plugins. */
export const DEFAULT_CNI_PATH = "/usr/lib/cni";
const CNI_VERSION = "1.0.0";

/** The one bridge network of a state directory: its name tags every lease and iptables rule the plugins make for it. */
export interface BridgeNetwork {
  /** CNI network name (`vox-<hash>`): iptables comments carry it, so our rules can be told from anyone else's. */
  name: string;
  /** Linux bridge device (at most 15 characters). */
  bridge: string;
  /** IPv4 /24 the instances get addresses from; the bridge holds `.1`. */
  subnet: string;
  /** host-local's lease directory (`<dataDir>/<name>/<ip>` files). */
  ipamDir: string;
}

/** A published port: the host address and port DNAT'ed to the instance's port. */
export interface PortMapping {
  hostIP: string;
  hostPort: number;
  containerPort: number;
  protocol: "tcp" | "udp";
}

/** What the bridge plugin answered to ADD (CNI result 1.0.0), kept to pass as prevResult to portmap and to DEL. */
export interface CniResult {
  cniVersion: string;
  interfaces?: Array<{ name: string; mac?: string; sandbox?: string }>;
  ips?: Array<{ address: string; gateway?: string; interface?: number }>;
  routes?: Array<{ dst: string; gw?: string }>;
  dns?: Record<string, unknown>;
}

/**
 * The network configuration list vox writes (and then runs plugin by plugin, as a CNI runtime does): `bridge` with
 * `host-local` addresses (every instance gets a default route through the bridge, which also NATs its outbound
 * traffic; an instance whose manifest says egress none has that route removed), then `portmap` for published ports.
 *
 * @example
 * ```ts
 * networkConfigList({ name: "vox-1a2b3c4d", bridge: "vox1a2b3c4d", subnet: "10.77.3.0/24", ipamDir: "/s/run/cni/ipam" }).plugins[0].type; // "bridge"
 * ```
 */
export function networkConfigList(network: BridgeNetwork): { cniVersion: string; name: string; plugins: [BridgePlugin, PortmapPlugin] } {
  return {
    cniVersion: CNI_VERSION,
    name: network.name,
    plugins: [
      {
        type: "bridge",
        bridge: network.bridge,
        isGateway: true,
        ipMasq: true,
        ipam: { type: "host-local", ranges: [[{ subnet: network.subnet }]], routes: [{ dst: "0.0.0.0/0" }], dataDir: network.ipamDir },
      },
      { type: "portmap", snat: true, capabilities: { portMappings: true } },
    ],
  };
}

interface BridgePlugin {
  type: "bridge";
  bridge: string;
  isGateway: boolean;
  ipMasq: boolean;
  ipam: { type: "host-local"; ranges: Array<Array<{ subnet: string }>>; routes: Array<{ dst: string }>; dataDir: string };
}

interface PortmapPlugin {
  type: "portmap";
  snat: boolean;
  capabilities: { portMappings: true };
}

/** One attachment: the container id the plugins key their state by, and its network namespace. */
export interface Attachment {
  id: string;
  netns: string;
}

/**
 * Runs the reference plugins as the CNI spec has a runtime do: one process per plugin and command, the network
 * config on stdin (with `name`, `cniVersion`, and `prevResult` for a chained plugin), parameters in CNI_* variables.
 */
export class CniDriver {
  readonly #list: ReturnType<typeof networkConfigList>;

  constructor(
    network: BridgeNetwork,
    private readonly spawner: Spawner,
    private readonly cniPath = DEFAULT_CNI_PATH,
  ) {
    this.#list = networkConfigList(network);
  }

  /** `lo` up (loopback plugin), then eth0 on the bridge; the result names the instance's address. */
  async attach(target: Attachment): Promise<CniResult> {
    await this.#invoke("ADD", { type: "loopback", name: "lo", cniVersion: CNI_VERSION }, target, "lo");
    return (await this.#invoke("ADD", this.#plugin(0), target, "eth0")) as CniResult;
  }

  /** Releases the lease and removes the veth; succeeds when they are already gone (DEL is idempotent per the spec). */
  async detach(target: Attachment, result: CniResult | null): Promise<void> {
    await this.#invoke("DEL", { ...this.#plugin(0), ...(result ? { prevResult: result } : {}) }, target, "eth0");
  }

  /** DNAT rules for `mappings` to this instance, appended after any already there for the same host ports. */
  async publish(target: Attachment, result: CniResult, mappings: readonly PortMapping[]): Promise<void> {
    await this.#invoke("ADD", { ...this.#plugin(1), runtimeConfig: { portMappings: mappings }, prevResult: result }, target, "eth0");
  }

  async unpublish(target: Attachment, result: CniResult | null, mappings: readonly PortMapping[]): Promise<void> {
    await this.#invoke("DEL", { ...this.#plugin(1), runtimeConfig: { portMappings: mappings }, ...(result ? { prevResult: result } : {}) }, target, "eth0");
  }

  #plugin(index: 0 | 1): Record<string, unknown> {
    return { cniVersion: this.#list.cniVersion, name: this.#list.name, ...this.#list.plugins[index] };
  }

  async #invoke(command: "ADD" | "DEL", config: Record<string, unknown>, target: Attachment, ifname: string): Promise<unknown> {
    const type = String(config.type);
    const result = await this.spawner.run([`${this.cniPath}/${type}`], {
      input: JSON.stringify(config),
      env: { CNI_COMMAND: command, CNI_CONTAINERID: target.id, CNI_NETNS: target.netns, CNI_IFNAME: ifname, CNI_PATH: this.cniPath, PATH: "/usr/sbin:/usr/bin:/sbin:/bin" },
      timeoutMs: 30_000,
    });
    if (result.code === 0) return result.stdout.trim() === "" ? null : JSON.parse(result.stdout);
    throw new VoxError("E_RUN_CNI", `Cannot ${command === "ADD" ? "attach" : "detach"} ${target.id} (${ifname}) with the CNI ${type} plugin: ${pluginError(result.stdout, result.stderr, result.code)}`, {
      hint: result.code === 127 ? `Install Debian's containernetworking-plugins (${this.cniPath}/${type} is missing)` : "Check that vox runs as root and that iptables and the bridge module work on this host",
    });
  }
}

/** A plugin reports failure as a JSON error on stdout (`{ code, msg, details }`). */
function pluginError(stdout: string, stderr: string, code: number | null): string {
  try {
    const parsed = JSON.parse(stdout) as { code?: number; msg?: string; details?: string };
    if (parsed.msg) return `${parsed.msg}${parsed.details ? ` (${parsed.details})` : ""}`;
  } catch {
    // Not JSON: fall through to the raw output.
  }
  return (stderr || stdout).trim() || `exit status ${code}`;
}

/**
 * The instance's IPv4 address from a bridge result.
 *
 * @example
 * ```ts
 * instanceAddress({ cniVersion: "1.0.0", ips: [{ address: "10.77.3.2/24" }] }); // "10.77.3.2"
 * ```
 */
export function instanceAddress(result: CniResult): string {
  const address = result.ips?.[0]?.address?.split("/")[0];
  if (!address) throw new VoxError("E_RUN_CNI", "Cannot read the instance's address: the bridge plugin returned no IP", { hint: "Check the host-local lease directory and the subnet in <state>/run/network.json" });
  return address;
}
