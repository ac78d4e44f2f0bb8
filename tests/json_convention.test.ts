// One convention for every machine-readable output (README, "Machine-readable output"): each JSON document has a
// `schema` ("vox.<thing>/<n>") and snake_case field names. Runs every --json the table has that works offline on a
// scratch project, reads .vox/release.json, the Release log and an audit log, and holds the rest to renderJson.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { conventionProblems } from "../cli/json.ts";
import { walkCommands } from "../cli/tree.ts";
import { COMMAND_ROOTS } from "../commands/_command_roots.ts";
import { bun, repoRoot, tempDir } from "./support/helpers.ts";

/** --json commands that need the network, root, a VM or a release: their JSON goes through renderJson (checked below). */
const NOT_RUN_HERE: Record<string, string> = {
  "vox upgrade": "a release provider",
  "vox mirror sync": "a release provider",
  "vox mirror verify": "a signed mirror",
  "vox deploy up": "a container engine",
  "vox deploy down": "a container engine",
  "vox deploy run": "root, runc and CNI",
  "vox deploy stop": "root, runc and CNI",
  "vox deploy rm": "root, runc and CNI",
  "vox oci materialize": "e2fsprogs and minutes",
  "vox microvm run": "qemu and a kernel",
  "vox self uninstall": "an installation",
  "vox ci release-build": "a compile of every target",
  "vox ci verify": "a signed release",
  "vox-bootstrap": "a release provider",
};

const SCHEMA = /^vox\.[a-z0-9-]+\/\d+$/;

function checkDocument(where: string, document: unknown): void {
  assert.ok(document !== null && typeof document === "object" && !Array.isArray(document), `${where}: one JSON object`);
  assert.match(String((document as { schema?: unknown }).schema), SCHEMA, `${where}: schema`);
  assert.deepEqual(conventionProblems(document), [], where);
}

test("every --json output, .vox/release.json, Release log records and audit events carry a schema and snake_case fields", () => {
  const dir = tempDir("json");
  mkdirSync(join(dir, "app"));
  writeFileSync(join(dir, "app", "hello.txt"), "hello\n");
  writeFileSync(join(dir, "Vox.toml"), '[package]\nname = "conv"\nversion = "0.1.0"\nkind = "application"\n\n[deploy]\nbase = "scratch"\nplatforms = ["linux/amd64"]\nentrypoint = ["/app/hello.txt"]\n\n[[deploy.copy]]\nfrom = "app"\nto = "/app"\n');
  cpSync(join(repoRoot, "examples", "hello", "vox.platform.toml"), join(dir, "vox.platform.toml"));
  mkdirSync(join(dir, "dist"));
  writeFileSync(join(dir, "dist", "vox-v1.0.0-x86_64-unknown-linux-gnu.tar.gz"), "a");
  const audit = join(dir, "audit.jsonl");
  const env = { ...process.env, VOX_CACHE_DIR: join(dir, "cache"), VOX_STATE_DIR: join(dir, "state"), VOX_AUDIT_LOG: audit, DOCKER_CONFIG: join(dir, "docker") };
  const layout = `oci:${join(dir, ".vox", "oci")}:0.1.0`;
  const runs: Array<[string, string[], ("second" | "checkout")?]> = [
    ["vox policy", ["policy", "--json"]],
    ["vox lock", ["lock", "--json"]],
    ["vox deploy build", ["deploy", "build", "--json"]],
    ["vox deploy validate", ["deploy", "validate", "--json"]],
    ["vox deploy release", ["deploy", "release", "--json"]],
    ["vox deploy build", ["deploy", "build", "--json"], "second"],
    ["vox deploy release", ["deploy", "release", "--json"]],
    ["vox deploy releases", ["deploy", "releases", "--json"]],
    ["vox deploy releases verify", ["deploy", "releases", "verify", "--json"]],
    ["vox deploy releases repair", ["deploy", "releases", "repair", "--json"]],
    ["vox deploy rollback", ["deploy", "rollback", "--json"]],
    ["vox deploy emit", ["deploy", "emit", "--target", "compose", "--json"]],
    ["vox deploy ps", ["deploy", "ps", "--json"]],
    ["vox oci pull", ["oci", "pull", layout, "--platform", "linux/amd64", "--json"]],
    ["vox oci verify", ["oci", "verify", layout, "--json"]],
    ["vox oci unpack", ["oci", "unpack", layout, join(dir, "bundle"), "--platform", "linux/amd64", "--json"]],
    ["vox oci cache ls", ["oci", "cache", "ls", "--json"]],
    ["vox oci cache verify", ["oci", "cache", "verify", "--json"]],
    ["vox oci cache gc", ["oci", "cache", "gc", "--json"]],
    ["vox ci checksums", ["ci", "checksums", join(dir, "dist"), "--json"]],
    ["vox ci pm-provenance", ["ci", "pm-provenance", "--json"]],
    ["vox ci image-policy", ["ci", "image-policy", layout, "--project", dir, "--json"]],
    ["vox ci command-compliance", ["ci", "command-compliance", "--json"], "checkout"],
    ["vox-bootstrap plan", ["plan", "--source-only", "--install-dir", join(dir, "bin"), "--json"]],
  ];
  const covered = new Set<string>();
  for (const [name, args, step] of runs) {
    // A second image, so that the rollback has an earlier, different Release to go back to.
    if (step === "second") writeFileSync(join(dir, "app", "hello.txt"), "hello again\n");
    const cwd = step === "checkout" ? repoRoot : dir;
    const entry = name.startsWith("vox-bootstrap") ? join(repoRoot, "bootstrap", "main.ts") : join(repoRoot, "main.ts");
    const result = spawnSync(bun, [entry, ...args], { cwd, env, encoding: "utf8" });
    assert.ok(result.stdout.trim() !== "", `${name}: printed JSON (exit ${result.status}): ${result.stderr}`);
    checkDocument(name, JSON.parse(result.stdout));
    covered.add(name);
  }
  checkDocument(".vox/release.json", JSON.parse(readFileSync(join(dir, ".vox", "release.json"), "utf8")));
  const log = readFileSync(join(dir, ".vox", "releases", "log.jsonl"), "utf8").trimEnd().split("\n");
  assert.equal(log.length, 3, "two releases and a rollback");
  log.forEach((line, i) => checkDocument(`Release log line ${i + 1}`, JSON.parse(line)));
  const events = readFileSync(audit, "utf8").trimEnd().split("\n");
  assert.ok(events.length > 0);
  events.forEach((line, i) => checkDocument(`audit event ${i + 1}`, JSON.parse(line)));

  // Every command with --json is run above or listed with what it needs; a new one must be added to one of them.
  const withJson = COMMAND_ROOTS.flatMap((root) => walkCommands(root).filter((e) => e.spec.options?.json).map((e) => e.path.join(" ")));
  assert.deepEqual(withJson.filter((path) => !covered.has(path) && !(path in NOT_RUN_HERE)), []);
});

/** JSON vox writes only for itself, read back with its TypeScript names: not an output. */
const PRIVATE_RECORDS: Record<string, string> = { "commands/microvm.ts": "the microVM disk cache's record (sha256 and process of a cached disk)" };

test("no command prints JSON except through renderJson (the convention's one place)", () => {
  const dir = join(repoRoot, "commands");
  const offenders = readdirSync(dir)
    .filter((f) => f.endsWith(".ts") && !f.endsWith("_test.ts"))
    .flatMap((file) => readFileSync(join(dir, file), "utf8").split("\n").map((line, i) => ({ line, where: `commands/${file}:${i + 1}` })))
    .filter(({ line }) => /(out\.std(out|err)|writeFileAtomic)\(.*JSON\.stringify\(/.test(line) && !/JsonSchema\(\)/.test(line))
    .filter(({ where }) => !(where.split(":")[0]! in PRIVATE_RECORDS));
  assert.deepEqual(offenders.map((o) => o.where), []);
});
