// The Kubernetes target: `kubernetes.yaml`, one multi-document file: a Deployment (a StatefulSet when a
// persistent single-writer volume needs one claim per instance), its Services, claims and network policy.

import type { HealthCheck, PlatformManifest, PortSpec } from "../platform/types.ts";
import { probeCommand, SCHEMA_LABEL, seconds, volumeName, yaml } from "./_common.ts";
import { usesStatefulSet } from "./mapping.ts";
import type { EmittedFile } from "./mod.ts";

export function kubernetesFiles(image: string, manifest: PlatformManifest): EmittedFile[] {
  const labels = { "app.kubernetes.io/name": manifest.name, "app.kubernetes.io/managed-by": "vox" };
  const metadata = (name: string) => ({ name, labels, annotations: { [SCHEMA_LABEL]: manifest.schema } });
  const stateful = usesStatefulSet(manifest);
  const claims = manifest.volumes.filter((v) => v.persistence === "persistent");
  const documents: unknown[] = [workload(image, manifest, metadata, labels, stateful)];
  const internal = manifest.ports.filter((p) => p.exposure === "internal");
  const exposed = manifest.ports.filter((p) => p.exposure === "public");
  // A StatefulSet names a governing Service; without internal ports it is headless and portless.
  if (internal.length > 0 || stateful) documents.push(service(metadata(manifest.name), labels, internal, internal.length > 0 ? "ClusterIP" : "None"));
  if (exposed.length > 0) documents.push(service(metadata(`${manifest.name.slice(0, 63 - "-public".length)}-public`), labels, exposed, "LoadBalancer"));
  if (!stateful) {
    for (const v of claims) documents.push({ apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: metadata(volumeName(manifest, v.name)), spec: claimSpec(v) });
  }
  if (manifest.network.egress === "none") {
    documents.push({ apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: metadata(`${manifest.name.slice(0, 63 - "-no-egress".length)}-no-egress`), spec: { podSelector: { matchLabels: labels }, policyTypes: ["Egress"], egress: [] } });
  }
  return [{ path: "kubernetes.yaml", content: documents.map((d) => yaml(d)).join("---\n") }];
}

type Metadata = (name: string) => Record<string, unknown>;

function workload(image: string, manifest: PlatformManifest, metadata: Metadata, labels: Record<string, string>, stateful: boolean): unknown {
  const { rollout } = manifest;
  const template = { metadata: { labels }, spec: podSpec(image, manifest, stateful) };
  const common = { replicas: rollout.instances, selector: { matchLabels: labels }, minReadySeconds: seconds(rollout.min_ready_ms) };
  if (stateful) {
    return {
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      metadata: metadata(manifest.name),
      spec: {
        ...common,
        serviceName: manifest.name,
        updateStrategy: { type: "RollingUpdate" },
        template,
        volumeClaimTemplates: manifest.volumes.filter((v) => v.persistence === "persistent").map((v) => ({ metadata: { name: volumeName(manifest, v.name) }, spec: claimSpec(v) })),
      },
    };
  }
  const strategy = rollout.strategy === "recreate" ? { type: "Recreate" } : { type: "RollingUpdate", rollingUpdate: { maxSurge: rollout.max_surge, maxUnavailable: rollout.max_unavailable } };
  return { apiVersion: "apps/v1", kind: "Deployment", metadata: metadata(manifest.name), spec: { ...common, strategy, template } };
}

function podSpec(image: string, manifest: PlatformManifest, stateful: boolean): unknown {
  const { process, resources, health, security } = manifest;
  const needsTmp = security.read_only_root_fs && !manifest.volumes.some((v) => v.mount_path === "/tmp");
  const volumes = [
    ...manifest.volumes.flatMap((v): Array<Record<string, unknown>> => {
      if (v.persistence === "ephemeral") return [{ name: v.name, emptyDir: v.size_bytes !== null ? { sizeLimit: String(v.size_bytes) } : {} }];
      // A StatefulSet's claims come from its volumeClaimTemplates, named like the claim.
      return stateful ? [] : [{ name: v.name, persistentVolumeClaim: { claimName: volumeName(manifest, v.name), readOnly: v.access === "read-only-many" } }];
    }),
    ...manifest.secrets.map((s) => ({ name: `secret-${s.bundle}`, secret: { secretName: s.bundle, defaultMode: s.mode } })),
    ...(needsTmp ? [{ name: "tmp", emptyDir: {} }] : []),
  ];
  const mounts = [
    ...manifest.volumes.map((v) => ({ name: stateful && v.persistence === "persistent" ? volumeName(manifest, v.name) : v.name, mountPath: v.mount_path, readOnly: v.access === "read-only-many" })),
    ...manifest.secrets.map((s) => ({ name: `secret-${s.bundle}`, mountPath: s.mount_path, readOnly: true })),
    ...(needsTmp ? [{ name: "tmp", mountPath: "/tmp" }] : []),
  ];
  const ephemeral = resources.ephemeral_storage_bytes === null ? {} : { "ephemeral-storage": String(resources.ephemeral_storage_bytes) };
  const nonRoot = security.run_as_user === null ? {} : { runAsNonRoot: true, runAsUser: security.run_as_user };
  const container = {
    name: manifest.name,
    image,
    ...(process.entrypoint ? { command: process.entrypoint } : {}),
    ...(process.cmd ? { args: process.cmd } : {}),
    ...(Object.keys(process.env).length > 0 ? { env: Object.entries(process.env).map(([name, value]) => ({ name, value })) } : {}),
    ...(process.workdir ? { workingDir: process.workdir } : {}),
    ...(manifest.ports.length > 0 ? { ports: manifest.ports.map((p) => ({ name: p.name, containerPort: p.port, protocol: p.protocol.toUpperCase() })) } : {}),
    resources: {
      requests: { cpu: `${resources.cpu_millicores}m`, memory: String(resources.memory_request_bytes), ...ephemeral },
      limits: { memory: String(resources.memory_limit_bytes), ...ephemeral },
    },
    ...(health ? probes(health) : {}),
    ...(mounts.length > 0 ? { volumeMounts: mounts } : {}),
    securityContext: {
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
      readOnlyRootFilesystem: security.read_only_root_fs,
      ...nonRoot,
    },
  };
  return {
    securityContext: { ...nonRoot, seccompProfile: { type: "RuntimeDefault" } },
    containers: [container],
    ...(volumes.length > 0 ? { volumes } : {}),
  };
}

function probes(health: HealthCheck): Record<string, unknown> {
  const action = health.kind === "http" ? { httpGet: { path: health.path, port: health.port } } : health.kind === "tcp" ? { tcpSocket: { port: health.port } } : { exec: { command: probeCommand(health) } };
  const timing = { periodSeconds: seconds(health.interval_ms, 1), timeoutSeconds: seconds(health.timeout_ms, 1) };
  const startupChecks = Math.ceil(health.start_period_ms / Math.max(1, health.interval_ms)) + health.retries;
  return {
    startupProbe: { ...action, ...timing, failureThreshold: startupChecks },
    readinessProbe: { ...action, ...timing, failureThreshold: health.retries },
    livenessProbe: { ...action, ...timing, failureThreshold: health.retries },
  };
}

function service(metadata: Record<string, unknown>, labels: Record<string, string>, ports: PortSpec[], type: "ClusterIP" | "LoadBalancer" | "None"): unknown {
  const kind = type === "None" ? { clusterIP: "None" } : { type };
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata,
    spec: {
      ...kind,
      selector: labels,
      ...(ports.length > 0 ? { ports: ports.map((p) => ({ name: p.name, port: p.port, targetPort: p.port, protocol: p.protocol.toUpperCase(), ...(p.app_protocol ? { appProtocol: p.app_protocol } : {}) })) } : {}),
    },
  };
}

function claimSpec(volume: PlatformManifest["volumes"][number]): unknown {
  return {
    accessModes: [volume.access === "read-only-many" ? "ReadOnlyMany" : "ReadWriteOnce"],
    // The validator gives every persistent volume a size (a claim needs one); only those reach a claim.
    resources: { requests: { storage: String(volume.size_bytes) } },
  };
}
