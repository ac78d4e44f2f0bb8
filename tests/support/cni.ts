// What `vox deploy run` leaves on the host for one state directory, counted with the host's own tools (runc, ip,
// iptables-save, the lease files, /proc/self/mountinfo), never through vox: the tests require all of it to be gone.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export interface HostLeftovers {
  containers: string[];
  netns: string[];
  veths: string[];
  leases: string[];
  iptables: string[];
  mounts: string[];
}

function run(argv: string[]): string {
  return execFileSync(argv[0]!, argv.slice(1), { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** The network vox chose for this state directory (bridge, CNI name), or none yet. */
export function networkOf(stateDir: string): { name: string; bridge: string; subnet: string; ipamDir: string } | undefined {
  const path = join(stateDir, "run", "network.json");
  return existsSync(path) ? JSON.parse(readFileSync(path, "utf8")) : undefined;
}

/** Our instances' namespaces are `vox<tag>-<id>`, the tag a hash of `<state>/run`. */
export function netnsPrefix(stateDir: string): string {
  return `vox${createHash("sha256").update(join(stateDir, "run")).digest("hex").slice(0, 8)}-`;
}

export function hostLeftovers(stateDir: string): HostLeftovers {
  const network = networkOf(stateDir);
  const runcRoot = join(stateDir, "run", "runc");
  const containers = existsSync(runcRoot) ? ((JSON.parse(run(["runc", "--root", runcRoot, "list", "--format", "json"]) || "null") as Array<{ id: string }> | null) ?? []).map((c) => c.id) : [];
  const netns = run(["ip", "netns", "list"]).split("\n").map((line) => line.split(" ")[0]!).filter((name) => name.startsWith(netnsPrefix(stateDir)));
  const bridgeUp = network !== undefined && run(["ip", "-o", "link", "show"]).includes(`: ${network.bridge}:`);
  const veths = bridgeUp ? run(["ip", "-o", "link", "show", "master", network.bridge]).split("\n").filter(Boolean) : [];
  const leaseDir = network ? join(network.ipamDir, network.name) : "";
  const leases = network && existsSync(leaseDir) ? readdirSync(leaseDir).filter((name) => name !== "lock" && !name.startsWith("last_reserved_ip")) : [];
  const iptables = network ? ["nat", "filter"].flatMap((table) => ourRules(run(["iptables-save", "-t", table]).split("\n"), network.name)) : [];
  const mounts = readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter((line) => line.split(" ")[4]?.startsWith(stateDir));
  return { containers, netns, veths, leases, iptables, mounts };
}

/** Every kind of leftover, empty. */
export const NOTHING: HostLeftovers = { containers: [], netns: [], veths: [], leases: [], iptables: [], mounts: [] };

/** Rules whose comment names our network (the plugins tag each jump so), and every line of the chains they jump to. */
function ourRules(lines: string[], networkName: string): string[] {
  const tagged = lines.filter((line) => line.includes(`name: \\"${networkName}\\"`));
  const chains = new Set(tagged.map((line) => / -j (CNI-(?!HOSTPORT)[\w-]+)/.exec(line)?.[1]).filter((c): c is string => c !== undefined));
  return [...tagged, ...lines.filter((line) => [...chains].some((chain) => line.startsWith(`-A ${chain} `) || line.startsWith(`:${chain} `)))];
}
