// Helpers the target emitters share: durations, in-container probe commands, YAML with a fixed key order.

import { stringify } from "yaml";
import type { HealthCheck, PlatformManifest } from "../platform/types.ts";

/** `1500ms`, `10s`: the duration syntax Compose, podman and Quadlet all accept. */
export function duration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** Whole seconds, rounded up (Kubernetes probe and rollout fields take integer seconds). */
export function seconds(ms: number, minimum = 0): number {
  return Math.max(minimum, Math.ceil(ms / 1000));
}

/** The argv an engine runs inside the container for a check; outside Kubernetes only exec checks are native. */
export function probeCommand(health: HealthCheck): string[] {
  switch (health.kind) {
    case "exec":
      return health.command;
    case "http":
      return ["wget", "-q", "-O", "/dev/null", `http://127.0.0.1:${health.port}${health.path}`];
    case "tcp":
      return ["nc", "-z", "127.0.0.1", String(health.port)];
  }
}

/** `<app>-<volume>`: volume and claim names, so two workloads on one host do not share a volume by accident. */
export function volumeName(manifest: PlatformManifest, volume: string): string {
  return `${manifest.name}-${volume}`;
}

/**
 * YAML from plain data: keys in the order the emitter built them (never sorted, so every document reads in
 * its format's usual order), no anchors, no line folding; one value gives one text.
 */
export function yaml(value: unknown): string {
  return stringify(value, { aliasDuplicateObjects: false, lineWidth: 0, sortMapEntries: false });
}

/** The label/annotation that records which manifest schema a descriptor was made from. */
export const SCHEMA_LABEL = "dev.vox.platform.schema";
