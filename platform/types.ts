// The normalized platform manifest (`vox.platform/v1`): what `validatePlatformManifest` returns, with every default
// applied explicitly and every quantity in one canonical unit. Releases hash it; emitters, the host runner and the
// microVM read it. Field names follow Kubernetes and Compose where they agree (see the README's naming table).

/** The schema versions this vox knows, newest last. */
export const PLATFORM_SCHEMAS = ["vox.platform/v1"] as const;
export type PlatformSchema = (typeof PLATFORM_SCHEMAS)[number];

/** The media type of a normalized manifest pushed as an OCI artifact (its `artifactType`). */
export const PLATFORM_MANIFEST_ARTIFACT_TYPE = "application/vnd.vox.platform.manifest.v1+json";

export interface PlatformManifest {
  schema: PlatformSchema;
  /** Workload name: a DNS label (RFC 1123, at most 63 characters). Default: the package name from Vox.toml. */
  name: string;
  process: ProcessSpec;
  /** In declaration order; names unique. */
  ports: PortSpec[];
  resources: ResourceSpec;
  /** null: no health check declared. */
  health: HealthCheck | null;
  rollout: RolloutSpec;
  /** In declaration order; names and mount paths unique. */
  volumes: VolumeSpec[];
  /** In declaration order; bundles and mount paths unique. */
  secrets: SecretSpec[];
  network: NetworkSpec;
  security: SecuritySpec;
}

export interface ProcessSpec {
  /** Replaces the image's ENTRYPOINT when not null. */
  entrypoint: string[] | null;
  /** Replaces the image's CMD when not null. */
  cmd: string[] | null;
  /** Non-secret environment, merged over the image's; keys sorted in the normalized form. */
  env: Record<string, string>;
  /** Replaces the image's WORKDIR when not null (absolute). */
  workdir: string | null;
}

export interface PortSpec {
  /** Default: `<app_protocol>` (`udp` for udp ports) for the first such port, else `<app_protocol>-<port>`; never a name taken. */
  name: string;
  /** Container port, 1..65535. */
  port: number;
  /** Transport. Default tcp. */
  protocol: "tcp" | "udp";
  /** Application-protocol intent (Kubernetes `appProtocol`) for tcp ports, default http; null for udp ports. */
  app_protocol: "http" | "grpc" | "tcp" | null;
  /** public: reachable from outside the platform; internal: only from other workloads. Default internal. */
  exposure: "public" | "internal";
}

export interface ResourceSpec {
  /** CPU request in millicores (`500m` → 500, `0.5` → 500, `2` → 2000). Default 100. */
  cpu_millicores: number;
  /** Memory hard cap in bytes (`512Mi`, `1G`). Default: the request when only that is given, else 256 MiB. */
  memory_limit_bytes: number;
  /** Memory request in bytes; at most the cap. Default: the cap. */
  memory_request_bytes: number;
  /** Ephemeral (scratch) disk cap in bytes; null: the engine's default. */
  ephemeral_storage_bytes: number | null;
}

/** `port` in an http or tcp check must be a declared tcp port (an invariant), so a check never targets nothing. */
export type HealthCheck = (
  | { kind: "http"; port: number; /** Default `/`. */ path: string }
  | { kind: "tcp"; port: number }
  | { kind: "exec"; command: string[] }
) & HealthTiming;

export interface HealthTiming {
  /** Default 10 s. */
  interval_ms: number;
  /** Default 2 s; at most the interval. */
  timeout_ms: number;
  /** Consecutive failures before unhealthy. Default 3. */
  retries: number;
  /** Failures during this time after start do not count. Default 0. */
  start_period_ms: number;
}

export interface RolloutSpec {
  /** Default 1. */
  instances: number;
  /**
   * Default rolling; recreate when a persistent single-writer volume forbids two instances at once, unless
   * max_surge or max_unavailable (rolling parameters) are given.
   */
  strategy: "rolling" | "recreate";
  /** Extra instances allowed during a rolling update. Default 1 (0 with recreate or a persistent single-writer volume). */
  max_surge: number;
  /** Instances that may be unavailable during an update. Default 0 (rolling), 1 (rolling without surge) or all (recreate). */
  max_unavailable: number;
  /** How long a new instance must stay healthy before it counts as ready. Default 0. */
  min_ready_ms: number;
}

export interface VolumeSpec {
  /** A DNS label, unique. */
  name: string;
  /** Absolute path inside the container; never `/`. */
  mount_path: string;
  /** Requested size in bytes. Default 1 GiB for persistent volumes (a claim needs a size), null for ephemeral. */
  size_bytes: number | null;
  /** persistent: survives restarts and releases; ephemeral: lives as long as the instance. Default ephemeral. */
  persistence: "persistent" | "ephemeral";
  /** single-writer: one instance mounts it read-write; read-only-many: any number mount it read-only. Default single-writer. */
  access: "single-writer" | "read-only-many";
}

export interface SecretSpec {
  /** The name of a secret bundle the platform holds (a reference; never a value). A DNS label. */
  bundle: string;
  /** Absolute directory where the bundle's files appear. Default `/run/secrets/<bundle>`. */
  mount_path: string;
  /** File mode of the bundle's files. Default 0o400. */
  mode: number;
}

export interface NetworkSpec {
  /** Outbound traffic intent: public (any address) or none. Default public. */
  egress: "public" | "none";
}

export interface SecuritySpec {
  /** The root filesystem is mounted read-only (volumes and /tmp stay writable). Default false. */
  read_only_root_fs: boolean;
  /** Run as this non-root uid; null: the image's user (emitters still forbid root where the target can). */
  run_as_user: number | null;
}
