// What the Quadlet and systemd targets share: the container's settings as podman run options, each with the
// Quadlet key that says the same thing (or none: then Quadlet passes it through `PodmanArgs=`).

import type { PlatformManifest } from "../platform/types.ts";
import { duration, probeCommand, SCHEMA_LABEL, volumeName } from "./_common.ts";

/** One `podman run` option; `key`/`keyValue` is its Quadlet spelling when Quadlet has one. */
export interface PodmanSetting {
  flag: string;
  /** Absent for a flag without a value. */
  value?: string;
  key?: string;
  /** The Quadlet value when it differs from `value` (a `.volume` unit instead of a volume name). */
  keyValue?: string;
}

/** The settings for `manifest`, in a fixed order; the image and the command follow them. */
export function podmanSettings(manifest: PlatformManifest): PodmanSetting[] {
  const { process, resources, health, security } = manifest;
  const settings: PodmanSetting[] = [
    { flag: "--name", value: manifest.name, key: "ContainerName" },
    { flag: "--label", value: `${SCHEMA_LABEL}=${manifest.schema}`, key: "Label" },
  ];
  if (process.entrypoint) settings.push({ flag: "--entrypoint", value: JSON.stringify(process.entrypoint) });
  for (const [name, value] of Object.entries(process.env)) settings.push({ flag: "--env", value: `${name}=${value}`, key: "Environment" });
  if (process.workdir) settings.push({ flag: "--workdir", value: process.workdir });
  if (security.run_as_user !== null) settings.push({ flag: "--user", value: String(security.run_as_user), key: "User" });
  settings.push(
    { flag: "--read-only", value: String(security.read_only_root_fs), key: "ReadOnly" },
    { flag: "--cap-drop", value: "all", key: "DropCapability" },
    { flag: "--security-opt", value: "no-new-privileges", key: "NoNewPrivileges", keyValue: "true" },
  );
  for (const port of manifest.ports) {
    if (port.exposure === "public") settings.push({ flag: "--publish", value: `${port.port}:${port.port}/${port.protocol}`, key: "PublishPort" });
    else settings.push({ flag: "--expose", value: `${port.port}/${port.protocol}`, key: "ExposeHostPort" });
  }
  settings.push(
    { flag: "--cpu-shares", value: String(Math.max(2, Math.round((resources.cpu_millicores * 1024) / 1000))) },
    { flag: "--memory", value: String(resources.memory_limit_bytes) },
    { flag: "--memory-reservation", value: String(resources.memory_request_bytes) },
  );
  if (health) {
    settings.push(
      // A JSON array without the leading "CMD": podman (4.3 to 5.x) splits a `["CMD", …]` value on spaces instead
      // of parsing it, and prefixes CMD itself to an array of two or more words.
      { flag: "--health-cmd", value: JSON.stringify(probeCommand(health)), key: "HealthCmd" },
      { flag: "--health-interval", value: duration(health.interval_ms), key: "HealthInterval" },
      { flag: "--health-timeout", value: duration(health.timeout_ms), key: "HealthTimeout" },
      { flag: "--health-retries", value: String(health.retries), key: "HealthRetries" },
      { flag: "--health-start-period", value: duration(health.start_period_ms), key: "HealthStartPeriod" },
    );
  }
  for (const v of manifest.volumes) {
    const readOnly = v.access === "read-only-many";
    if (v.persistence === "persistent") {
      const name = volumeName(manifest, v.name);
      const suffix = `:${v.mount_path}${readOnly ? ":ro" : ""}`;
      settings.push({ flag: "--volume", value: `${name}${suffix}`, key: "Volume", keyValue: `${name}.volume${suffix}` });
    } else {
      const options = [...(readOnly ? ["ro"] : []), ...(v.size_bytes !== null ? [`size=${v.size_bytes}`] : [])];
      settings.push({ flag: "--tmpfs", value: `${v.mount_path}${options.length > 0 ? `:${options.join(",")}` : ""}`, key: "Tmpfs" });
    }
  }
  for (const s of manifest.secrets) {
    settings.push({ flag: "--secret", value: `${s.bundle},type=mount,target=${s.mount_path}/${s.bundle},mode=0${s.mode.toString(8)}`, key: "Secret" });
  }
  return settings;
}

/**
 * One word of a systemd command line or list setting: bare when it cannot be misread, else double-quoted
 * with C escapes; `%` and `$` doubled, since systemd expands specifiers and variables even inside quotes.
 */
export function systemdWord(word: string): string {
  const escaped = word.replaceAll("%", "%%").replaceAll("$", "$$$$");
  // Prefixes such as `-` or `@` mean something only on the executable, never on the arguments written here.
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(escaped)) return escaped;
  return `"${escaped.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n").replaceAll("\t", "\\t")}"`;
}
