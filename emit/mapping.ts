// The emit mapping as data: for every PlatformManifest field and every target, how it is written or why it
// cannot be. The emitters' not-expressible lists and the README's mapping table are both derived from it.

import type { PlatformManifest } from "../platform/types.ts";

export const EMIT_TARGETS = ["compose", "kubernetes", "quadlet", "systemd", "firecracker"] as const;
export type EmitTarget = (typeof EMIT_TARGETS)[number];

/**
 * `how`: always written. `not`: never expressible. Both, with `notWhen`: written as `how` says unless
 * `notWhen` holds for that occurrence, in which case it is listed with `not` as the reason.
 */
export type Rule =
  | { how: string; not?: undefined; notWhen?: undefined }
  | { how?: undefined; not: string; notWhen?: undefined }
  | { how: string; not: string; notWhen: Condition };

/** Whether an occurrence cannot be expressed; `index` is the element's position for list fields. */
export interface Condition {
  /** Shown in the README: "not expressible when <text>". */
  text: string;
  test(manifest: PlatformManifest, index: number): boolean;
}

export interface FieldMapping {
  /** The field's path; `[]` marks a list (`ports[].name`), occurrences are named `ports[0].name`. */
  field: string;
  targets: Readonly<Record<EmitTarget, Rule>>;
}

/** A workload with a persistent single-writer volume runs as a StatefulSet (one claim per instance). */
export function usesStatefulSet(manifest: PlatformManifest): boolean {
  return manifest.volumes.some((v) => v.persistence === "persistent" && v.access === "single-writer");
}

const ONE_HOST_INSTANCES = "a unit runs one container; run several units (or Compose, Kubernetes) for more";
const ONE_HOST_ROLLOUT = "a unit is replaced by stopping the old container, then starting the new one";
const IN_IMAGE_PROBE = "the engine runs the check inside the container, so the image must provide";
const NO_SIZE = "the local volume driver has no size limit (only some storage backends take a size option)";
const NO_SINGLE_WRITER = "nothing stops a second container from mounting the named volume read-write";
const egressNone: Condition = { text: "egress is none", test: (m) => m.network.egress === "none" };
const NO_EGRESS_CUT = "cutting outbound traffic (an internal network or --network none) also cuts the published ports";
const writable: Condition = { text: "single-writer", test: (m, i) => m.volumes[i]?.access === "single-writer" };
const ephemeral: Condition = { text: "ephemeral", test: (m, i) => m.volumes[i]?.persistence === "ephemeral" };
const TMPFS_NAMELESS = "an ephemeral volume is a tmpfs mount, which has no name";
const persistent: Condition = { text: "persistent", test: (m, i) => m.volumes[i]?.persistence === "persistent" };
const severalInstances: Condition = { text: "instances > 1", test: (m) => m.rollout.instances > 1 };
const rolling: Condition = { text: "rolling", test: (m) => m.rollout.strategy === "rolling" };
const surges: Condition = { text: "max_surge > 0", test: (m) => m.rollout.max_surge > 0 };
const keepsSomeUp: Condition = { text: "below instances", test: (m) => m.rollout.max_unavailable < m.rollout.instances };
const waitsReady: Condition = { text: "min_ready_ms > 0", test: (m) => m.rollout.min_ready_ms > 0 };

type ContainerTarget = Exclude<EmitTarget, "firecracker">;
const same = (rule: Rule): Readonly<Record<ContainerTarget, Rule>> => ({ compose: rule, kubernetes: rule, quadlet: rule, systemd: rule });

const VM_RUN_SCRIPT = "the run script in the boot args (`vox.run=`, base64; `<name>.run.sh` beside it), read by vox's initramfs";
const VM_NO_PORTS = "Firecracker maps no ports: the guest gets a tap device (network-interfaces) that the host creates and routes";
const VM_NO_HEALTH = "Firecracker runs no checks: probing the guest is the host agent's";
const VM_ONE = "the config describes one VM: rollouts across VMs are the host agent's";
const VM_NO_VOLUMES = "vox's initramfs mounts only the root disk (a volume would be a second drive, not made yet)";

/**
 * The firecracker column: one VM config, so what a container engine adds around a process (ports, checks,
 * rollouts, volumes, secrets) is the host agent's and listed as not expressible. Kept apart from the container
 * targets' rows, and joined to them below (a field without a rule here fails at load).
 */
const FIRECRACKER: Readonly<Record<string, Rule>> = {
  schema: { not: "Firecracker's config has no labels or annotations (its keys are checked strictly)" },
  name: { how: "`<name>.firecracker.json`, the disk `<name>.rootfs.ext4`" },
  "process.entrypoint": { how: `the guest's command: ${VM_RUN_SCRIPT}` },
  "process.cmd": { how: `the guest's arguments: ${VM_RUN_SCRIPT}` },
  "process.env": { how: `the guest's environment (env -i): ${VM_RUN_SCRIPT}` },
  "process.workdir": { how: `\`VOX_CWD\` in ${VM_RUN_SCRIPT}` },
  "ports[].name": { not: VM_NO_PORTS },
  "ports[].port": { not: VM_NO_PORTS },
  "ports[].protocol": { not: VM_NO_PORTS },
  "ports[].app_protocol": { not: VM_NO_PORTS },
  "ports[].exposure": { not: VM_NO_PORTS },
  "resources.cpu_millicores": { how: "`machine-config.vcpu_count`: the request rounded up to whole vCPUs (1 to 32)" },
  "resources.memory_limit_bytes": { how: "`machine-config.mem_size_mib`: the cap in MiB plus 96 MiB for the guest kernel" },
  "resources.memory_request_bytes": { not: "a VM's memory is fixed when it boots: only the cap is used" },
  "resources.ephemeral_storage_bytes": { not: "the root is the read-only disk under an overlay in guest memory: there is no scratch disk to size" },
  "health.kind": { not: VM_NO_HEALTH },
  "health.port": { not: VM_NO_HEALTH },
  "health.path": { not: VM_NO_HEALTH },
  "health.command": { not: VM_NO_HEALTH },
  "health.interval_ms": { not: VM_NO_HEALTH },
  "health.timeout_ms": { not: VM_NO_HEALTH },
  "health.retries": { not: VM_NO_HEALTH },
  "health.start_period_ms": { not: VM_NO_HEALTH },
  "rollout.instances": { not: VM_ONE },
  "rollout.strategy": { not: VM_ONE },
  "rollout.max_surge": { not: VM_ONE },
  "rollout.max_unavailable": { not: VM_ONE },
  "rollout.min_ready_ms": { not: VM_ONE },
  "volumes[].name": { not: VM_NO_VOLUMES },
  "volumes[].mount_path": { not: VM_NO_VOLUMES },
  "volumes[].size_bytes": { not: VM_NO_VOLUMES },
  "volumes[].persistence": { not: VM_NO_VOLUMES },
  "volumes[].access": { not: VM_NO_VOLUMES },
  "secrets[].bundle": { not: "nothing puts secrets into the guest yet" },
  "secrets[].mount_path": { not: "nothing puts secrets into the guest yet" },
  "secrets[].mode": { not: "nothing puts secrets into the guest yet" },
  "network.egress": { how: "none: `network-interfaces: []`", not: "the config has no network interface: the tap device and its routes are the host's to create", notWhen: { text: "egress is public", test: (m) => m.network.egress === "public" } },
  "security.read_only_root_fs": { how: `\`VOX_RO\` in ${VM_RUN_SCRIPT}: the disk mounted read-only, else under an overlay in guest memory` },
  "security.run_as_user": { how: `\`nsenter -S\` in ${VM_RUN_SCRIPT}` },
};

function withFirecracker(rows: ReadonlyArray<{ field: string; targets: Readonly<Record<ContainerTarget, Rule>> }>): FieldMapping[] {
  return rows.map(({ field, targets }) => {
    const firecracker = FIRECRACKER[field];
    if (!firecracker) throw new Error(`emit/mapping.ts: no firecracker rule for ${field}`);
    return { field, targets: { ...targets, firecracker } };
  });
}

/** Every field of the normalized manifest, in the order of platform/types.ts. */
export const EMIT_MAPPING: readonly FieldMapping[] = withFirecracker([
  { field: "schema", targets: { compose: { how: "label `dev.vox.platform.schema`" }, kubernetes: { how: "annotation `dev.vox.platform.schema`" }, quadlet: { how: "`Label=dev.vox.platform.schema=…`" }, systemd: { how: "`--label dev.vox.platform.schema=…`" } } },
  { field: "name", targets: { compose: { how: "the service name" }, kubernetes: { how: "`metadata.name` of every object, label `app.kubernetes.io/name`" }, quadlet: { how: "`<name>.container`, `ContainerName=`" }, systemd: { how: "`<name>.service`, `--name`" } } },
  { field: "process.entrypoint", targets: { compose: { how: "`entrypoint`" }, kubernetes: { how: "`command`" }, quadlet: { how: "`PodmanArgs=--entrypoint=<JSON array>`" }, systemd: { how: "`--entrypoint <JSON array>`" } } },
  { field: "process.cmd", targets: { compose: { how: "`command`" }, kubernetes: { how: "`args`" }, quadlet: { how: "`Exec=`" }, systemd: { how: "arguments after the image" } } },
  { field: "process.env", targets: { compose: { how: "`environment`" }, kubernetes: { how: "`env`" }, quadlet: { how: "`Environment=`" }, systemd: { how: "`--env`" } } },
  { field: "process.workdir", targets: { compose: { how: "`working_dir`" }, kubernetes: { how: "`workingDir`" }, quadlet: { how: "`PodmanArgs=--workdir=`" }, systemd: { how: "`--workdir`" } } },
  { field: "ports[].name", targets: { compose: { not: "Compose file format 3 (docker-compose 1.29) has no port names" }, kubernetes: { how: "container and Service port `name`" }, quadlet: { not: "podman publishes ports by number only" }, systemd: { not: "podman publishes ports by number only" } } },
  { field: "ports[].port", targets: { compose: { how: "`ports[].target` (public) or `expose` (internal)" }, kubernetes: { how: "`containerPort`, Service `port` and `targetPort`" }, quadlet: { how: "`PublishPort=<port>:<port>` (public) or `ExposeHostPort=` (internal)" }, systemd: { how: "`--publish <port>:<port>` (public) or `--expose` (internal)" } } },
  { field: "ports[].protocol", targets: { compose: { how: "`ports[].protocol`, `expose: <port>/<protocol>`" }, kubernetes: { how: "`protocol: TCP|UDP`" }, quadlet: { how: "`/tcp` or `/udp` suffix" }, systemd: { how: "`/tcp` or `/udp` suffix" } } },
  { field: "ports[].app_protocol", targets: { compose: { not: "Compose file format 3 (docker-compose 1.29) has no application protocol" }, kubernetes: { how: "Service `appProtocol`" }, quadlet: { not: "podman ports carry no application protocol" }, systemd: { not: "podman ports carry no application protocol" } } },
  { field: "ports[].exposure", targets: { compose: { how: "public: published on the host (`ports`); internal: `expose` (service network only)" }, kubernetes: { how: "public: Service `<name>-public` of type LoadBalancer; internal: ClusterIP Service `<name>`" }, quadlet: { how: "public: `PublishPort=`; internal: `ExposeHostPort=`" }, systemd: { how: "public: `--publish`; internal: `--expose`" } } },
  { field: "resources.cpu_millicores", targets: { compose: { how: "`deploy.resources.reservations.cpus`" }, kubernetes: { how: "`resources.requests.cpu`" }, quadlet: { how: "`PodmanArgs=--cpu-shares=` (1024 per CPU, a relative weight like a request)" }, systemd: { how: "`--cpu-shares` (1024 per CPU)" } } },
  { field: "resources.memory_limit_bytes", targets: { compose: { how: "`deploy.resources.limits.memory`" }, kubernetes: { how: "`resources.limits.memory`" }, quadlet: { how: "`PodmanArgs=--memory=`" }, systemd: { how: "`--memory`" } } },
  { field: "resources.memory_request_bytes", targets: { compose: { how: "`deploy.resources.reservations.memory`" }, kubernetes: { how: "`resources.requests.memory`" }, quadlet: { how: "`PodmanArgs=--memory-reservation=`" }, systemd: { how: "`--memory-reservation`" } } },
  { field: "resources.ephemeral_storage_bytes", targets: { compose: { not: "a container's writable layer has a size option only on some storage drivers (overlay on xfs with quotas)" }, kubernetes: { how: "`resources.requests` and `limits` `ephemeral-storage`" }, quadlet: { not: "podman's `--storage-opt size=` works only on some storage drivers (overlay on xfs with quotas)" }, systemd: { not: "podman's `--storage-opt size=` works only on some storage drivers (overlay on xfs with quotas)" } } },
  { field: "health.kind", targets: { compose: { how: `\`healthcheck.test\`: exec as given; http runs \`wget\`, tcp runs \`nc -z\` (${IN_IMAGE_PROBE} that tool)` }, kubernetes: { how: "readiness, liveness and startup probes: `httpGet`, `tcpSocket` or `exec`" }, quadlet: { how: `\`HealthCmd=\`: exec as given; http runs \`wget\`, tcp runs \`nc -z\` (${IN_IMAGE_PROBE} that tool)` }, systemd: { how: `\`--health-cmd\`: exec as given; http runs \`wget\`, tcp runs \`nc -z\` (${IN_IMAGE_PROBE} that tool)` } } },
  { field: "health.port", targets: same({ how: "the probe's port (`127.0.0.1:<port>` inside the container outside Kubernetes)" }) },
  { field: "health.path", targets: same({ how: "the probe's URL path" }) },
  { field: "health.command", targets: same({ how: "the probe's command, as an argv (no shell)" }) },
  { field: "health.interval_ms", targets: { compose: { how: "`healthcheck.interval`" }, kubernetes: { how: "`periodSeconds` (rounded up to whole seconds)" }, quadlet: { how: "`HealthInterval=`" }, systemd: { how: "`--health-interval`" } } },
  { field: "health.timeout_ms", targets: { compose: { how: "`healthcheck.timeout`" }, kubernetes: { how: "`timeoutSeconds` (rounded up to whole seconds)" }, quadlet: { how: "`HealthTimeout=`" }, systemd: { how: "`--health-timeout`" } } },
  { field: "health.retries", targets: { compose: { how: "`healthcheck.retries`" }, kubernetes: { how: "`failureThreshold` of the readiness and liveness probes" }, quadlet: { how: "`HealthRetries=`" }, systemd: { how: "`--health-retries`" } } },
  { field: "health.start_period_ms", targets: { compose: { how: "`healthcheck.start_period`" }, kubernetes: { how: "startup probe `failureThreshold` = ⌈start period / interval⌉ + retries" }, quadlet: { how: "`HealthStartPeriod=`" }, systemd: { how: "`--health-start-period`" } } },
  { field: "rollout.instances", targets: { compose: { how: "`deploy.replicas`" }, kubernetes: { how: "`replicas`" }, quadlet: { how: "one container", not: ONE_HOST_INSTANCES, notWhen: severalInstances }, systemd: { how: "one container", not: ONE_HOST_INSTANCES, notWhen: severalInstances } } },
  { field: "rollout.strategy", targets: { compose: { how: "`deploy.update_config.order`: start-first (rolling) or stop-first (recreate)" }, kubernetes: { how: "Deployment `strategy.type` RollingUpdate or Recreate; a StatefulSet always replaces each pod before starting its successor (`updateStrategy: RollingUpdate`)" }, quadlet: { how: "recreate: a restart of the unit", not: ONE_HOST_ROLLOUT, notWhen: rolling }, systemd: { how: "recreate: a restart of the unit", not: ONE_HOST_ROLLOUT, notWhen: rolling } } },
  { field: "rollout.max_surge", targets: { compose: { not: "Compose's update_config has an order and a parallelism, not a surge count" }, kubernetes: { how: "Deployment `rollingUpdate.maxSurge`", not: "a StatefulSet never runs a pod beside its predecessor", notWhen: { text: "a StatefulSet and max_surge > 0", test: (m) => usesStatefulSet(m) && m.rollout.max_surge > 0 } }, quadlet: { how: "0: no surge", not: ONE_HOST_ROLLOUT, notWhen: surges }, systemd: { how: "0: no surge", not: ONE_HOST_ROLLOUT, notWhen: surges } } },
  { field: "rollout.max_unavailable", targets: { compose: { not: "Compose's update_config has an order and a parallelism, not an unavailability count" }, kubernetes: { how: "Deployment `rollingUpdate.maxUnavailable`; a StatefulSet replaces one pod at a time", not: "a StatefulSet's maxUnavailable needs an alpha feature gate", notWhen: { text: "a StatefulSet and max_unavailable > 1", test: (m) => usesStatefulSet(m) && m.rollout.max_unavailable > 1 } }, quadlet: { how: "all: the only instance stops", not: ONE_HOST_ROLLOUT, notWhen: keepsSomeUp }, systemd: { how: "all: the only instance stops", not: ONE_HOST_ROLLOUT, notWhen: keepsSomeUp } } },
  { field: "rollout.min_ready_ms", targets: { compose: { how: "`deploy.update_config.monitor`" }, kubernetes: { how: "`minReadySeconds` (rounded up to whole seconds)" }, quadlet: { how: "0", not: "systemd counts a unit started when its process runs", notWhen: waitsReady }, systemd: { how: "0", not: "systemd counts a unit started when its process runs", notWhen: waitsReady } } },
  { field: "volumes[].name", targets: { compose: { how: "named volume `<app>-<name>`", not: TMPFS_NAMELESS, notWhen: ephemeral }, kubernetes: { how: "pod volume name; claim `<app>-<name>` (PVC or volumeClaimTemplate)" }, quadlet: { how: "`<app>-<name>.volume` with `VolumeName=<app>-<name>`", not: TMPFS_NAMELESS, notWhen: ephemeral }, systemd: { how: "`--volume <app>-<name>:…` (podman creates it)", not: TMPFS_NAMELESS, notWhen: ephemeral } } },
  { field: "volumes[].mount_path", targets: same({ how: "the mount's target path" }) },
  { field: "volumes[].size_bytes", targets: { compose: { how: "tmpfs `size`", not: NO_SIZE, notWhen: persistent }, kubernetes: { how: "claim `resources.requests.storage`; emptyDir `sizeLimit`" }, quadlet: { how: "tmpfs `size=`", not: NO_SIZE, notWhen: persistent }, systemd: { how: "tmpfs `size=`", not: NO_SIZE, notWhen: persistent } } },
  { field: "volumes[].persistence", targets: { compose: { how: "persistent: top-level named volume; ephemeral: `type: tmpfs`" }, kubernetes: { how: "persistent: PersistentVolumeClaim (a volumeClaimTemplate in a StatefulSet); ephemeral: `emptyDir`" }, quadlet: { how: "persistent: a `.volume` unit; ephemeral: `Tmpfs=`" }, systemd: { how: "persistent: a named podman volume; ephemeral: `--tmpfs`" } } },
  { field: "volumes[].access", targets: { compose: { how: "read-only-many: `read_only: true`", not: NO_SINGLE_WRITER, notWhen: writable }, kubernetes: { how: "`accessModes` ReadWriteOnce or ReadOnlyMany; `readOnly` mounts for read-only-many" }, quadlet: { how: "read-only-many: `:ro`", not: NO_SINGLE_WRITER, notWhen: writable }, systemd: { how: "read-only-many: `:ro`", not: NO_SINGLE_WRITER, notWhen: writable } } },
  { field: "secrets[].bundle", targets: { compose: { how: "an external secret named `<bundle>` (Compose secrets are single files: the bundle appears as `<mount_path>/<bundle>`)" }, kubernetes: { how: "a Secret volume, `secretName: <bundle>`" }, quadlet: { how: "`Secret=<bundle>` (a podman secret is one file: `<mount_path>/<bundle>`)" }, systemd: { how: "`--secret <bundle>` (a podman secret is one file: `<mount_path>/<bundle>`)" } } },
  { field: "secrets[].mount_path", targets: { compose: { how: "the secret's `target` directory" }, kubernetes: { how: "the Secret volume's `mountPath` (read-only)" }, quadlet: { how: "the secret's `target=` directory" }, systemd: { how: "the secret's `target=` directory" } } },
  { field: "secrets[].mode", targets: { compose: { how: "the secret's `mode`" }, kubernetes: { how: "`defaultMode`" }, quadlet: { how: "`mode=`" }, systemd: { how: "`mode=`" } } },
  { field: "network.egress", targets: { compose: { how: "public: the default network", not: NO_EGRESS_CUT, notWhen: egressNone }, kubernetes: { how: "none: a NetworkPolicy denying all egress; public: no policy" }, quadlet: { how: "public: the default network", not: NO_EGRESS_CUT, notWhen: egressNone }, systemd: { how: "public: the default network", not: NO_EGRESS_CUT, notWhen: egressNone } } },
  { field: "security.read_only_root_fs", targets: { compose: { how: "`read_only` (and a tmpfs on /tmp)" }, kubernetes: { how: "`readOnlyRootFilesystem` (and an emptyDir on /tmp)" }, quadlet: { how: "`ReadOnly=` (podman keeps /tmp writable)" }, systemd: { how: "`--read-only` (podman keeps /tmp writable)" } } },
  { field: "security.run_as_user", targets: { compose: { how: "`user`" }, kubernetes: { how: "`runAsUser` and `runAsNonRoot: true`" }, quadlet: { how: "`User=`" }, systemd: { how: "`--user`" } } },
]);

/** Always applied, whatever the manifest says (the manifest cannot ask for more privilege). */
export const HARDENING: Readonly<Record<EmitTarget, string>> = {
  compose: "`cap_drop: [ALL]`, `security_opt: [no-new-privileges:true]`",
  kubernetes: "`allowPrivilegeEscalation: false`, `capabilities.drop: [ALL]`, `seccompProfile: RuntimeDefault`, `runAsNonRoot` when `run_as_user` is set",
  quadlet: "`DropCapability=all`, `NoNewPrivileges=true`",
  systemd: "`--cap-drop all`, `--security-opt no-new-privileges`",
  firecracker: "the disk attached read-only (`is_read_only`), no network interface unless one is added",
};

/** One occurrence of a field in a manifest: `ports[0].name` and its value. */
export interface Occurrence {
  path: string;
  index: number;
  value: unknown;
}

/** The occurrences of `field` that carry a value (null and absent ones carry nothing to express). */
export function occurrences(manifest: PlatformManifest, field: string): Occurrence[] {
  const list = /^(\w+)\[\]\.(.+)$/.exec(field);
  if (list) {
    const items = (manifest as unknown as Record<string, unknown[]>)[list[1]!] ?? [];
    return items.flatMap((item, index) => present({ path: `${list[1]}[${index}].${list[2]}`, index, value: lookup(item, list[2]!) }));
  }
  return present({ path: field, index: 0, value: lookup(manifest, field) });
}

function present(occurrence: Occurrence): Occurrence[] {
  return occurrence.value === null || occurrence.value === undefined ? [] : [occurrence];
}

function lookup(root: unknown, path: string): unknown {
  return path.split(".").reduce<unknown>((value, key) => (value !== null && typeof value === "object" ? (value as Record<string, unknown>)[key] : undefined), root);
}

/** The fields of `manifest` that `target` cannot express, each with its reason, in mapping order. */
export function notExpressibleFields(target: EmitTarget, manifest: PlatformManifest): Array<{ field: string; why: string }> {
  return EMIT_MAPPING.flatMap(({ field, targets }) => {
    const rule = targets[target];
    if (rule.not === undefined) return [];
    return occurrences(manifest, field)
      .filter((o) => rule.notWhen === undefined || rule.notWhen.test(manifest, o.index))
      .map((o) => ({ field: o.path, why: rule.not }));
  });
}

/** The README's mapping table, generated from EMIT_MAPPING (tests/emit.test.ts checks the README holds it). */
export function renderMappingTable(): string {
  const cell = (rule: Rule): string => {
    if (rule.how === undefined) return `not expressible: ${rule.not}`;
    if (rule.not === undefined) return rule.how;
    return `${rule.how}; not expressible when ${rule.notWhen.text}: ${rule.not}`;
  };
  const escape = (text: string): string => text.replaceAll("|", "\\|");
  const rows = EMIT_MAPPING.map(({ field, targets }) => `| \`${field}\` | ${EMIT_TARGETS.map((t) => escape(cell(targets[t]))).join(" | ")} |`);
  const hardening = `| (always) | ${EMIT_TARGETS.map((t) => escape(HARDENING[t])).join(" | ")} |`;
  return [`| field | ${EMIT_TARGETS.join(" | ")} |`, `|---|${EMIT_TARGETS.map(() => "---").join("|")}|`, ...rows, hardening].join("\n");
}
