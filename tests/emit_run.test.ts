// The emitted descriptors checked by the engines' own tools and run for real: docker-compose 1.29 against a
// `podman system service`, `podman kube play`, and the systemd unit's `podman run` line as written. Every emitted
// file of a manifest using every field passes docker-compose config, systemd-analyze verify and the Kubernetes
// OpenAPI schemas (kubernetes-models); Quadlet units are checked by structure (podman 4.3 has no Quadlet generator).
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { StatefulSet } from "kubernetes-models/apps/v1/StatefulSet";
import { PersistentVolumeClaim } from "kubernetes-models/v1/PersistentVolumeClaim";
import { Service } from "kubernetes-models/v1/Service";
import { parseAllDocuments } from "yaml";
import { emitDescriptors, type EmitTarget } from "../emit/mod.ts";
import { type PlatformManifest, validatePlatformManifest } from "../platform/mod.ts";
import { tempDir } from "./support/helpers.ts";
import { freePort } from "./support/nginx.ts";
import { loadWithSkopeo, podmanWithWebImage, type RunningPodman, type WebImage } from "./support/podman.ts";

let podman: RunningPodman;
let web: WebImage;

before(async () => {
  ({ podman, web } = await podmanWithWebImage());
  loadWithSkopeo(podman, web);
});

after(async () => {
  await podman?.stop();
});

function manifest(toml: string): PlatformManifest {
  const result = validatePlatformManifest(toml, { source: "vox.platform.toml", defaultName: "webtest" });
  assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
  return result.manifest;
}

/** Every key of vox.platform/v1 set; a persistent single-writer volume makes the Kubernetes workload a StatefulSet. */
const EVERY_FIELD = manifest(`schema = "vox.platform/v1"
name = "fieldtest"
[process]
entrypoint = ["/app/bin/serve"]
cmd = ["8123", "--flag with space"]
workdir = "/srv/work"
env = { ALPHA = "alpha value", BETA = "$HOME 100%" }
[[ports]]
name = "web"
port = 8123
app_protocol = "http"
exposure = "public"
[[ports]]
port = 9321
app_protocol = "grpc"
[[ports]]
port = 5353
protocol = "udp"
exposure = "public"
[resources]
cpu = "750m"
memory_limit = "768Mi"
memory_request = "384Mi"
ephemeral_storage = "2Gi"
[health]
kind = "http"
port = 8123
path = "/healthz"
interval = "13s"
timeout = "3s"
retries = 7
start_period = "41s"
[rollout]
instances = 3
strategy = "recreate"
min_ready = "17s"
[[volumes]]
name = "state"
mount_path = "/var/lib/state"
size = "5Gi"
persistence = "persistent"
access = "single-writer"
[[volumes]]
name = "shared"
mount_path = "/srv/shared"
size = "3Gi"
persistence = "persistent"
access = "read-only-many"
[[volumes]]
name = "scratch"
mount_path = "/scratch"
size = "256Mi"
[[secrets]]
bundle = "db-creds"
mount_path = "/run/secrets/db"
mode = "0440"
[network]
egress = "none"
[security]
read_only_root_fs = true
run_as_user = 10001
`);

/** The variants that take the other branches: a Deployment with a rolling update and a tcp check; an exec check. */
const VARIANTS: ReadonlyArray<readonly [string, PlatformManifest]> = [
  ["every field", EVERY_FIELD],
  ["a Deployment with a tcp check", { ...EVERY_FIELD, health: { kind: "tcp", port: 9321, interval_ms: 5000, timeout_ms: 1500, retries: 2, start_period_ms: 0 }, volumes: EVERY_FIELD.volumes.filter((v) => v.name !== "state"), rollout: { instances: 3, strategy: "rolling", max_surge: 1, max_unavailable: 0, min_ready_ms: 0 }, network: { egress: "public" } }],
  ["an exec check", { ...EVERY_FIELD, health: { kind: "exec", command: ["/app/bin/check", "--deep"], interval_ms: 2500, timeout_ms: 1000, retries: 4, start_period_ms: 9000 } }],
];

const IMAGE = () => web.image;

function emitted(target: EmitTarget, m: PlatformManifest): { dir: string; files: Array<{ path: string; content: string }> } {
  const { files } = emitDescriptors(target, { image: IMAGE(), manifest: m });
  const dir = tempDir(`emit-${target}`);
  for (const f of files) writeFileSync(join(dir, f.path), f.content);
  return { dir, files };
}

function run(argv: readonly string[], options: { cwd?: string; env?: Record<string, string> } = {}) {
  const result = spawnSync(argv[0]!, argv.slice(1), { cwd: options.cwd, env: { ...process.env, ...options.env }, encoding: "utf8" });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

// ---- validators ----

function composeConfig(dir: string) {
  return run(["docker-compose", "--file", join(dir, "compose.yaml"), "config", "--quiet"], { cwd: dir });
}

test("docker-compose config -q accepts the Compose file of every variant, and refuses one with a value of the wrong type", () => {
  for (const [label, m] of VARIANTS) {
    const { dir } = emitted("compose", m);
    const result = composeConfig(dir);
    assert.equal(result.status, 0, `${label}: ${result.stderr}`);
  }
  const { dir, files } = emitted("compose", EVERY_FIELD);
  writeFileSync(join(dir, "compose.yaml"), files[0]!.content.replace("retries: 7", "retries: seven"));
  const broken = composeConfig(dir);
  assert.notEqual(broken.status, 0);
  assert.match(broken.stderr, /retries/);
});

/** systemd-analyze verify exits 0 on unknown keys and bad values too: only silence means the unit is clean. */
function verifyUnit(path: string) {
  const result = run(["systemd-analyze", "verify", path]);
  return { ok: result.status === 0 && result.stderr.trim() === "" && result.stdout.trim() === "", output: result.stderr + result.stdout };
}

test("systemd-analyze verify accepts the systemd unit of every variant without a warning, and reports a bad one", () => {
  for (const [label, m] of VARIANTS) {
    const { dir, files } = emitted("systemd", m);
    const verdict = verifyUnit(join(dir, files[0]!.path));
    assert.ok(verdict.ok, `${label}: ${verdict.output}`);
  }
  const { dir, files } = emitted("systemd", EVERY_FIELD);
  writeFileSync(join(dir, files[0]!.path), files[0]!.content.replace("Type=simple", "Type=sideways"));
  const bad = verifyUnit(join(dir, files[0]!.path));
  assert.equal(bad.ok, false);
  assert.match(bad.output, /service type/i);
});

const MODELS: Record<string, { new (data: never): { validate(): void } }> = {
  "apps/v1/Deployment": Deployment,
  "apps/v1/StatefulSet": StatefulSet,
  "v1/Service": Service,
  "v1/PersistentVolumeClaim": PersistentVolumeClaim,
  "networking.k8s.io/v1/NetworkPolicy": NetworkPolicy,
};

function validateKubernetes(yamlText: string): string[] {
  return parseAllDocuments(yamlText).map((doc) => {
    const object = doc.toJS() as { apiVersion: string; kind: string };
    const Model = MODELS[`${object.apiVersion}/${object.kind}`];
    assert.ok(Model, `no schema for ${object.apiVersion} ${object.kind}`);
    new Model(object as never).validate();
    return object.kind;
  });
}

test("every Kubernetes document of every variant passes the Kubernetes OpenAPI schemas (kubernetes-models), and a wrong type fails them", () => {
  const kinds = new Set<string>();
  for (const [, m] of VARIANTS) for (const kind of validateKubernetes(emitted("kubernetes", m).files[0]!.content)) kinds.add(kind);
  assert.deepEqual([...kinds].sort(), ["Deployment", "NetworkPolicy", "PersistentVolumeClaim", "Service", "StatefulSet"]);
  const broken = emitted("kubernetes", EVERY_FIELD).files[0]!.content.replace("containerPort: 8123", 'containerPort: "web"');
  assert.throws(() => validateKubernetes(broken), /containerPort must be integer/);
});

/** The [Container] and [Volume] keys of Podman 4.6's Quadlet (podman-systemd.unit(5)). */
const QUADLET_KEYS: Record<string, ReadonlySet<string>> = {
  Container: new Set(["AddCapability", "AddDevice", "Annotation", "AutoUpdate", "ContainerName", "DropCapability", "Environment", "EnvironmentFile", "EnvironmentHost", "Exec", "ExposeHostPort", "Group", "HealthCmd", "HealthInterval", "HealthOnFailure", "HealthRetries", "HealthStartPeriod", "HealthStartupCmd", "HealthStartupInterval", "HealthStartupRetries", "HealthStartupSuccess", "HealthStartupTimeout", "HealthTimeout", "HostName", "IP", "IP6", "Image", "Label", "LogDriver", "Mount", "Network", "NoNewPrivileges", "Notify", "PodmanArgs", "PublishPort", "Pull", "ReadOnly", "RunInit", "SeccompProfile", "Secret", "SecurityLabelDisable", "SecurityLabelFileType", "SecurityLabelLevel", "SecurityLabelType", "Sysctl", "Timezone", "Tmpfs", "User", "UserNS", "VolatileTmp", "Volume"]),
  Volume: new Set(["Copy", "Device", "Group", "Label", "Options", "Type", "User", "VolumeName"]),
};

function sections(text: string): Map<string, Array<[string, string]>> {
  const result = new Map<string, Array<[string, string]>>();
  let current: Array<[string, string]> | undefined;
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const header = /^\[(\w+)\]$/.exec(line);
    if (header) {
      assert.ok(!result.has(header[1]!), `section [${header[1]}] twice`);
      result.set(header[1]!, (current = []));
      continue;
    }
    const entry = /^([A-Za-z]+)=(.*)$/.exec(line);
    assert.ok(entry && current, `not a key=value line in a section: ${line}`);
    current.push([entry[1]!, entry[2]!]);
  }
  return result;
}

test("Quadlet units: only Podman 4.6 Quadlet keys, the image pinned, each Volume= naming an emitted .volume unit, and the systemd sections pass systemd-analyze verify", () => {
  for (const [label, m] of VARIANTS) {
    const { dir, files } = emitted("quadlet", m);
    const container = files.find((f) => f.path === `${m.name}.container`)!;
    const parsed = sections(container.content);
    assert.deepEqual([...parsed.keys()], ["Unit", "Container", "Service", "Install"], label);
    const keys = parsed.get("Container")!;
    for (const [key] of keys) assert.ok(QUADLET_KEYS.Container!.has(key), `${label}: [Container] ${key} is not a Quadlet key`);
    assert.deepEqual(keys.filter(([k]) => k === "Image").map(([, v]) => v), [IMAGE()]);
    const volumeUnits = files.filter((f) => f.path.endsWith(".volume")).map((f) => f.path);
    const named = keys.filter(([k, v]) => k === "Volume" && v.split(":")[0]!.endsWith(".volume")).map(([, v]) => v.split(":")[0]!);
    assert.deepEqual(named.sort(), volumeUnits.sort(), `${label}: every .volume is used, every used one emitted`);
    for (const path of volumeUnits) {
      const volume = sections(files.find((f) => f.path === path)!.content);
      assert.deepEqual([...volume.keys()], ["Unit", "Volume"]);
      for (const [key] of volume.get("Volume")!) assert.ok(QUADLET_KEYS.Volume!.has(key), `${path}: [Volume] ${key}`);
    }
    // systemd reads [Unit], [Service] and [Install] as they are; the generator replaces [Container] with ExecStart.
    let inContainer = false;
    const systemdPart = container.content.split("\n").filter((line) => {
      if (/^\[\w+\]$/.test(line)) inContainer = line === "[Container]";
      return !inContainer;
    });
    const asService = systemdPart.join("\n").replace("[Service]\n", "[Service]\nExecStart=/bin/true\n");
    writeFileSync(join(dir, `${m.name}-quadlet.service`), asService);
    const verdict = verifyUnit(join(dir, `${m.name}-quadlet.service`));
    assert.ok(verdict.ok, `${label}: ${verdict.output}`);
  }
});

// ---- real runs on Podman ----

/** What runs for real: one public http port (a free one), env, resources, a read-only root, both volume kinds. */
function runnable(port: number): PlatformManifest {
  return manifest(`schema = "vox.platform/v1"
name = "webtest"
[process]
cmd = ["${port}"]
env = { GREETING = "hi $there 100%" }
[[ports]]
port = ${port}
exposure = "public"
[resources]
cpu = "250m"
memory_limit = "64Mi"
[health]
kind = "http"
port = ${port}
path = "/healthz"
interval = "2s"
timeout = "1s"
[[volumes]]
name = "data"
mount_path = "/data"
persistence = "persistent"
access = "read-only-many"
[[volumes]]
name = "scratch"
mount_path = "/scratch"
size = "16Mi"
[security]
read_only_root_fs = true
run_as_user = 10001
`);
}

/** GET through the published port on loopback, retried while the container starts. */
async function fetchUntilUp(port: number, path: string): Promise<{ status: number; body: string }> {
  let last: unknown;
  for (let i = 0; i < 200; i++) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}${path}`);
      return { status: response.status, body: await response.text() };
    } catch (error) {
      last = error;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`nothing answered on 127.0.0.1:${port}: ${String(last)}\n${podman.logs()}`);
}

/** podman runs the container's own check (the emitted wget, or kube play's curl) once, now. */
function healthcheck(container: string) {
  return run(["podman", "healthcheck", "run", container], { env: podman.env });
}

function assertNothingLeft(): void {
  assert.deepEqual(podman.leftovers(), { containers: [], pods: [], networks: [], volumes: [] });
}

test("the Compose output runs under docker-compose on the podman service, answers its health check on loopback, and down leaves nothing", async () => {
  const port = await freePort();
  const { dir } = emitted("compose", runnable(port));
  const compose = (...args: string[]) => run(["docker-compose", "--file", join(dir, "compose.yaml"), "--project-name", "webtest", ...args], { cwd: dir, env: podman.env });
  const up = compose("up", "--detach");
  assert.equal(up.status, 0, up.stderr);
  try {
    assert.deepEqual(await fetchUntilUp(port, "/healthz"), { status: 200, body: "ok\n" });
    const check = healthcheck("webtest_webtest_1");
    assert.equal(check.status, 0, check.stdout + check.stderr);
    const inspect = JSON.parse(podman.podman(["inspect", "webtest_webtest_1"]))[0];
    assert.equal(inspect.Config.User, "10001");
    assert.equal(inspect.HostConfig.ReadonlyRootfs, true);
    assert.ok(inspect.Config.Env.includes("GREETING=hi $there 100%"), "Compose's $$ is a literal $");
  } finally {
    const down = compose("down", "--volumes", "--remove-orphans");
    assert.equal(down.status, 0, down.stderr);
  }
  assertNothingLeft();
});

test("the Kubernetes Deployment runs under podman kube play, answers its probe on loopback, and kube down plus its claim's volume leaves nothing", async () => {
  const port = await freePort();
  const m = runnable(port);
  const { dir, files } = emitted("kubernetes", m);
  assert.match(files[0]!.content, /^kind: Deployment$/m);
  const file = join(dir, "kubernetes.yaml");
  podman.podman(["kube", "play", file]);
  try {
    assert.deepEqual(await fetchUntilUp(port, "/healthz"), { status: 200, body: "ok\n" });
    const check = healthcheck("webtest-pod-0-webtest");
    assert.equal(check.status, 0, check.stdout + check.stderr);
  } finally {
    podman.podman(["kube", "down", file]);
    // kube down keeps what a PersistentVolumeClaim became (a named volume; the claim is this workload's alone)
    // and the network kube play creates for every pod it starts.
    podman.podman(["volume", "rm", "--force", "webtest-data"]);
    podman.podman(["network", "rm", "podman-default-kube-network"]);
  }
  assertNothingLeft();
});

/** One systemd command line into argv: words, double quotes with C escapes, `$$` and `%%` undoubled. */
function systemdArgv(line: string): string[] {
  const words: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (const match of line.matchAll(re)) {
    const raw = match[1] !== undefined ? match[1].replace(/\\(.)/g, (_, c: string) => ({ n: "\n", t: "\t" })[c] ?? c) : match[2]!;
    words.push(raw.replaceAll("$$", "$").replaceAll("%%", "%"));
  }
  return words;
}

test("the systemd unit's ExecStart runs as written, answers its health check on loopback, and ExecStop plus its volume leaves nothing", async () => {
  const port = await freePort();
  const { files } = emitted("systemd", runnable(port));
  const unit = files[0]!.content;
  const execStart = systemdArgv(/^ExecStart=(.*)$/m.exec(unit)![1]!);
  const execStop = systemdArgv(/^ExecStop=(.*)$/m.exec(unit)![1]!);
  assert.equal(execStart[0], "/usr/bin/podman");
  const child: ChildProcess = spawn(execStart[0]!, execStart.slice(1), { env: { ...process.env, ...podman.env }, stdio: "ignore" });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  try {
    assert.deepEqual(await fetchUntilUp(port, "/healthz"), { status: 200, body: "ok\n" });
    const check = healthcheck("webtest");
    assert.equal(check.status, 0, check.stdout + check.stderr);
    assert.ok(JSON.parse(podman.podman(["inspect", "webtest"]))[0].Config.Env.includes("GREETING=hi $there 100%"));
  } finally {
    const stop = run(execStop, { env: podman.env });
    assert.equal(stop.status, 0, stop.stderr);
    await exited;
    podman.podman(["volume", "rm", "--force", "webtest-data"]);
  }
  assertNothingLeft();
});

test("the harness keeps podman to itself: its store is under the test's temp dir", () => {
  const root = podman.podman(["info", "--format", "{{.Store.GraphRoot}}"]).trim();
  assert.ok(root.startsWith(podman.socket.slice(0, podman.socket.lastIndexOf("/"))), root);
});
