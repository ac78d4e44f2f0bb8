import assert from "node:assert/strict";
import { test } from "node:test";
import { parse, parseAllDocuments } from "yaml";
import type { PlatformManifest } from "../platform/types.ts";
import { EMIT_MAPPING, EMIT_TARGETS, emitDescriptors, type EmitTarget } from "./mod.ts";
import { occurrences } from "./mapping.ts";

const IMAGE = `registry.example/team/app@sha256:${"ab".repeat(32)}`;

/** Every field set, with values chosen to be findable in the output (odd numbers, unusual names). */
export const EVERY_FIELD: PlatformManifest = {
  schema: "vox.platform/v1",
  name: "fieldtest",
  process: { entrypoint: ["/bin/entry-x"], cmd: ["serve", "--flag with space"], env: { ALPHA_KEY: "alpha value", BETA: "$HOME 100%" }, workdir: "/srv/workdir" },
  ports: [
    { name: "web", port: 8123, protocol: "tcp", app_protocol: "http", exposure: "public" },
    { name: "rpc", port: 9321, protocol: "tcp", app_protocol: "grpc", exposure: "internal" },
    { name: "dns", port: 5353, protocol: "udp", app_protocol: null, exposure: "public" },
  ],
  resources: { cpu_millicores: 750, memory_limit_bytes: 805306368, memory_request_bytes: 402653184, ephemeral_storage_bytes: 2147483648 },
  health: { kind: "http", port: 8123, path: "/healthz-x", interval_ms: 13000, timeout_ms: 3000, retries: 7, start_period_ms: 41000 },
  rollout: { instances: 3, strategy: "rolling", max_surge: 2, max_unavailable: 1, min_ready_ms: 17000 },
  volumes: [
    { name: "state", mount_path: "/var/lib/state", size_bytes: 5368709120, persistence: "persistent", access: "single-writer" },
    { name: "shared", mount_path: "/srv/shared", size_bytes: 3221225472, persistence: "persistent", access: "read-only-many" },
    { name: "scratch", mount_path: "/scratch", size_bytes: 268435456, persistence: "ephemeral", access: "single-writer" },
  ],
  secrets: [{ bundle: "db-creds", mount_path: "/run/secrets/db", mode: 0o440 }],
  network: { egress: "none" },
  security: { read_only_root_fs: true, run_as_user: 10001 },
};

/** The same manifest without what forces a StatefulSet, with a tcp check: the Deployment path. */
const DEPLOYMENT: PlatformManifest = {
  ...EVERY_FIELD,
  health: { kind: "tcp", port: 9321, interval_ms: 5000, timeout_ms: 1500, retries: 2, start_period_ms: 0 },
  volumes: EVERY_FIELD.volumes.filter((v) => v.access !== "single-writer" || v.persistence === "ephemeral"),
  rollout: { ...EVERY_FIELD.rollout, strategy: "recreate", max_surge: 0, max_unavailable: 3 },
  network: { egress: "public" },
};

/** An exec check, so `health.command` is exercised too. */
const EXEC_CHECK: PlatformManifest = { ...DEPLOYMENT, health: { kind: "exec", command: ["/bin/check", "--deep"], interval_ms: 2500, timeout_ms: 1000, retries: 4, start_period_ms: 9000 } };

function text(target: EmitTarget, manifest: PlatformManifest): string {
  return emitDescriptors(target, { image: IMAGE, manifest }).files.map((f) => `# ${f.path}\n${f.content}`).join("\n");
}

const escapeRe = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

/** Whether `value` appears in `output` in any of the spellings the targets use (durations, enums, booleans). */
function appears(field: string, value: unknown, output: string, manifest: PlatformManifest = EVERY_FIELD): boolean {
  const word = (...spellings: string[]) => spellings.some((w) => new RegExp(`(^|[^\\w.])${escapeRe(w)}($|[^\\w])`, "m").test(output));
  // systemd doubles `$` and `%` in unit files.
  const literal = (text: string) => output.includes(text) || output.includes(text.replaceAll("$", "$$").replaceAll("%", "%%"));
  if (Array.isArray(value)) return value.every((v) => literal(String(v)));
  if (value !== null && typeof value === "object") return Object.entries(value).every(([k, v]) => literal(k) && literal(String(v)));
  if (field === "health.path") return literal(String(value));
  // Kubernetes counts the start period in startup-probe attempts.
  if (field === "health.start_period_ms" && manifest.health) return new RegExp(`failureThreshold: ${Math.ceil((value as number) / manifest.health.interval_ms) + manifest.health.retries}\\b`).test(output) || word(`${value as number / 1000}s`, `${value}ms`);
  // Recreate (and a unit restart) is no surge and every instance down; a StatefulSet replaces one pod at a time.
  if ((field === "rollout.max_surge" || field === "rollout.max_unavailable") && /type: Recreate|type: RollingUpdate\n\s+template|Restart=on-failure/.test(output) && !/maxSurge/.test(output)) return true;
  if (field.endsWith("_ms")) return word(`${value as number / 1000}s`, `${value}ms`, String(Math.ceil(value as number / 1000)));
  // Firecracker's VM: whole vCPUs, and memory in MiB with the guest kernel's share (microvm/guest.ts machineShape).
  if (field.endsWith("cpu_millicores") && output.includes('"vcpu_count"')) return output.includes(`"vcpu_count": ${Math.ceil((value as number) / 1000)}`);
  if (field === "resources.memory_limit_bytes" && output.includes('"mem_size_mib"')) return output.includes(`"mem_size_mib": ${Math.ceil((value as number) / 2 ** 20) + 96}`);
  if (field.endsWith("cpu_millicores")) return word(`${value}m`, String((value as number) / 1000), String(Math.round(((value as number) * 1024) / 1000)));
  if (field.endsWith("mode")) return word(String(value), `0${(value as number).toString(8)}`);
  if (field === "security.read_only_root_fs") return new RegExp(`read_only: ${value}|readOnlyRootFilesystem: ${value}|ReadOnly=${value}|--read-only=${value}|VOX_RO=${value ? 1 : 0}`).test(output);
  if (field === "rollout.strategy") return /order: (start|stop)-first|type: RollingUpdate|type: Recreate|Restart=/.test(output);
  if (field === "health.kind") return /httpGet|tcpSocket|exec:|wget|nc\W+-z|\W\/bin\/check\W+--deep/.test(output);
  if (field.endsWith(".exposure")) return value === "public" ? /LoadBalancer|PublishPort=|--publish=|published:/.test(output) : /ClusterIP|ExposeHostPort=|--expose=|expose:/.test(output);
  if (field.endsWith(".protocol")) return word(String(value), String(value).toUpperCase());
  if (field.endsWith(".persistence")) return value === "persistent" ? /PersistentVolumeClaim|volumeClaimTemplates|type: volume|\.volume|--volume=/.test(output) : /emptyDir|tmpfs|Tmpfs=/i.test(output);
  if (field.endsWith(".access")) return value === "read-only-many" ? /ReadOnlyMany|read_only: true|:ro/.test(output) : /ReadWriteOnce|emptyDir/.test(output);
  // Outbound traffic open is every engine's default: the absence of a restriction expresses it.
  if (field === "network.egress") return value === "public" ? !/NetworkPolicy|network_mode: none|--network=none/.test(output) : /NetworkPolicy|"network-interfaces": \[\]/.test(output);
  if (field.startsWith("volumes[") && field.endsWith(".name")) return word(`fieldtest-${value}`, String(value));
  return word(String(value));
}

for (const target of EMIT_TARGETS) {
  for (const [label, manifest] of [["every field", EVERY_FIELD], ["the Deployment variant", DEPLOYMENT], ["an exec check", EXEC_CHECK]] as const) {
    test(`emitDescriptors("${target}") writes or lists every field of ${label}`, () => {
      const { notExpressible } = emitDescriptors(target, { image: IMAGE, manifest });
      const listed = new Set(notExpressible.map((n) => n.field));
      const output = text(target, manifest);
      const missing: string[] = [];
      for (const { field } of EMIT_MAPPING) {
        for (const o of occurrences(manifest, field)) {
          if (listed.has(o.path)) continue;
          if (!appears(field, o.value, output, manifest)) missing.push(`${o.path} = ${JSON.stringify(o.value)}`);
        }
      }
      assert.deepEqual(missing, [], `${target}: neither in the output nor listed as not expressible`);
      for (const n of notExpressible) assert.ok(n.why.length > 10, n.field);
    });
  }
}

test("the manifests above use every field of the mapping", () => {
  const unused = EMIT_MAPPING.filter(({ field }) => ![EVERY_FIELD, DEPLOYMENT, EXEC_CHECK].some((m) => occurrences(m, field).length > 0)).map((f) => f.field);
  assert.deepEqual(unused, []);
});

test("the coverage check is a real check: a field the emitter drops is caught", () => {
  const output = text("compose", EVERY_FIELD).replace("/healthz-x", "/elsewhere");
  assert.ok(!appears("health.path", "/healthz-x", output));
});

test("emitDescriptors() is deterministic and pins the image", () => {
  for (const target of EMIT_TARGETS) {
    const a = emitDescriptors(target, { image: IMAGE, manifest: EVERY_FIELD });
    const b = emitDescriptors(target, { image: IMAGE, manifest: structuredClone(EVERY_FIELD) });
    assert.deepEqual(a, b, target);
    assert.ok(a.files.some((f) => f.content.includes(IMAGE)), target);
  }
  assert.throws(() => emitDescriptors("compose", { image: "registry.example/team/app:1.0", manifest: EVERY_FIELD }), /pinned/);
});

test("kubernetes: a persistent single-writer volume makes a StatefulSet; otherwise a Deployment with claims and a restricted securityContext", () => {
  const stateful = parseAllDocuments(emitDescriptors("kubernetes", { image: IMAGE, manifest: EVERY_FIELD }).files[0]!.content).map((d) => d.toJS());
  assert.deepEqual(stateful.map((d) => d.kind), ["StatefulSet", "Service", "Service", "NetworkPolicy"]);
  assert.deepEqual(stateful[0].spec.volumeClaimTemplates.map((c: { metadata: { name: string } }) => c.metadata.name), ["fieldtest-state", "fieldtest-shared"]);
  const docs = parseAllDocuments(emitDescriptors("kubernetes", { image: IMAGE, manifest: DEPLOYMENT }).files[0]!.content).map((d) => d.toJS());
  assert.deepEqual(docs.map((d) => d.kind), ["Deployment", "Service", "Service", "PersistentVolumeClaim"]);
  const pod = docs[0].spec.template.spec;
  assert.deepEqual(pod.securityContext, { runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: "RuntimeDefault" } });
  assert.deepEqual(pod.containers[0].securityContext, { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] }, readOnlyRootFilesystem: true, runAsNonRoot: true, runAsUser: 10001 });
  assert.deepEqual(docs[0].spec.strategy, { type: "Recreate" });
  assert.equal(pod.containers[0].readinessProbe.tcpSocket.port, 9321);
  const noUser = parseAllDocuments(emitDescriptors("kubernetes", { image: IMAGE, manifest: { ...DEPLOYMENT, security: { read_only_root_fs: false, run_as_user: null } } }).files[0]!.content)[0]!.toJS();
  assert.equal(noUser.spec.template.spec.securityContext.runAsNonRoot, undefined, "the image's user may be root: runAsNonRoot would refuse to start it");
});

test("compose: the document has the service, named volumes and external secrets", () => {
  const doc = parse(emitDescriptors("compose", { image: IMAGE, manifest: EVERY_FIELD }).files[0]!.content);
  assert.deepEqual(Object.keys(doc), ["services", "volumes", "secrets"]);
  assert.deepEqual(doc.secrets, { "db-creds": { external: true } });
  assert.deepEqual(doc.services.fieldtest.ports, [{ target: 8123, published: 8123, protocol: "tcp", mode: "host" }, { target: 5353, published: 5353, protocol: "udp", mode: "host" }]);
  assert.deepEqual(doc.services.fieldtest.expose, ["9321/tcp"]);
  assert.equal(doc.services.fieldtest.environment.BETA, "$$HOME 100%", "Compose would substitute $HOME");
});

test("not expressible: conditional rules list a field only when its value needs what the target lacks", () => {
  const fields = (target: EmitTarget, manifest: PlatformManifest) => emitDescriptors(target, { image: IMAGE, manifest }).notExpressible.map((n) => n.field);
  assert.ok(fields("systemd", EVERY_FIELD).includes("rollout.instances"));
  const single = { ...DEPLOYMENT, rollout: { instances: 1, strategy: "recreate" as const, max_surge: 0, max_unavailable: 1, min_ready_ms: 0 } };
  assert.ok(!fields("systemd", single).some((f) => f.startsWith("rollout.")), fields("systemd", single).join());
  assert.ok(fields("compose", EVERY_FIELD).includes("volumes[0].access"));
  assert.ok(!fields("compose", EVERY_FIELD).includes("volumes[1].access"));
  assert.deepEqual(fields("kubernetes", EVERY_FIELD), ["rollout.max_surge"]);
  assert.deepEqual(fields("kubernetes", DEPLOYMENT), []);
});
