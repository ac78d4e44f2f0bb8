// The platform manifest through the CLI (`bun main.ts`): `vox deploy validate` refusing each invariant with file,
// line, key and next step; --json and --explain; `vox deploy schema --platform`; [deploy] manifest; and the
// manifest's content hash in the Release tuple `vox deploy build` writes to .vox/release.json.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import Ajv2020 from "ajv/dist/2020.js";
import { platformJsonSchema, validatePlatformManifest } from "../platform/mod.ts";
import { bun, repoRoot, runVoxSource, tempDir } from "./support/helpers.ts";

const HEAD = 'schema = "vox.platform/v1"\n';

/** A project: Vox.toml (scratch base, one copied file) and, when given, vox.platform.toml. */
function project(platform: string | undefined, deployExtra = ""): string {
  const dir = tempDir("platform");
  mkdirSync(join(dir, "app"));
  writeFileSync(join(dir, "app", "hello.txt"), "hello\n");
  writeFileSync(join(dir, "Vox.toml"), `[package]\nname = "shop"\nversion = "1.0.0"\n[deploy]\nbase = "scratch"\nplatforms = ["linux/amd64"]\n${deployExtra}[[deploy.copy]]\nfrom = "app"\nto = "/app"\n`);
  if (platform !== undefined) writeFileSync(join(dir, "vox.platform.toml"), platform);
  return dir;
}

function vox(args: readonly string[], cwd: string) {
  return runVoxSource(args, { cwd, env: { VOX_CACHE_DIR: join(cwd, ".cache"), DOCKER_CONFIG: join(cwd, ".docker") } });
}

/** For each invariant: a manifest that breaks it, and the `file:line: key: message` and hint it must print. */
const INVARIANTS: Array<{ what: string; manifest: string; line: RegExp; hint: RegExp }> = [
  { what: "privileged mode", manifest: `${HEAD}[security]\nprivileged = true\n`, line: /^vox\.platform\.toml:3: security\.privileged: privileged mode is refused/m, hint: /Remove the key/ },
  { what: "added capabilities", manifest: `${HEAD}[security]\nread_only_root_fs = true\ncap_add = ["NET_ADMIN"]\n`, line: /^vox\.platform\.toml:4: security\.cap_add: added capabilities are refused/m, hint: /listen on a higher port/ },
  { what: "a volume from a host path", manifest: `${HEAD}[[volumes]]\nname = "/srv/data"\nmount_path = "/data"\n`, line: /^vox\.platform\.toml:3: volumes\[0\]\.name: is a host path; host paths are never mounted/m, hint: /JSON Schema/ },
  { what: "a mount from a host path", manifest: `${HEAD}[[volumes]]\nname = "data"\nmount_path = "/data"\nhost_path = "/srv/data"\n`, line: /^vox\.platform\.toml:5: volumes\[0\]\.host_path: host paths are refused/m, hint: /use \[\[volumes\]\] name/ },
  { what: "host network", manifest: `${HEAD}[network]\nhost_network = true\n`, line: /^vox\.platform\.toml:3: network\.host_network: host network, PID and IPC namespaces are refused/m, hint: /declare the ports to publish/ },
  { what: "host PID", manifest: `${HEAD}[security]\nhost_pid = true\n`, line: /^vox\.platform\.toml:3: security\.host_pid: host network, PID and IPC namespaces are refused/m, hint: /Remove the key/ },
  { what: "host IPC", manifest: `${HEAD}ipc = "host"\n`, line: /^vox\.platform\.toml:2: ipc: host network, PID and IPC namespaces are refused/m, hint: /Remove the key/ },
  { what: "a secret with a literal value", manifest: `${HEAD}[[secrets]]\nbundle = "db"\nvalue = "hunter2"\n`, line: /^vox\.platform\.toml:4: secrets\[0\]\.value: a secret's value never appears in the manifest/m, hint: /store it in the platform's secret bundle/ },
  { what: "secrets written as values", manifest: `${HEAD}[secrets]\nDB_PASSWORD = "hunter2"\n`, line: /^vox\.platform\.toml:2: secrets: must list references to secret bundles/m, hint: /JSON Schema/ },
  { what: "two mounts on one path", manifest: `${HEAD}[[volumes]]\nname = "data"\nmount_path = "/run/secrets/db"\n\n[[secrets]]\nbundle = "db"\n`, line: /^vox\.platform\.toml:6: secrets\[0\]\.mount_path: \/run\/secrets\/db is also where volumes\[0\] is mounted/m, hint: /Mount each volume and secret on its own path/ },
  { what: "a mount over /", manifest: `${HEAD}[[volumes]]\nname = "root"\nmount_path = "/"\n`, line: /^vox\.platform\.toml:4: volumes\[0\]\.mount_path: must not be \/: a mount over \/ would replace the image's whole filesystem/m, hint: /JSON Schema/ },
  { what: "a port declared twice", manifest: `${HEAD}[[ports]]\nport = 8080\n[[ports]]\nport = 8080\nexposure = "public"\n`, line: /^vox\.platform\.toml:5: ports\[1\]\.port: 8080\/tcp is declared twice \(first as ports\[0\]\)/m, hint: /one \[\[ports\]\] entry per port/ },
  { what: "a health check on an undeclared port", manifest: `${HEAD}[[ports]]\nport = 8080\n[health]\nkind = "http"\nport = 9090\npath = "/healthz"\n`, line: /^vox\.platform\.toml:6: health\.port: 9090 is not a declared port/m, hint: /Declare it in \[\[ports\]\] \(port = 9090/ },
  { what: "a memory cap below the request", manifest: `${HEAD}[resources]\nmemory_limit = "256Mi"\nmemory_request = "1Gi"\n`, line: /^vox\.platform\.toml:3: resources\.memory_limit: 256Mi is below memory_request \(1Gi\)/m, hint: /cannot reserve more than the workload may use/ },
  { what: "an image named in the manifest", manifest: `${HEAD}image = "nginx:latest"\n`, line: /^vox\.platform\.toml:2: image: the manifest does not name the image/m, hint: /vox deploy release --image <repo>@sha256:/ },
];

test("vox deploy validate refuses each invariant with the file, line, key and what to do, exit 1", () => {
  for (const { what, manifest, line, hint } of INVARIANTS) {
    const dir = project(manifest);
    const result = vox(["deploy", "validate"], dir);
    assert.equal(result.status, 1, `${what}: ${result.stderr}`);
    assert.match(result.stderr, line, what);
    assert.match(result.stderr, hint, what);
    assert.equal(result.stdout, "", what);
  }
});

test("vox deploy validate --json: the normalized manifest and a content_hash that comments, key order and formatting do not change, and any value does", () => {
  const a = project(`${HEAD}[[ports]]\nport = 8080\nexposure = "public"\n[resources]\ncpu = "500m"\nmemory_limit = "512Mi"\n`);
  const b = project(`# the same, reordered\n[resources]\nmemory_limit = 536870912 # bytes\ncpu = 0.5\n\n[[ports]]\nexposure = 'public'\nport = 8_080\n${HEAD}`.replace(`\n${HEAD}`, "\n").replace(/^/, HEAD));
  const c = project(`${HEAD}[[ports]]\nport = 8080\nexposure = "public"\n[resources]\ncpu = "500m"\nmemory_limit = "513Mi"\n`);
  const [ra, rb, rc] = [a, b, c].map((dir) => vox(["deploy", "validate", "--json"], dir));
  for (const r of [ra, rb, rc]) assert.equal(r!.status, 0, r!.stderr);
  const [ja, jb, jc] = [ra, rb, rc].map((r) => JSON.parse(r!.stdout));
  assert.equal(ja.ok, true);
  assert.match(ja.content_hash, /^sha256:[0-9a-f]{64}$/);
  assert.equal(jb.content_hash, ja.content_hash);
  assert.notEqual(jc.content_hash, ja.content_hash);
  assert.deepEqual(ja.manifest.ports, [{ name: "http", port: 8080, protocol: "tcp", app_protocol: "http", exposure: "public" }]);
  assert.deepEqual(ja.manifest.resources, { cpu_millicores: 500, memory_limit_bytes: 536870912, memory_request_bytes: 536870912, ephemeral_storage_bytes: null });
  assert.equal(ja.defaults, undefined);
  const explained = JSON.parse(vox(["deploy", "validate", "--json", "--explain"], a).stdout);
  assert.deepEqual(explained.defaults.find((d: { key: string }) => d.key === "name"), { key: "name", value: "shop", why: "not set: the package name in Vox.toml" });
});

test("vox deploy validate --json reports problems as data with exit 1; --explain prints each default and why", () => {
  const bad = vox(["deploy", "validate", "--json"], project(`${HEAD}[resources]\ncpu = "1.5m"\n`));
  assert.equal(bad.status, 1);
  const json = JSON.parse(bad.stdout);
  assert.equal(json.ok, false);
  assert.deepEqual(json.problems.map((p: { line: number; key: string; rule: string }) => [p.line, p.key, p.rule]), [[3, "resources.cpu", "schema"]]);
  assert.match(json.problems[0].message, /accepted forms: "500m" \(millicores\)/);
  const explain = vox(["deploy", "validate", "--explain"], project(`${HEAD}[[ports]]\nport = 8080\n`));
  assert.equal(explain.status, 0, explain.stderr);
  assert.match(explain.stdout, /^vox\.platform\.toml: valid \(vox\.platform\/v1, workload shop\)\ncontent_hash sha256:[0-9a-f]{64}\ndefaults applied \(\d+\):\n/);
  assert.match(explain.stdout, /^ {2}resources\.cpu = "100m" +# not set: a tenth of a core$/m);
  assert.match(explain.stdout, /^ {2}ports\[0\]\.exposure = "internal" +# not set: reachable only by other workloads/m);
});

test("vox deploy validate reads [deploy] manifest, says where it expected a manifest, and exits 2 for a --manifest that does not exist", () => {
  const dir = project(undefined, 'manifest = "ops/platform.toml"\n');
  const missing = vox(["deploy", "validate"], dir);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /Cannot read the platform manifest ops\/platform\.toml: it does not exist, and Vox\.toml names it/);
  mkdirSync(join(dir, "ops"));
  writeFileSync(join(dir, "ops", "platform.toml"), `${HEAD}name = "shop-ops"\n`);
  const found = vox(["deploy", "validate"], join(dir, "app"));
  assert.equal(found.status, 0, found.stderr);
  // Outside the working directory, the path is shown in full.
  assert.ok(found.stdout.startsWith(`${join(dir, "ops", "platform.toml")}: valid (vox.platform/v1, workload shop-ops)\n`), found.stdout);
  const none = vox(["deploy", "validate"], project(undefined));
  assert.equal(none.status, 1);
  assert.match(none.stderr, /Cannot find a platform manifest: vox\.platform\.toml does not exist\nhint: Write vox\.platform\.toml beside Vox\.toml/);
  const named = vox(["deploy", "validate", "--manifest", "nope.toml"], dir);
  assert.equal(named.status, 2);
  assert.match(named.stderr, /Cannot read the platform manifest nope\.toml: it does not exist/);
  const outside = tempDir("no-project");
  writeFileSync(join(outside, "p.toml"), HEAD);
  const lone = vox(["deploy", "validate", "--manifest", join(outside, "p.toml")], outside);
  assert.equal(lone.status, 1);
  assert.match(lone.stderr, /p\.toml: name: is not set, and the package name "" is not a DNS label/);
});

test("vox deploy schema --platform prints the exported JSON Schema, which ajv compiles and which refuses what the manifest refuses", () => {
  const result = vox(["deploy", "schema", "--platform"], repoRoot);
  assert.equal(result.status, 0, result.stderr);
  const schema = JSON.parse(result.stdout);
  assert.deepEqual(schema, platformJsonSchema());
  assert.equal(schema.$id, "https://vox.dev/schemas/vox.platform.v1.schema.json");
  const check = new Ajv2020({ allErrors: true }).compile(schema);
  assert.equal(check({ schema: "vox.platform/v1", ports: [{ port: 8080 }], resources: { cpu: "500m", memory_limit: "512Mi" } }), true);
  assert.equal(check({ schema: "vox.platform/v1", security: { privileged: true } }), false);
  assert.equal(check({ schema: "vox.platform/v1", resources: { memory_limit: "512MB" } }), false);
  assert.notDeepEqual(JSON.parse(vox(["deploy", "schema"], repoRoot).stdout), schema);
});

test("examples/hello/vox.platform.toml is valid", () => {
  const result = vox(["deploy", "validate"], join(repoRoot, "examples", "hello"));
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /^vox\.platform\.toml: valid \(vox\.platform\/v1, workload hello\)/);
});

test("vox deploy build writes the platform manifest's content hash into the Release tuple; without a manifest it builds and says so; an invalid one stops it before anything is built", () => {
  const dir = project(`${HEAD}[[ports]]\nport = 8080\n`);
  const built = vox(["deploy", "build", "--json"], dir);
  assert.equal(built.status, 0, built.stderr);
  const expected = JSON.parse(vox(["deploy", "validate", "--json"], dir).stdout).content_hash;
  const release = JSON.parse(readFileSync(join(dir, ".vox", "release.json"), "utf8"));
  assert.equal(release.manifest_content_hash, expected);
  assert.equal(release.manifest, "vox.platform.toml");
  assert.equal(JSON.parse(built.stdout).release.manifest_content_hash, expected);

  const bare = project(undefined);
  const plain = vox(["deploy", "build"], bare);
  assert.equal(plain.status, 0, plain.stderr);
  assert.match(plain.stdout, /^release \(sha256:[0-9a-f]{64}, no platform manifest: vox\.platform\.toml does not exist\)$/m);
  const noManifest = JSON.parse(readFileSync(join(bare, ".vox", "release.json"), "utf8"));
  assert.equal(noManifest.manifest_content_hash, null);
  assert.equal(noManifest.manifest, null);

  const broken = project(`${HEAD}[security]\nprivileged = true\n`);
  const refused = vox(["deploy", "build"], broken);
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /vox\.platform\.toml:3: security\.privileged: privileged mode is refused/);
  assert.ok(!existsSync(join(broken, ".vox", "oci")), "no image layout is written");
  assert.ok(!existsSync(join(broken, ".vox", "release.json")));
});

const SOME_FIELDS = `${HEAD}[[ports]]\nport = 8080\nexposure = "public"\n[resources]\ncpu = 0.25\nmemory_limit = "1Gi"\n[health]\nkind = "tcp"\nport = 8080\ninterval = "1m30s"\n[[volumes]]\nname = "data"\nmount_path = "/data"\npersistence = "persistent"\n[[secrets]]\nbundle = "db"\n`;

test("platform/mod.ts runs unchanged under Bun and under Deno with no permissions at all (no file, environment or network access), with the same content hash as Node", () => {
  const script = `import { validatePlatformManifest } from "./platform/mod.ts";\nconst r = validatePlatformManifest(${JSON.stringify(SOME_FIELDS)}, { source: "m", defaultName: "app" });\nconsole.log(r.ok ? r.contentHash : JSON.stringify(r.problems));\n`;
  const node = validatePlatformManifest(SOME_FIELDS, { source: "m", defaultName: "app" });
  assert.ok(node.ok);
  const env = { ...process.env, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" };
  // A script on stdin gets no permissions from Deno: any fs, env or net access would throw.
  const deno = spawnSync(join(repoRoot, "node_modules", ".bin", "deno"), ["run", "--no-prompt", "--quiet", "-"], { cwd: repoRoot, input: script, encoding: "utf8", env });
  assert.equal(deno.status, 0, deno.stderr);
  assert.equal(deno.stdout, `${node.contentHash}\n`);
  const dir = tempDir("bun-script");
  writeFileSync(join(dir, "check.ts"), script.replace("./platform/mod.ts", join(repoRoot, "platform", "mod.ts")));
  const fromBun = spawnSync(bun, [join(dir, "check.ts")], { cwd: repoRoot, encoding: "utf8", env });
  assert.equal(fromBun.status, 0, fromBun.stderr);
  assert.equal(fromBun.stdout, `${node.contentHash}\n`);
});

test("package.json exports the validator as vox-distributor/platform: the same module a control plane imports by name", async () => {
  const byName = await import("vox-distributor/platform");
  const { validatePlatformManifest: direct } = await import("../platform/mod.ts");
  assert.equal(byName.validatePlatformManifest, direct);
  assert.equal(JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")).exports["./platform"], "./platform/mod.ts");
});
