import { VoxError } from "../errors/mod.ts";
import type { PulledImage } from "../oci/pull/mod.ts";
import { runtimeConfigFromImage } from "../oci/unpack/mod.ts";
import type { PlatformManifest } from "../platform/mod.ts";

/** CFS period for the cpu quota (the kernel's default, as Docker and Kubernetes use). */
const CPU_PERIOD_US = 100_000;
/** A fork bomb stops here; far above what one service process tree needs. */
export const PIDS_LIMIT = 512;
/** /tmp's size when the manifest sets no ephemeral_storage. */
export const DEFAULT_TMP_BYTES = 64 << 20;
/** Kernel paths hidden or made read-only beyond umoci's lists (Docker's and Podman's additions). */
const EXTRA_MASKED = ["/proc/acpi", "/proc/keys", "/sys/devices/virtual/powercap"];

/** A host directory bound into the container (a secret bundle's tmpfs copy, a managed volume). */
export interface BindMount {
  source: string;
  destination: string;
  readOnly: boolean;
}

export interface RuntimeSpecOptions {
  /** The named network namespace the instance joins (`/var/run/netns/<name>`). */
  netnsPath: string;
  /** cgroup path under every controller (cgroup v1) or the unified tree. */
  cgroupsPath: string;
  /** Secrets and volumes, already prepared on the host. */
  binds: readonly BindMount[];
  /** The image's /etc/passwd and /etc/group, to resolve the user as runc does. */
  passwd?: string;
  group?: string;
}

/**
 * The OCI runtime config for one instance: the image config (through the same `runtimeConfigFromImage` unpack uses)
 * with the manifest's process overrides (entrypoint and cmd as Kubernetes' command and args, env merged over the
 * image's, workdir, run_as_user), then the manifest's confinement: memory cap and request, cpu shares and a quota
 * equal to the request, a pids limit, no terminal (the process's output goes to the instance log), read-only root
 * when asked with a tmpfs /tmp sized by ephemeral_storage, no new privileges, capabilities cut to
 * NET_BIND_SERVICE when a declared port needs it and none otherwise, more masked kernel paths, the named network
 * namespace, and the secret and volume binds (nosuid, nodev; secrets noexec and read-only).
 *
 * @example
 * ```ts
 * const spec = runtimeSpec(image.config, manifest, { netnsPath: "/var/run/netns/vox-x", cgroupsPath: "/vox/x", binds: [] });
 * spec.linux.resources.memory.limit; // manifest.resources.memory_limit_bytes
 * ```
 */
export function runtimeSpec(config: PulledImage["config"], manifest: PlatformManifest, options: RuntimeSpecOptions): RuntimeSpec {
  const image = config.config ?? {};
  const entrypoint = manifest.process.entrypoint ?? image.Entrypoint ?? [];
  // Kubernetes' rule (Docker's too): a new entrypoint drops the image's CMD unless cmd is given as well.
  const cmd = manifest.process.cmd ?? (manifest.process.entrypoint === null ? (image.Cmd ?? []) : []);
  if (entrypoint.length + cmd.length === 0) {
    throw new VoxError("E_RUN_CONFIG", `Cannot run ${manifest.name}: neither the image nor the manifest says what to run`, { hint: "Set [process] entrypoint or cmd in vox.platform.toml (or ENTRYPOINT/CMD in the image)" });
  }
  const user = manifest.security.run_as_user === null ? image.User : runAsUser(manifest.security.run_as_user, options.passwd);
  const base = runtimeConfigFromImage(
    {
      ...config,
      config: {
        ...image,
        Entrypoint: entrypoint,
        Cmd: cmd,
        Env: [...(image.Env ?? []), ...Object.entries(manifest.process.env).map(([k, v]) => `${k}=${v}`)],
        ...(manifest.process.workdir === null ? {} : { WorkingDir: manifest.process.workdir }),
        ...(user === undefined ? {} : { User: user }),
      },
    },
    { rootless: false, ...(options.passwd === undefined ? {} : { passwd: options.passwd }), ...(options.group === undefined ? {} : { group: options.group }) },
  ) as unknown as UmociSpec;
  const capabilities = manifest.ports.some((p) => p.port < 1024) ? ["CAP_NET_BIND_SERVICE"] : [];
  const taken = new Set([...options.binds.map((b) => b.destination), "/tmp"]);
  const resources = manifest.resources;
  const shares = Math.max(2, Math.round((resources.cpu_millicores * 1024) / 1000));
  return {
    ...base,
    process: {
      ...base.process,
      terminal: false,
      capabilities: { bounding: capabilities, effective: capabilities, inheritable: capabilities, permitted: capabilities, ambient: capabilities },
      noNewPrivileges: true,
    },
    root: { path: "rootfs", readonly: manifest.security.read_only_root_fs },
    mounts: [
      // The image's VOLUMEs stay tmpfs unless the manifest mounts something there itself.
      ...base.mounts.filter((m) => !taken.has(m.destination)),
      { destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "mode=1777", `size=${resources.ephemeral_storage_bytes ?? DEFAULT_TMP_BYTES}`] },
      ...options.binds.map((b) => ({
        destination: b.destination,
        type: "bind",
        source: b.source,
        options: ["rbind", "nosuid", "nodev", ...(b.readOnly ? ["ro"] : ["rw"])],
      })),
    ],
    linux: {
      ...base.linux,
      cgroupsPath: options.cgroupsPath,
      resources: {
        ...base.linux.resources,
        memory: { limit: resources.memory_limit_bytes, reservation: resources.memory_request_bytes, swap: resources.memory_limit_bytes },
        cpu: { shares, quota: Math.max(1000, Math.round((resources.cpu_millicores * CPU_PERIOD_US) / 1000)), period: CPU_PERIOD_US },
        pids: { limit: PIDS_LIMIT },
      },
      namespaces: base.linux.namespaces.map((ns) => (ns.type === "network" ? { type: "network", path: options.netnsPath } : ns)),
      maskedPaths: [...base.linux.maskedPaths, ...EXTRA_MASKED],
    },
  };
}

/** A uid the image's passwd lists keeps its primary group; any other runs with the group of the same number, never root's. */
function runAsUser(uid: number, passwd: string | undefined): string {
  const listed = (passwd ?? "").split("\n").some((line) => line.split(":")[2] === String(uid));
  return listed ? String(uid) : `${uid}:${uid}`;
}

interface Mount {
  destination: string;
  type: string;
  source: string;
  options?: string[];
}

interface UmociSpec {
  ociVersion: string;
  process: Record<string, unknown> & { args: string[]; env: string[]; cwd: string; user: { uid: number; gid: number; additionalGids?: number[] } };
  root: { path: string };
  hostname: string;
  mounts: Mount[];
  annotations: Record<string, string>;
  linux: { resources: Record<string, unknown>; namespaces: Array<{ type: string; path?: string }>; maskedPaths: string[]; readonlyPaths: string[] };
}

/** The parts of an OCI runtime config vox sets and reads back. */
export type RuntimeSpec = Omit<UmociSpec, "root" | "linux"> & {
  root: { path: string; readonly: boolean };
  linux: UmociSpec["linux"] & {
    cgroupsPath: string;
    resources: Record<string, unknown> & {
      memory: { limit: number; reservation: number; swap: number };
      cpu: { shares: number; quota: number; period: number };
      pids: { limit: number };
    };
  };
};
