// The Compose target: one `compose.yaml` in the Compose file format that docker-compose 1.29 validates
// (no `version:` key, long port and volume syntax, external secrets, `deploy` for resources and rollout).

import type { PlatformManifest } from "../platform/types.ts";
import { duration, probeCommand, SCHEMA_LABEL, volumeName, yaml } from "./_common.ts";
import type { EmittedFile } from "./mod.ts";

export function composeFiles(image: string, manifest: PlatformManifest): EmittedFile[] {
  const { process, resources, health, rollout, security } = manifest;
  const publicPorts = manifest.ports.filter((p) => p.exposure === "public");
  const internalPorts = manifest.ports.filter((p) => p.exposure === "internal");
  const persistent = manifest.volumes.filter((v) => v.persistence === "persistent");
  const service: Record<string, unknown> = {
    image,
    ...(process.entrypoint ? { entrypoint: process.entrypoint } : {}),
    ...(process.cmd ? { command: process.cmd } : {}),
    ...(Object.keys(process.env).length > 0 ? { environment: process.env } : {}),
    ...(process.workdir ? { working_dir: process.workdir } : {}),
    ...(security.run_as_user !== null ? { user: String(security.run_as_user) } : {}),
    read_only: security.read_only_root_fs,
    ...(security.read_only_root_fs && !manifest.volumes.some((v) => v.mount_path === "/tmp") ? { tmpfs: ["/tmp"] } : {}),
    cap_drop: ["ALL"],
    security_opt: ["no-new-privileges:true"],
    labels: { [SCHEMA_LABEL]: manifest.schema },
    ...(publicPorts.length > 0 ? { ports: publicPorts.map((p) => ({ target: p.port, published: p.port, protocol: p.protocol, mode: "host" })) } : {}),
    ...(internalPorts.length > 0 ? { expose: internalPorts.map((p) => `${p.port}/${p.protocol}`) } : {}),
    ...(health
      ? {
          healthcheck: {
            test: ["CMD", ...probeCommand(health)],
            interval: duration(health.interval_ms),
            timeout: duration(health.timeout_ms),
            retries: health.retries,
            start_period: duration(health.start_period_ms),
          },
        }
      : {}),
    ...(manifest.volumes.length > 0
      ? {
          volumes: manifest.volumes.map((v) =>
            v.persistence === "persistent"
              ? { type: "volume", source: volumeName(manifest, v.name), target: v.mount_path, read_only: v.access === "read-only-many" }
              : { type: "tmpfs", target: v.mount_path, read_only: v.access === "read-only-many", ...(v.size_bytes !== null ? { tmpfs: { size: v.size_bytes } } : {}) }),
        }
      : {}),
    ...(manifest.secrets.length > 0 ? { secrets: manifest.secrets.map((s) => ({ source: s.bundle, target: `${s.mount_path}/${s.bundle}`, mode: s.mode })) } : {}),
    deploy: {
      replicas: rollout.instances,
      resources: {
        limits: { memory: String(resources.memory_limit_bytes) },
        reservations: { cpus: cpus(resources.cpu_millicores), memory: String(resources.memory_request_bytes) },
      },
      update_config: { order: rollout.strategy === "rolling" ? "start-first" : "stop-first", monitor: duration(rollout.min_ready_ms) },
    },
  };
  const document: Record<string, unknown> = {
    services: { [manifest.name]: service },
    ...(persistent.length > 0 ? { volumes: Object.fromEntries(persistent.map((v) => [volumeName(manifest, v.name), {}])) } : {}),
    ...(manifest.secrets.length > 0 ? { secrets: Object.fromEntries(manifest.secrets.map((s) => [s.bundle, { external: true }])) } : {}),
  };
  return [{ path: "compose.yaml", content: yaml(literal(document)) }];
}

/** Compose substitutes `${VAR}` and `$VAR` in every string; a manifest's `$` is meant literally (`$$`). */
function literal(value: unknown): unknown {
  if (typeof value === "string") return value.replaceAll("$", "$$$$");
  if (Array.isArray(value)) return value.map(literal);
  if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, literal(v)]));
  return value;
}

/** `0.5`, `2`: Compose's `cpus` is a decimal string; millicores keep it exact to three places. */
function cpus(millicores: number): string {
  return String(millicores / 1000);
}
