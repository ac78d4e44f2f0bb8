// From a parsed manifest document to the normalized manifest: every default applied explicitly (and logged with
// why), every quantity in its canonical unit. Reads only the values the schema accepts, so the invariants can be
// checked on a partial draft while other keys are still wrong, and every problem is reported at once.

import type { z } from "zod";
import { formatKeyPath, type KeyPath } from "../pm/toml_locator.ts";
import { HealthSchema, NetworkSchema, PlatformInputSchema, PortSchema, ProcessSchema, ResourcesSchema, RolloutSchema, SecretSchema, SecuritySchema, VolumeSchema } from "./schema.ts";
import type { HealthCheck, PlatformManifest, PortSpec, SecretSpec, VolumeSpec } from "./types.ts";
import { byteCount, cpuMillicores, durationMs, formatBytes, formatDuration } from "./units.ts";

/** A default the validator applied: the key as one would write it, the value it took (as written), and why. */
export interface AppliedDefault {
  key: string;
  value: unknown;
  why: string;
}

/** The normalized manifest built from what was valid, and where its list entries came from in the document. */
export interface Draft {
  manifest: PlatformManifest;
  defaults: AppliedDefault[];
  /** The document index of each entry of `manifest.ports`, `volumes` and `secrets` (invalid entries are left out). */
  origins: { ports: number[]; volumes: number[]; secrets: number[] };
}

const DEFAULT_CPU_MILLICORES = 100;
const DEFAULT_MEMORY_BYTES = 256 * 2 ** 20;
const DEFAULT_VOLUME_BYTES = 2 ** 30;
const DEFAULT_SECRET_MODE = "0400";

/**
 * The normalized manifest of `document` (a parsed TOML table whose `schema` is known), taking each key only if
 * the schema accepts its value. When the whole document is valid this is the manifest; otherwise it is a draft
 * for checking the rules that span tables.
 *
 * @example
 * ```ts
 * draftManifest({ schema: "vox.platform/v1", resources: { cpu: "250m" } }, "hello").manifest.resources.cpu_millicores; // 250
 * ```
 */
export function draftManifest(document: Record<string, unknown>, defaultName: string): Draft {
  const defaults: AppliedDefault[] = [];
  /** `given`, or `fallback` with the default logged (shown as one would write it). */
  const or = <T>(path: KeyPath, given: T | undefined, fallback: T, why: string, shown: unknown = fallback): T => {
    if (given !== undefined) return given;
    defaults.push({ key: formatKeyPath(path), value: shown, why });
    return fallback;
  };

  const top = validFields(PlatformInputSchema.pick({ name: true }), document);
  const name = or(["name"], top.name, defaultName, "not set: the package name in Vox.toml");

  const p = validFields(ProcessSchema, document.process);
  const entrypoint = or(["process", "entrypoint"], p.entrypoint, null, "not set: the image's ENTRYPOINT runs");
  const process = {
    entrypoint,
    cmd: or(["process", "cmd"], p.cmd, null, entrypoint === null ? "not set: the image's CMD is the argument list" : "not set: no arguments (replacing the entrypoint drops the image's CMD in every engine)"),
    env: Object.fromEntries(Object.entries(or(["process", "env"], p.env, {}, "not set: only the image's environment")).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    workdir: or(["process", "workdir"], p.workdir, null, "not set: the image's WORKDIR"),
  };

  const portEntries = entries(document.ports).flatMap(([index, raw]) => {
    const fields = validFields(PortSchema, raw);
    return fields.port === undefined ? [] : [{ index, fields: { ...fields, port: fields.port } }];
  });
  const takenNames = new Set(portEntries.flatMap((entry) => (entry.fields.name ? [entry.fields.name] : [])));
  const ports = portEntries.map(({ index, fields }): PortSpec => {
    const at = (key: string): KeyPath => ["ports", index, key];
    const protocol = or(at("protocol"), fields.protocol, "tcp", "not set: tcp");
    const app_protocol = protocol === "udp" ? null : or(at("app_protocol"), fields.app_protocol, "http", "not set: a tcp port is taken to speak http");
    const exposure = or(at("exposure"), fields.exposure, "internal", "not set: reachable only by other workloads until declared public");
    const portName = or(at("name"), fields.name, defaultPortName(app_protocol ?? "udp", fields.port, takenNames), "not set: named after its protocol (and number, when that name is taken)");
    takenNames.add(portName);
    return { name: portName, port: fields.port, protocol, app_protocol, exposure };
  });

  const r = validFields(ResourcesSchema, document.resources);
  const cpu_millicores = r.cpu !== undefined ? cpuMillicores(r.cpu) : or(["resources", "cpu"], undefined, DEFAULT_CPU_MILLICORES, "not set: a tenth of a core", `${DEFAULT_CPU_MILLICORES}m`);
  const memory_limit_bytes =
    r.memory_limit !== undefined
      ? byteCount(r.memory_limit)
      : r.memory_request !== undefined
        ? or(["resources", "memory_limit"], undefined, byteCount(r.memory_request), "not set: memory_request, so the cap is what is reserved", r.memory_request)
        : or(["resources", "memory_limit"], undefined, DEFAULT_MEMORY_BYTES, "not set: 256Mi", formatBytes(DEFAULT_MEMORY_BYTES));
  const resources = {
    cpu_millicores,
    memory_limit_bytes,
    memory_request_bytes: r.memory_request !== undefined ? byteCount(r.memory_request) : or(["resources", "memory_request"], undefined, memory_limit_bytes, "not set: the cap, so all the memory the workload may use is reserved for it", formatBytes(memory_limit_bytes)),
    ephemeral_storage_bytes: r.ephemeral_storage !== undefined ? byteCount(r.ephemeral_storage) : or(["resources", "ephemeral_storage"], undefined, null, "not set: the engine's limit on scratch disk"),
  };

  const health = document.health === undefined ? or(["health"], undefined, null, "not set: no health check; engines only see whether the process runs") : healthCheck(document.health, or);

  const volumes = entries(document.volumes).flatMap(([index, raw]) => {
    const fields = validFields(VolumeSchema, raw);
    if (fields.name === undefined || fields.mount_path === undefined) return [];
    const at = (key: string): KeyPath => ["volumes", index, key];
    const persistence = or(at("persistence"), fields.persistence, "ephemeral", "not set: lives as long as the instance");
    const size_bytes = fields.size !== undefined ? byteCount(fields.size) : persistence === "persistent" ? or(at("size"), undefined, DEFAULT_VOLUME_BYTES, "not set: a persistent volume needs a size to claim; 1Gi", formatBytes(DEFAULT_VOLUME_BYTES)) : or(at("size"), undefined, null, "not set: an ephemeral volume is bounded by resources.ephemeral_storage");
    const volume: VolumeSpec = { name: fields.name, mount_path: fields.mount_path, size_bytes, persistence, access: or(at("access"), fields.access, "single-writer", "not set: one instance mounts it read-write") };
    return [{ index, volume }];
  });

  const secrets = entries(document.secrets).flatMap(([index, raw]) => {
    const fields = validFields(SecretSchema, raw);
    if (fields.bundle === undefined) return [];
    const at = (key: string): KeyPath => ["secrets", index, key];
    const secret: SecretSpec = {
      bundle: fields.bundle,
      mount_path: or(at("mount_path"), fields.mount_path, `/run/secrets/${fields.bundle}`, "not set: /run/secrets/<bundle>, where Compose and Podman put secrets"),
      mode: Number.parseInt(or(at("mode"), fields.mode, DEFAULT_SECRET_MODE, "not set: readable by the workload's user only"), 8),
    };
    return [{ index, secret }];
  });

  const rollout = rolloutSpec(validFields(RolloutSchema, document.rollout), volumes.map((v) => v.volume), or);
  const network = { egress: or(["network", "egress"], validFields(NetworkSchema, document.network).egress, "public", "not set: outbound traffic to any address") };
  const s = validFields(SecuritySchema, document.security);
  const security = {
    read_only_root_fs: or(["security", "read_only_root_fs"], s.read_only_root_fs, false, "not set: the root filesystem is writable"),
    run_as_user: or(["security", "run_as_user"], s.run_as_user, null, "not set: the image's user (emitters still refuse root where the target can)"),
  };

  return {
    manifest: { schema: "vox.platform/v1", name, process, ports, resources, health, rollout, volumes: volumes.map((v) => v.volume), secrets: secrets.map((s) => s.secret), network, security },
    defaults,
    origins: { ports: portEntries.map((e) => e.index), volumes: volumes.map((v) => v.index), secrets: secrets.map((s) => s.index) },
  };
}

type Or = <T>(path: KeyPath, given: T | undefined, fallback: T, why: string, shown?: unknown) => T;

/** The health check, or null when its kind or target is invalid (the schema reports why). */
function healthCheck(raw: unknown, or: Or): HealthCheck | null {
  const kind = isTable(raw) ? raw.kind : undefined;
  const branch = HealthSchema.options.find((option) => option.shape.kind.value === kind);
  if (!branch) return null;
  const fields = validFields(branch, raw) as { port?: number; path?: string; command?: string[]; interval?: string; timeout?: string; retries?: number; start_period?: string };
  const path = kind === "http" ? or(["health", "path"], fields.path, "/", "not set: /") : undefined;
  const interval_ms = fields.interval !== undefined ? durationMs(fields.interval) : or(["health", "interval"], undefined, 10_000, "not set: 10s", "10s");
  const timing = {
    interval_ms,
    timeout_ms: fields.timeout !== undefined ? durationMs(fields.timeout) : or(["health", "timeout"], undefined, Math.min(2000, interval_ms), "not set: 2s, or the interval when that is shorter", formatDuration(Math.min(2000, interval_ms))),
    retries: or(["health", "retries"], fields.retries, 3, "not set: unhealthy after 3 failures in a row"),
    start_period_ms: fields.start_period !== undefined ? durationMs(fields.start_period) : or(["health", "start_period"], undefined, 0, "not set: failures count from the start", "0s"),
  };
  if (kind === "exec") return fields.command === undefined ? null : { kind, command: fields.command, ...timing };
  if (fields.port === undefined) return null;
  if (kind === "tcp") return { kind, port: fields.port, ...timing };
  return { kind: "http", port: fields.port, path: path!, ...timing };
}

/**
 * Rollout with its defaults, which never contradict each other or the volumes: a persistent single-writer volume
 * makes the default strategy recreate (or, for a rolling update, no surge), and no surge means one may be down.
 */
function rolloutSpec(r: Partial<z.output<typeof RolloutSchema>>, volumes: VolumeSpec[], or: Or): PlatformManifest["rollout"] {
  const at = (key: string): KeyPath => ["rollout", key];
  const instances = or(at("instances"), r.instances, 1, "not set: one instance");
  const singleWriter = volumes.find(isSingleWriterPersistent);
  const rollingAsked = r.max_surge !== undefined || r.max_unavailable !== undefined;
  const strategy = or(
    at("strategy"),
    r.strategy,
    rollingAsked || !singleWriter ? "rolling" : "recreate",
    rollingAsked ? "not set: max_surge or max_unavailable is given, which only a rolling update uses" : singleWriter ? `not set: volume ${singleWriter.name} is persistent and single-writer, so two instances cannot run at once` : "not set: instances are replaced a few at a time, without downtime",
  );
  const min_ready_ms = r.min_ready !== undefined ? durationMs(r.min_ready) : or(at("min_ready"), undefined, 0, "not set: an instance counts as ready as soon as it is healthy", "0s");
  if (strategy === "recreate") {
    const why = "strategy recreate: every instance stops before new ones start";
    return { instances, strategy, max_surge: or(at("max_surge"), undefined, 0, why), max_unavailable: or(at("max_unavailable"), undefined, instances, why), min_ready_ms };
  }
  const max_surge = or(at("max_surge"), r.max_surge, singleWriter ? 0 : 1, singleWriter ? `not set: volume ${singleWriter.name} is single-writer, so no extra instance may start beside the old one` : "not set: one extra instance during an update");
  const max_unavailable = or(at("max_unavailable"), r.max_unavailable, max_surge === 0 ? 1 : 0, max_surge === 0 ? "not set: with no surge, one instance must stop for an update to progress" : "not set: no instance stops before its replacement is ready");
  return { instances, strategy, max_surge, max_unavailable, min_ready_ms };
}

/** A volume that only one instance at a time may mount read-write and that outlives instances. */
export function isSingleWriterPersistent(volume: VolumeSpec): boolean {
  return volume.persistence === "persistent" && volume.access === "single-writer";
}

/** `<protocol>` for the first port of that protocol, else `<protocol>-<port>`, never a name already taken. */
function defaultPortName(protocol: string, port: number, taken: Set<string>): string {
  if (!taken.has(protocol)) return protocol;
  let name = `${protocol}-${port}`;
  for (let n = 2; taken.has(name); n++) name = `${protocol}-${port}-${n}`;
  return name;
}

/** The keys of a table whose values the object schema accepts one by one, with their parsed values. */
function validFields<T extends z.ZodObject>(schema: T, raw: unknown): Partial<z.output<T>> {
  const fields: Record<string, unknown> = {};
  if (!isTable(raw)) return fields as Partial<z.output<T>>;
  for (const [key, field] of Object.entries(schema.shape as Record<string, z.ZodType>)) {
    if (raw[key] === undefined) continue;
    const parsed = field.safeParse(raw[key]);
    if (parsed.success && parsed.data !== undefined) fields[key] = parsed.data;
  }
  return fields as Partial<z.output<T>>;
}

function entries(raw: unknown): Array<[number, unknown]> {
  return Array.isArray(raw) ? raw.map((value, index): [number, unknown] => [index, value]) : [];
}

function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
