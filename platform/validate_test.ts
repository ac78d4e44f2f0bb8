import assert from "node:assert/strict";
import { test } from "node:test";
import { parse, stringify } from "smol-toml";
import { canonicalManifestBytes, type PlatformValidation, platformContentHash, validatePlatformManifest } from "./mod.ts";

const OPTIONS = { source: "vox.platform.toml", defaultName: "shop" };

/** Every key of vox.platform/v1 set. */
const EVERY_FIELD = `schema = "vox.platform/v1"
name = "shop"

[process]
entrypoint = ["/app/bin/shop"]
cmd = ["--port", "8080"]
workdir = "/app"
env = { MODE = "production", LOG = "info" }

[[ports]]
name = "web"
port = 8080
protocol = "tcp"
app_protocol = "http"
exposure = "public"

[[ports]]
port = 9090
app_protocol = "grpc"

[[ports]]
port = 5353
protocol = "udp"

[resources]
cpu = "500m"
memory_limit = "512Mi"
memory_request = "256Mi"
ephemeral_storage = "1Gi"

[health]
kind = "http"
port = 8080
path = "/healthz"
interval = "15s"
timeout = "3s"
retries = 5
start_period = "1m30s"

[rollout]
instances = 3
strategy = "rolling"
max_surge = 0
max_unavailable = 1
min_ready = "10s"

[[volumes]]
name = "cache"
mount_path = "/var/cache/shop"
size = "2Gi"
persistence = "ephemeral"
access = "single-writer"

[[volumes]]
name = "assets"
mount_path = "/srv/assets"
size = "10Gi"
persistence = "persistent"
access = "read-only-many"

[[secrets]]
bundle = "db-credentials"
mount_path = "/run/secrets/db"
mode = "0440"

[network]
egress = "none"

[security]
read_only_root_fs = true
run_as_user = 10001
`;

/** The same meaning: other comments, key order, formatting, inline tables, literal strings, other unit spellings. */
const SAME_MEANING = `# the shop, written differently
[security]
run_as_user = 10_001
read_only_root_fs = true

[network] # outbound
egress = 'none'

[resources]
ephemeral_storage = 1073741824
memory_request = 268435456
memory_limit = "512Mi"
cpu = 0.5

[rollout]
min_ready = "10s"
max_unavailable = 1
max_surge = 0
strategy = "rolling"
instances = 3

[process]
env.LOG = "info"
env.MODE = "production"
workdir = '/app'
cmd = [
  "--port",
  "8080",
]
entrypoint = ["/app/bin/shop"]

[health]
start_period = "90s"
retries = 5
timeout = "3000ms"
interval = "15s"
path = "/healthz"
port = 8080
kind = "http"

[[ports]]
exposure = "public"
app_protocol = "http"
protocol = "tcp"
port = 8080
name = "web"

[[ports]]
app_protocol = "grpc"
port = 9090

[[ports]]
protocol = "udp"
port = 5353

[[volumes]]
access = "single-writer"
persistence = "ephemeral"
size = "2Gi"
mount_path = "/var/cache/shop"
name = "cache"

[[volumes]]
access = "read-only-many"
persistence = "persistent"
size = "10Gi"
mount_path = "/srv/assets"
name = "assets"

[[secrets]]
mode = "440"
mount_path = "/run/secrets/db"
bundle = "db-credentials"
`.replace(/^/, 'schema = "vox.platform/v1"\nname = "shop"\n');

function valid(text: string, options = OPTIONS): Extract<PlatformValidation, { ok: true }> {
  const result = validatePlatformManifest(text, options);
  assert.ok(result.ok, result.ok ? "" : result.problems.map((p) => `${p.line}: ${p.key}: ${p.message}`).join("\n"));
  return result;
}

function problems(text: string): string[] {
  const result = validatePlatformManifest(text, OPTIONS);
  assert.ok(!result.ok, "expected problems");
  return result.problems.map((p) => `${p.line ?? "-"}: ${p.key}: ${p.message} [${p.rule}]`);
}

test("validatePlatformManifest() gives the same content_hash for the same meaning written with other comments, key order, formatting and unit spellings", () => {
  const a = valid(EVERY_FIELD);
  const b = valid(SAME_MEANING);
  assert.deepEqual(b.manifest, a.manifest);
  assert.equal(b.contentHash, a.contentHash);
  assert.equal(a.contentHash, platformContentHash(a.manifest));
  assert.match(a.contentHash, /^sha256:[0-9a-f]{64}$/);
});

test("validatePlatformManifest() gives a different content_hash when any one value changes", () => {
  const base = parse(EVERY_FIELD) as Record<string, any>;
  const baseHash = valid(EVERY_FIELD).contentHash;
  /** For each leaf, another valid value of different meaning. */
  const changes: Array<[string, (doc: Record<string, any>) => void]> = [
    ["name", (d) => (d.name = "shop2")],
    ["process.entrypoint", (d) => (d.process.entrypoint = ["/app/bin/other"])],
    ["process.cmd", (d) => (d.process.cmd = ["--port", "8081"])],
    ["process.workdir", (d) => (d.process.workdir = "/srv")],
    ["process.env value", (d) => (d.process.env.LOG = "debug")],
    ["process.env key", (d) => (d.process.env = { MODE: "production", LEVEL: "info" })],
    ["ports[0].name", (d) => (d.ports[0].name = "www")],
    ["ports[0].port", (d) => ((d.ports[0].port = 8081), (d.health.port = 8081))],
    ["ports[0].app_protocol", (d) => (d.ports[0].app_protocol = "grpc")],
    ["ports[0].exposure", (d) => (d.ports[0].exposure = "internal")],
    ["ports[2].protocol", (d) => (d.ports[2].protocol = "tcp")],
    ["ports order", (d) => d.ports.reverse()],
    ["resources.cpu", (d) => (d.resources.cpu = "501m")],
    ["resources.memory_limit", (d) => (d.resources.memory_limit = "513Mi")],
    ["resources.memory_request", (d) => (d.resources.memory_request = "255Mi")],
    ["resources.ephemeral_storage", (d) => (d.resources.ephemeral_storage = "1G")],
    ["health.kind", (d) => (d.health = { kind: "tcp", port: 8080, interval: "15s", timeout: "3s", retries: 5, start_period: "1m30s" })],
    ["health.path", (d) => (d.health.path = "/ready")],
    ["health.interval", (d) => (d.health.interval = "16s")],
    ["health.timeout", (d) => (d.health.timeout = "2999ms")],
    ["health.retries", (d) => (d.health.retries = 4)],
    ["health.start_period", (d) => (d.health.start_period = "1m31s")],
    ["rollout.instances", (d) => (d.rollout.instances = 4)],
    ["rollout.strategy", (d) => (d.rollout = { instances: 3, strategy: "recreate", min_ready: "10s" })],
    ["rollout.max_surge", (d) => (d.rollout.max_surge = 1)],
    ["rollout.max_unavailable", (d) => (d.rollout.max_unavailable = 2)],
    ["rollout.min_ready", (d) => (d.rollout.min_ready = "11s")],
    ["volumes[0].name", (d) => (d.volumes[0].name = "tmp")],
    ["volumes[0].mount_path", (d) => (d.volumes[0].mount_path = "/var/cache/other")],
    ["volumes[0].size", (d) => (d.volumes[0].size = "3Gi")],
    ["volumes[0].persistence", (d) => (d.volumes[0].persistence = "persistent")],
    ["volumes[1].access", (d) => (d.volumes[1].access = "single-writer")],
    ["secrets[0].bundle", (d) => (d.secrets[0].bundle = "db-other")],
    ["secrets[0].mount_path", (d) => (d.secrets[0].mount_path = "/run/secrets/other")],
    ["secrets[0].mode", (d) => (d.secrets[0].mode = "0400")],
    ["network.egress", (d) => (d.network.egress = "public")],
    ["security.read_only_root_fs", (d) => (d.security.read_only_root_fs = false)],
    ["security.run_as_user", (d) => (d.security.run_as_user = 10002)],
  ];
  const seen = new Map<string, string>([[baseHash, "base"]]);
  for (const [what, change] of changes) {
    const doc = structuredClone(base);
    change(doc);
    const hash = valid(stringify(doc)).contentHash;
    assert.ok(!seen.has(hash), `${what} gives the same hash as ${seen.get(hash)}`);
    seen.set(hash, what);
  }
});

test("validatePlatformManifest() applies every default explicitly and says why; the result is the same on every call", () => {
  const text = 'schema = "vox.platform/v1"\n[[ports]]\nport = 8080\n[health]\nkind = "http"\nport = 8080\n';
  const result = valid(text);
  assert.deepEqual(result.manifest, {
    schema: "vox.platform/v1",
    name: "shop",
    process: { entrypoint: null, cmd: null, env: {}, workdir: null },
    ports: [{ name: "http", port: 8080, protocol: "tcp", app_protocol: "http", exposure: "internal" }],
    resources: { cpu_millicores: 100, memory_limit_bytes: 256 * 2 ** 20, memory_request_bytes: 256 * 2 ** 20, ephemeral_storage_bytes: null },
    health: { kind: "http", port: 8080, path: "/", interval_ms: 10_000, timeout_ms: 2000, retries: 3, start_period_ms: 0 },
    rollout: { instances: 1, strategy: "rolling", max_surge: 1, max_unavailable: 0, min_ready_ms: 0 },
    volumes: [],
    secrets: [],
    network: { egress: "public" },
    security: { read_only_root_fs: false, run_as_user: null },
  });
  const byKey = new Map(result.defaults.map((d) => [d.key, d]));
  assert.deepEqual(byKey.get("name"), { key: "name", value: "shop", why: "not set: the package name in Vox.toml" });
  assert.equal(byKey.get("resources.cpu")?.value, "100m");
  assert.equal(byKey.get("resources.memory_limit")?.value, "256Mi");
  assert.equal(byKey.get("health.interval")?.value, "10s");
  assert.equal(byKey.get("ports[0].app_protocol")?.value, "http");
  for (const d of result.defaults) assert.match(d.why, /^(not set|strategy recreate)/, d.key);
  assert.deepEqual(validatePlatformManifest(text, OPTIONS), result);
});

test("validatePlatformManifest() picks defaults that fit each other: recreate for a single-writer volume, no surge when rolling over one, a cap from the request", () => {
  const volume = '[[volumes]]\nname = "db"\nmount_path = "/var/lib/db"\npersistence = "persistent"\n';
  assert.deepEqual(valid(`schema = "vox.platform/v1"\n${volume}`).manifest.rollout, { instances: 1, strategy: "recreate", max_surge: 0, max_unavailable: 1, min_ready_ms: 0 });
  assert.deepEqual(valid(`schema = "vox.platform/v1"\n[rollout]\ninstances = 2\nstrategy = "rolling"\n${volume}`).manifest.rollout, { instances: 2, strategy: "rolling", max_surge: 0, max_unavailable: 1, min_ready_ms: 0 });
  assert.equal(valid(`schema = "vox.platform/v1"\n${volume}`).manifest.volumes[0]!.size_bytes, 2 ** 30);
  const resources = valid('schema = "vox.platform/v1"\n[resources]\nmemory_request = "1Gi"\n').manifest.resources;
  assert.equal(resources.memory_limit_bytes, 2 ** 30);
  assert.equal(valid('schema = "vox.platform/v1"\n[health]\nkind = "exec"\ncommand = ["true"]\ninterval = "1s"\n').manifest.health?.timeout_ms, 1000);
  const ports = valid('schema = "vox.platform/v1"\n[[ports]]\nport = 80\n[[ports]]\nport = 81\n[[ports]]\nname = "http-82"\nport = 9000\n[[ports]]\nport = 82\n').manifest.ports;
  assert.deepEqual(ports.map((p) => p.name), ["http", "http-81", "http-82", "http-82-2"]);
});

test("validatePlatformManifest() names the versions it knows when schema is missing or unknown, and checks nothing else against the wrong one", () => {
  assert.deepEqual(problems("[[ports]]\nport = 0\n"), ["-: schema: is required; the versions this vox knows: vox.platform/v1 [schema]"]);
  assert.deepEqual(problems('# v2\nschema = "vox.platform/v2"\nports = 7\n'), ['2: schema: "vox.platform/v2" is not a version this vox knows (vox.platform/v1) [schema]']);
});

test("validatePlatformManifest() shows the accepted forms for a unit it cannot read", () => {
  const found = problems('schema = "vox.platform/v1"\n[resources]\ncpu = "500M"\nmemory_limit = "512MB"\n[health]\nkind = "exec"\ncommand = ["true"]\ninterval = "10"\n[rollout]\nmin_ready = "1.5s"\n');
  assert.match(found[0]!, /^3: resources\.cpu: "500M" is not a CPU quantity; accepted forms: "500m" \(millicores\), 0\.5 or "0\.5"/);
  assert.match(found[1]!, /^4: resources\.memory_limit: "512MB" is not a byte quantity; accepted forms: "512Mi", "1Gi" \(binary: Ki Mi Gi Ti\), "1G"/);
  assert.match(found[2]!, /^8: health\.interval: "10" is not a duration; accepted forms: "10s", "500ms", "1m30s"/);
  assert.match(found[3]!, /^10: rollout\.min_ready: "1\.5s" is not a duration/);
  assert.match(problems('schema = "vox.platform/v1"\n[resources]\ncpu = 0.0005\n')[0]!, /^3: resources\.cpu: 0\.0005 is finer than 1m .*\[resources\.cpu_precision\]$/);
});

test("validatePlatformManifest() refuses unknown keys with the nearest known one, and lists every problem at once, by line", () => {
  const found = problems('schema = "vox.platform/v1"\n[resources]\ncpus = 1\n[[ports]]\nprot = 80\n[rollout]\ninstances = 2\nmax_unavailable = 3\n');
  assert.deepEqual(found, [
    "3: resources.cpus: unknown key; did you mean 'cpu'? [schema]",
    "4: ports[0].port: is required (a number) [schema]",
    "5: ports[0].prot: unknown key; did you mean 'port'? [schema]",
    "8: rollout.max_unavailable: 3 is more than the 2 instance(s) [rollout.unavailable_within_instances]",
  ]);
});

test("validatePlatformManifest() refuses a name it would default to when the package name is no DNS label", () => {
  const result = validatePlatformManifest('schema = "vox.platform/v1"\n', { source: "p.toml", defaultName: "@acme/Web_App" });
  assert.ok(!result.ok);
  assert.deepEqual(result.problems.map((p) => [p.key, p.message, p.hint, p.rule]), [["name", 'is not set, and the package name "@acme/Web_App" is not a DNS label', 'Add name = "web-app" (lowercase letters, digits and \'-\')', "name.default"]]);
});

test("validatePlatformManifest() refuses TOML syntax errors and oversized text before reading keys", () => {
  const syntax = validatePlatformManifest('schema = "vox.platform/v1"\nports = [\n', OPTIONS);
  assert.ok(!syntax.ok);
  assert.equal(syntax.problems[0]!.rule, "syntax");
  assert.match(syntax.problems[0]!.message, /^is not valid TOML: /);
  const big = validatePlatformManifest(`schema = "vox.platform/v1"\n#${"x".repeat(1 << 20)}\n`, OPTIONS);
  assert.ok(!big.ok);
  assert.match(big.problems[0]!.message, /a manifest is at most 1048576/);
  const proto = validatePlatformManifest('schema = "vox.platform/v1"\n[process.env]\n__proto__ = "x"\n', OPTIONS);
  assert.ok(!proto.ok);
  assert.match(proto.problems[0]!.message, /__proto__ or constructor/);
});

test("canonicalManifestBytes() is canonical JSON: sorted keys, no whitespace, the bytes platformContentHash() hashes", () => {
  const { manifest, contentHash } = valid(EVERY_FIELD);
  const text = new TextDecoder().decode(canonicalManifestBytes(manifest));
  assert.ok(text.startsWith('{"health":{"interval_ms":15000,'), text.slice(0, 40));
  assert.ok(!/\s"|":\s/.test(text));
  assert.deepEqual(JSON.parse(text), manifest);
  assert.equal(contentHash, platformContentHash(JSON.parse(text)));
});
