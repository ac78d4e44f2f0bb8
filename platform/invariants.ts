// The rules that span keys or tables, checked on the normalized draft: colliding ports, names and mounts, health
// checks on undeclared ports, memory and timing bounds, rollouts that could not progress. JSON Schema cannot say
// them, so each has a name; `platform/differential_test.ts` lists them.

import type { KeyPath } from "../pm/toml_locator.ts";
import type { KeyProblem } from "../pm/toml_problems.ts";
import { isSingleWriterPersistent, type Draft } from "./normalize.ts";
import { DNS_LABEL } from "./schema.ts";
import { formatBytes, formatDuration } from "./units.ts";

/** Every rule checked here, by name, with what it refuses. */
export const INVARIANT_RULES = {
  "ports.unique": "a port number and protocol, or a port name, declared twice",
  "health.declared_port": "an http or tcp health check on a port that is not a declared tcp port",
  "mounts.unique": "two volumes or secrets mounted on one path",
  "volumes.unique_name": "two volumes with one name",
  "secrets.unique_bundle": "one secret bundle mounted twice",
  "resources.memory_within_limit": "a memory cap below the memory requested",
  "health.timeout_within_interval": "a health check timeout longer than its interval",
  "rollout.single_writer_surge": "a rolling update that would start a second instance on a single-writer volume",
  "rollout.progress": "a rolling update with neither surge nor unavailability, which could never start",
  "rollout.unavailable_within_instances": "more instances allowed unavailable than there are",
  "name.default": "no name, and a package name that is not a DNS label",
} as const;

export type InvariantRule = keyof typeof INVARIANT_RULES;

/**
 * Problems with rules across keys in a draft (see {@link INVARIANT_RULES}). Defaults never break them, so each
 * problem points at a key the manifest wrote.
 *
 * @example
 * ```ts
 * invariantProblems(draftManifest(document, "hello")); // [{ path: ["ports", 1, "port"], message: "8080/tcp is declared twice …", rule: "ports.unique" }]
 * ```
 */
export function invariantProblems(draft: Draft): KeyProblem[] {
  const problems: KeyProblem[] = [];
  const add = (rule: InvariantRule, path: KeyPath, message: string, hint: string) => problems.push({ path, message, hint, rule });
  const { manifest, origins } = draft;

  if (!DNS_LABEL.test(manifest.name)) {
    const suggestion = manifest.name.toLowerCase().replace(/^@[^/]*\//, "").replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 63) || "app";
    add("name.default", ["name"], `is not set, and the package name ${JSON.stringify(manifest.name)} is not a DNS label`, `Add name = ${JSON.stringify(suggestion)} (lowercase letters, digits and '-')`);
  }

  const [portSeen, nameSeen, mountSeen, volumeSeen, bundleSeen] = [firstSeen(), firstSeen(), firstSeen(), firstSeen(), firstSeen()];
  manifest.ports.forEach((port, i) => {
    const index = origins.ports[i]!;
    const key = `${port.port}/${port.protocol}`;
    const first = portSeen(key, `ports[${index}]`);
    if (first) add("ports.unique", ["ports", index, "port"], `${key} is declared twice (first as ${first})`, "Keep one [[ports]] entry per port and protocol");
    const firstName = nameSeen(port.name, `ports[${index}]`);
    if (firstName) add("ports.unique", ["ports", index, "name"], `${JSON.stringify(port.name)} names two ports (first ${firstName})`, "Give each port its own name");
  });

  const health = manifest.health;
  if (health && health.kind !== "exec") {
    const tcp = manifest.ports.some((p) => p.port === health.port && p.protocol === "tcp");
    if (!tcp) {
      const udp = manifest.ports.some((p) => p.port === health.port);
      add("health.declared_port", ["health", "port"], udp ? `${health.port} is declared udp only; ${health.kind} checks need a tcp port` : `${health.port} is not a declared port`, `Declare it in [[ports]] (port = ${health.port}, protocol = "tcp"), or check a port that is declared`);
    }
  }
  if (health && health.timeout_ms > health.interval_ms) {
    add("health.timeout_within_interval", ["health", "timeout"], `${formatDuration(health.timeout_ms)} is longer than the interval (${formatDuration(health.interval_ms)})`, "Make timeout at most interval, so checks never overlap");
  }

  const mounted = (path: string, section: "volumes" | "secrets", index: number) => {
    const first = mountSeen(path, `${section}[${index}]`);
    if (first) add("mounts.unique", [section, index, "mount_path"], `${path} is also where ${first} is mounted`, "Mount each volume and secret on its own path");
  };
  manifest.volumes.forEach((volume, i) => {
    const index = origins.volumes[i]!;
    const first = volumeSeen(volume.name, `volumes[${index}]`);
    if (first) add("volumes.unique_name", ["volumes", index, "name"], `${JSON.stringify(volume.name)} names two volumes (first ${first})`, "Give each volume its own name");
    mounted(volume.mount_path, "volumes", index);
  });
  manifest.secrets.forEach((secret, i) => {
    const index = origins.secrets[i]!;
    const first = bundleSeen(secret.bundle, `secrets[${index}]`);
    if (first) add("secrets.unique_bundle", ["secrets", index, "bundle"], `${JSON.stringify(secret.bundle)} is mounted twice (first ${first})`, "Mount each bundle once");
    mounted(secret.mount_path, "secrets", index);
  });

  const { memory_limit_bytes: limit, memory_request_bytes: request } = manifest.resources;
  if (limit < request) add("resources.memory_within_limit", ["resources", "memory_limit"], `${formatBytes(limit)} is below memory_request (${formatBytes(request)})`, "Raise memory_limit or lower memory_request: the platform cannot reserve more than the workload may use");

  const rollout = manifest.rollout;
  if (rollout.strategy === "rolling") {
    const singleWriter = manifest.volumes.find(isSingleWriterPersistent);
    if (singleWriter && rollout.max_surge > 0) add("rollout.single_writer_surge", ["rollout", "max_surge"], `${rollout.max_surge} would start an instance beside the old one, but volume ${singleWriter.name} is persistent and single-writer`, 'Set max_surge = 0 (and max_unavailable = 1), or strategy = "recreate"');
    if (rollout.max_surge === 0 && rollout.max_unavailable === 0) add("rollout.progress", ["rollout", "max_unavailable"], "is 0 and max_surge is 0, so an update could never replace an instance", "Allow max_unavailable = 1, or max_surge = 1");
    if (rollout.max_unavailable > rollout.instances) add("rollout.unavailable_within_instances", ["rollout", "max_unavailable"], `${rollout.max_unavailable} is more than the ${rollout.instances} instance(s)`, `Set max_unavailable to at most instances (${rollout.instances})`);
  }
  return problems;
}

/** A record of values seen: given a value and where it is, says where it was first seen, if it was. */
function firstSeen(): (value: string, where: string) => string | undefined {
  const first = new Map<string, string>();
  return (value, where) => {
    const before = first.get(value);
    if (before === undefined) first.set(value, where);
    return before;
  };
}
