import { VoxError } from "../../errors/mod.ts";
import type { PulledImage } from "../pull/mod.ts";

const CAPABILITIES = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];
const DEFAULT_ENV = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"];
const MAX_ID = 2 ** 31 - 1;

export interface RuntimeConfigOptions {
  /** Unprivileged: a user namespace mapping container root to `hostId`, no network namespace, /sys bound read-only. */
  rootless: boolean;
  /** The caller's ids, mapped to container root when rootless. Default 0. */
  hostIds?: { uid: number; gid: number };
  /** The image's own /etc/passwd and /etc/group (read inside the rootfs), to resolve a user name as runc would. */
  passwd?: string;
  group?: string;
}

/**
 * The OCI runtime-spec config.json `umoci unpack` writes for this image: umoci's defaults (capabilities, mounts,
 * masked paths, namespaces) with the image's args (Entrypoint + Cmd), Env over the default PATH and TERM, cwd,
 * user (names resolved through the image's passwd and group files, HOME from passwd), labels as annotations, and
 * volumes as tmpfs mounts. Differences from umoci: the hostname is "vox", and rootless /etc/resolv.conf is bound
 * without inspecting the host's mount flags.
 *
 * @example
 * ```ts
 * const spec = runtimeConfigFromImage({ architecture: "amd64", os: "linux", config: { Cmd: ["/bin/sh"] }, rootfs: { type: "layers", diff_ids: [] } }, { rootless: false });
 * spec.process; // { args: ["/bin/sh"], cwd: "/", user: { uid: 0, gid: 0 }, … }
 * ```
 */
export function runtimeConfigFromImage(config: PulledImage["config"], options: RuntimeConfigOptions): Record<string, unknown> {
  if (config.os !== "linux") throw new VoxError("E_UNPACK_CONFIG", `Cannot make a runtime config for an image whose os is ${JSON.stringify(config.os)}`, { hint: "Unpack the linux variant of the image (--platform linux/<arch>)" });
  const image = (config.config ?? {}) as NonNullable<PulledImage["config"]["config"]> & { ExposedPorts?: Record<string, unknown>; Volumes?: Record<string, unknown>; StopSignal?: string };
  const full = config as PulledImage["config"] & { author?: string; created?: string };
  const env = [...DEFAULT_ENV];
  for (const entry of image.Env ?? []) {
    const equals = entry.indexOf("=");
    if (equals <= 0) throw new VoxError("E_UNPACK_CONFIG", `Cannot use the image config's Env entry ${JSON.stringify(entry)}: expected NAME=value`, { hint: "The image config is malformed; rebuild the image" });
    setEnv(env, entry.slice(0, equals), entry.slice(equals + 1));
  }
  const user = execUser(image.User ?? "", options.passwd, options.group);
  if (user.home !== undefined) setEnv(env, "HOME", user.home);
  const args = [...(image.Entrypoint ?? []), ...(image.Cmd ?? [])];
  const annotations: Record<string, string> = {
    ...(image.Labels ?? {}),
    "org.opencontainers.image.os": config.os,
    "org.opencontainers.image.architecture": config.architecture,
    "org.opencontainers.image.author": full.author ?? "",
    "org.opencontainers.image.created": full.created ?? "",
    "org.opencontainers.image.stopSignal": image.StopSignal ?? "",
    "org.opencontainers.image.exposedPorts": Object.keys(image.ExposedPorts ?? {}).join(","),
  };
  const volumes = Object.keys(image.Volumes ?? {}).map((destination) => ({ destination, type: "tmpfs", source: "none", options: ["rw", "nosuid", "nodev", "noexec", "relatime"] }));
  const mounts: Array<{ destination: string; type: string; source: string; options?: string[] }> = [
    { destination: "/proc", type: "proc", source: "proc" },
    { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
    { destination: "/dev/pts", type: "devpts", source: "devpts", options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", ...(options.rootless ? [] : ["gid=5"])] },
    { destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
    { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
  ];
  if (options.rootless) {
    mounts.push(...volumes, { destination: "/sys", type: "bind", source: "/sys", options: ["rbind", "nosuid", "noexec", "nodev", "ro"] }, { destination: "/etc/resolv.conf", type: "bind", source: "/etc/resolv.conf", options: ["rbind", "ro"] });
  } else {
    mounts.push({ destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] }, { destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["nosuid", "noexec", "nodev", "relatime", "ro"] }, ...volumes);
  }
  const host = options.hostIds ?? { uid: 0, gid: 0 };
  const namespaces = options.rootless ? ["pid", "ipc", "uts", "mount", "user"] : ["pid", "network", "ipc", "uts", "mount"];
  return {
    ociVersion: "1.0.0",
    process: {
      terminal: true,
      user: { uid: user.uid, gid: user.gid, ...(user.additionalGids.length > 0 && !options.rootless ? { additionalGids: user.additionalGids } : {}) },
      args: args.length > 0 ? args : ["sh"],
      env,
      cwd: image.WorkingDir || "/",
      capabilities: { bounding: CAPABILITIES, effective: CAPABILITIES, inheritable: CAPABILITIES, permitted: CAPABILITIES, ambient: CAPABILITIES },
      rlimits: [{ type: "RLIMIT_NOFILE", hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: "rootfs" },
    hostname: "vox",
    mounts,
    annotations,
    linux: {
      ...(options.rootless
        ? { uidMappings: [{ containerID: 0, hostID: host.uid, size: 1 }], gidMappings: [{ containerID: 0, hostID: host.gid, size: 1 }] }
        : { resources: { devices: [{ allow: false, access: "rwm" }] } }),
      namespaces: namespaces.map((type) => ({ type })),
      maskedPaths: ["/proc/kcore", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
      readonlyPaths: ["/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
    },
  };
}

function setEnv(env: string[], name: string, value: string): void {
  const index = env.findIndex((entry) => entry.startsWith(`${name}=`));
  if (index >= 0) env[index] = `${name}=${value}`;
  else env.push(`${name}=${value}`);
}

interface ExecUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  home: string | undefined;
}

/**
 * `user[:group]` as runc resolves it (libcontainer/user GetExecUser): names through passwd and group, numbers as
 * they are even without an entry, the user's primary group and home from passwd, and supplementary groups only
 * when no group is given.
 */
function execUser(spec: string, passwd: string | undefined, group: string | undefined): ExecUser {
  const [userArg = "", groupArg = ""] = splitOnce(spec, ":");
  const numeric = (text: string) => (/^\d+$/.test(text) ? Number(text) : undefined);
  const users = records(passwd, 7).map(([name, , uid, gid, , home]) => ({ name: name!, uid: Number(uid), gid: Number(gid), home: home! }));
  const groups = records(group, 4).map(([name, , gid, members]) => ({ name: name!, gid: Number(gid), members: (members ?? "").split(",").filter(Boolean) }));
  const result: ExecUser = { uid: 0, gid: 0, additionalGids: [], home: undefined };
  const uidArg = numeric(userArg);
  const match = users.find((u) => (userArg === "" ? u.uid === 0 : uidArg !== undefined ? u.uid === uidArg : u.name === userArg));
  if (match) Object.assign(result, { uid: match.uid, gid: match.gid, home: match.home });
  else if (userArg !== "") {
    if (uidArg === undefined || uidArg > MAX_ID) throw userError(spec, `no user ${JSON.stringify(userArg)} in the image's /etc/passwd`);
    result.uid = uidArg;
  }
  if (groupArg !== "") {
    const gidArg = numeric(groupArg);
    const found = groups.find((g) => (gidArg !== undefined ? g.gid === gidArg : g.name === groupArg));
    if (found) result.gid = found.gid;
    else if (gidArg !== undefined && gidArg <= MAX_ID) result.gid = gidArg;
    else throw userError(spec, `no group ${JSON.stringify(groupArg)} in the image's /etc/group`);
  } else if (match) {
    result.additionalGids = groups.filter((g) => g.members.includes(match.name)).map((g) => g.gid);
  }
  return result;
}

/** Colon-separated records with numeric fields where passwd and group have them; malformed lines are skipped, as runc does. */
function records(text: string | undefined, fields: number): string[][] {
  if (!text) return [];
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => line.split(":"))
    .filter((parts) => parts.length >= fields - 1 && /^\d+$/.test(parts[2] ?? "") && (fields === 4 || /^\d+$/.test(parts[3] ?? "")));
}

function splitOnce(text: string, separator: string): [string, string] {
  const index = text.indexOf(separator);
  return index < 0 ? [text, ""] : [text.slice(0, index), text.slice(index + 1)];
}

function userError(spec: string, why: string): VoxError {
  return new VoxError("E_UNPACK_CONFIG", `Cannot resolve the image's user ${JSON.stringify(spec)}: ${why}`, { hint: "Fix the image's User (a name its /etc/passwd lists, or numeric uid[:gid])" });
}
