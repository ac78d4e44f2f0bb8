import assert from "node:assert/strict";
import { test } from "node:test";
import { VoxError } from "../errors/mod.ts";
import { ProjectFileError } from "./_toml_schema.ts";
import { parseManifest, requireDeployBase, voxManifestJsonSchema } from "./manifest.ts";

const COMPLETE = `[package]
name = "shop"
version = "1.4.0"
kind = "application"
license = "Apache-2.0"
repository = "https://github.com/acme/shop"
documentation = "https://docs.acme.dev/shop"
description = "The shop"
authors = ["Ada <ada@acme.dev>"]
vendor = "Acme"

[dependencies]
http = "^1.2"
auth = { version = "0.2", features = ["oauth"] }

[deploy]
target = "container"
runtime = "auto"
image_name = "shop"
registry = "ghcr.io/acme"
base = "docker.io/library/alpine:3.20"
entrypoint = ["/app/shop"]
cmd = ["--port", "8080"]
workdir = "/app"
user = "1000:1000"
exposed_ports = ["8080/tcp", "9090"]
env = { RUST_LOG = "info" }
labels = { "org.example.team" = "payments" }

[[deploy.copy]]
from = "dist"
to = "/app"

[[deploy.copy]]
from = "bin/shop-arm64"
to = "/app/shop"
mode = "0755"
platform = "linux/arm64"

[deploy.kubernetes]
namespace = "shop"
replicas = 3
custom_thing = true
`;

/** The problems of a manifest that must not parse. */
function problemsOf(text: string, file?: string): readonly string[] {
  try {
    parseManifest(text, file === undefined ? {} : { file });
  } catch (error) {
    assert.ok(error instanceof ProjectFileError, `expected a ProjectFileError, got ${error}`);
    assert.equal(error.code, "E_MANIFEST");
    assert.equal(error.exitCode, 1);
    assert.match(error.hint ?? "", /vox deploy schema/);
    for (const problem of error.problems) assert.ok(error.message.includes(problem), "every problem is in the message");
    return error.problems;
  }
  assert.fail("expected parseManifest() to throw");
}

test("parseManifest() reads a complete manifest and applies defaults explicitly", () => {
  const manifest = parseManifest(COMPLETE);
  assert.equal(manifest.package.kind, "application");
  assert.deepEqual(manifest.dependencies?.auth, { version: "0.2", features: ["oauth"] });
  const deploy = manifest.deploy!;
  assert.deepEqual(deploy.platforms, ["linux/amd64", "linux/arm64"]);
  assert.deepEqual(deploy.copy, [
    { from: "dist", to: "/app" },
    { from: "bin/shop-arm64", to: "/app/shop", mode: 0o755, platform: "linux/arm64" },
  ]);
  assert.deepEqual(deploy.exposed_ports, ["8080/tcp", "9090/tcp"]);
  assert.equal(deploy.kubernetes?.custom_thing, true, "free-form keys inside [deploy.kubernetes] are kept");
  assert.deepEqual(parseManifest('[package]\nname = "x"\n').package, { name: "x", version: "0.1.0", kind: "library" });
});

test("parseManifest() names file, line and key of a typo'd key in [deploy]", () => {
  const text = COMPLETE.replace('image_name = "shop"', 'imag_name = "shop"');
  assert.deepEqual(problemsOf(text), ["Vox.toml:19: deploy.imag_name: unknown key; did you mean 'image_name'?"]);
});

test("parseManifest() names the second [[deploy.copy]] of a bad mode by index and line", () => {
  const text = COMPLETE.replace('mode = "0755"', 'mode = "rwxr-xr-x"');
  assert.deepEqual(problemsOf(text), ['Vox.toml:37: deploy.copy[1].mode: must be an octal mode such as "0755"']);
  const decimal = COMPLETE.replace('mode = "0755"', "mode = 755");
  assert.deepEqual(problemsOf(decimal), ['Vox.toml:37: deploy.copy[1].mode: 755 is a decimal number (0o1363); write 0o755 or "0755"']);
  assert.equal(parseManifest(COMPLETE.replace('mode = "0755"', "mode = 0o750")).deploy?.copy?.[1]?.mode, 0o750);
});

test("parseManifest() reports a bad platform, a bad base reference and a `from` that escapes, each at its line", () => {
  const text = COMPLETE.replace('base = "docker.io/library/alpine:3.20"', 'base = "docker.io/Library/alpine:3.20"\nplatforms = ["linux/arm64", "linux"]').replace(
    'from = "dist"',
    'from = "dist/../../secrets"',
  );
  const problems = problemsOf(text);
  assert.equal(problems.length, 3, problems.join("\n"));
  assert.match(problems[0]!, /^Vox\.toml:21: deploy\.base: must be an image reference such as .* \(repository path components must be lowercase/);
  assert.match(problems[1]!, /^Vox\.toml:22: deploy\.platforms\[1\]: must be os\/architecture\[\/variant\] such as "linux\/arm64"/);
  assert.equal(problems[2], "Vox.toml:32: deploy.copy[0].from: must stay inside the project (it leaves it with '..')");
});

test("parseManifest() reports a syntax error with its line and column", () => {
  const problems = problemsOf('[package]\nname = "x"\nversion = 1.2.3\n');
  assert.equal(problems.length, 1);
  assert.match(problems[0]!, /^Vox\.toml:3:\d+: /);
});

test("parseManifest() lists every problem at once, in line order, with the file name it was given", () => {
  const text = `[package]
name = "x"
kind = "service"

[deploy]
target = "cloud"
to = "/app"
workdir = "app"
env = { "1X" = "y" }

[[deploy.copy]]
from = "/etc/passwd"
to = "/etc/passwd"
platform = "linux/riscv64"
`;
  assert.deepEqual(problemsOf(text, "/src/x/Vox.toml"), [
    '/src/x/Vox.toml:3: package.kind: must be one of "library", "application", "skill", "agent", "workflow", "snippet", "component"',
    '/src/x/Vox.toml:6: deploy.target: must be one of "container", "bare-metal", "compose", "kubernetes", "coolify"',
    "/src/x/Vox.toml:7: deploy.to: unknown key (known keys: target, runtime, image_name, registry, container, compose, kubernetes, bare-metal, coolify, fly, platforms, base, copy, entrypoint, cmd, env, workdir, user, labels, exposed_ports, policy, manifest)",
    "/src/x/Vox.toml:8: deploy.workdir: must be an absolute path inside the image, such as /app",
    "/src/x/Vox.toml:9: deploy.env.1X: key is not allowed: must be an environment variable name (letters, digits, '_'; not starting with a digit)",
    "/src/x/Vox.toml:12: deploy.copy[0].from: must be relative to the project root, not absolute",
    "/src/x/Vox.toml:14: deploy.copy[0].platform: linux/riscv64 is not one of deploy.platforms (linux/amd64, linux/arm64)",
  ]);
});

test("parseManifest() refuses unknown keys in [package], duplicate platforms and a missing [package]", () => {
  assert.deepEqual(problemsOf('[package]\nname = "x"\nlicence = "MIT"\n'), ["Vox.toml:3: package.licence: unknown key; did you mean 'license'?"]);
  assert.deepEqual(problemsOf('[package]\nname = "x"\n[deploy]\nplatforms = ["linux/amd64", "linux/amd64"]\n'), ['Vox.toml:4: deploy.platforms[1]: "linux/amd64" is listed twice']);
  assert.deepEqual(problemsOf('[deploy]\nbase = "scratch"\n'), ["Vox.toml: package: is required (a table)"]);
});

test("parseManifest() refuses __proto__ keys, so nothing it returns can have a replaced prototype", () => {
  const problems = problemsOf('[package]\nname = "x"\n[deploy.kubernetes.__proto__]\npolluted = true\n');
  assert.match(problems[0]!, /^Vox\.toml:3:\d+: keys named __proto__ or constructor are not allowed/);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test("requireDeployBase() returns the base and explains a missing one", () => {
  assert.equal(requireDeployBase(parseManifest(COMPLETE)), "docker.io/library/alpine:3.20");
  assert.throws(() => requireDeployBase(parseManifest('[package]\nname = "x"\n')), (error: unknown) => error instanceof VoxError && /deploy\.base is not set/.test(error.message) && /base = /.test(error.hint ?? ""));
});

test("voxManifestJsonSchema() describes [deploy] for editors, strictly, the same way on every call", () => {
  const schema = voxManifestJsonSchema();
  assert.equal(schema.$schema, "https://json-schema.org/draft/2020-12/schema");
  assert.equal(schema.$id, "https://vox.dev/schemas/vox-toml.schema.json");
  assert.equal(schema.title, "Vox.toml");
  const deploy = schema.properties.deploy;
  for (const key of ["target", "runtime", "image_name", "registry", "platforms", "base", "copy", "entrypoint", "cmd", "env", "workdir", "user", "labels", "exposed_ports", "bare-metal", "kubernetes"]) {
    assert.ok(key in deploy.properties, `deploy.${key} is in the schema`);
  }
  assert.equal(deploy.additionalProperties, false);
  assert.equal(schema.properties.package.additionalProperties, false);
  assert.deepEqual(deploy.properties.platforms.default, ["linux/amd64", "linux/arm64"]);
  assert.deepEqual(deploy.properties.copy.items.required, ["from", "to"]);
  assert.deepEqual(deploy.properties.target.enum, ["container", "bare-metal", "compose", "kubernetes", "coolify"]);
  assert.deepEqual(schema.required, ["package"], "keys with defaults are optional to write");
  assert.equal(JSON.stringify(voxManifestJsonSchema()), JSON.stringify(schema));
});

/** Vox.toml with a [deploy] table holding `extra`. */
function withDeploy(extra: string): string {
  return `[package]\nname = "a"\n[deploy]\nbase = "scratch"\n${extra}`;
}

test("parseManifest() refuses special modes unless allow_special_modes, platforms with '..', NUL in env values and image paths with '.' parts", () => {
  for (const mode of ['"7777"', '"4755"', '"2755"', '"1755"', '"0666"']) {
    assert.match(problemsOf(withDeploy(`[[deploy.copy]]\nfrom = "a"\nto = "/a"\nmode = ${mode}\n`))[0] ?? "", /deploy\.copy\[0\]\.mode: .*allow_special_modes = true/);
  }
  assert.equal(parseManifest(withDeploy('[[deploy.copy]]\nfrom = "a"\nto = "/a"\nmode = "4755"\nallow_special_modes = true\n')).deploy?.copy?.[0]?.mode, 0o4755);
  assert.deepEqual(problemsOf(withDeploy('platforms = ["linux/..", "linux/", "Linux/amd64"]\n')).map((p) => p.split(":")[2]), [" deploy.platforms[0]", " deploy.platforms[1]", " deploy.platforms[2]"]);
  assert.match(problemsOf(withDeploy('env = { A = "x\\u0000y" }\n'))[0] ?? "", /deploy\.env\.A: must not contain NUL/);
  for (const to of ["/.", "/app/./x", "//app"]) assert.match(problemsOf(withDeploy(`[[deploy.copy]]\nfrom = "a"\nto = "${to}"\n`))[0] ?? "", /deploy\.copy\[0\]\.to: must be a plain path/);
  assert.deepEqual(parseManifest(withDeploy('[[deploy.copy]]\nfrom = "."\nto = "/"\nexclude = ["*.log", "build/**"]\n')).deploy?.copy?.[0]?.exclude, ["*.log", "build/**"]);
  assert.match(problemsOf(withDeploy('[[deploy.copy]]\nfrom = "."\nto = "/"\nexclude = ["../x"]\n'))[0] ?? "", /exclude\[0\]/);
});

test("parseManifest() takes [deploy] manifest as a path inside the project, and suggests a key one swap away", () => {
  assert.equal(parseManifest(withDeploy('manifest = "ops/platform.toml"\n')).deploy?.manifest, "ops/platform.toml");
  assert.match(problemsOf(withDeploy('manifest = "/etc/platform.toml"\n'))[0] ?? "", /Vox\.toml:5: deploy\.manifest: must be relative to the project root/);
  assert.match(problemsOf(withDeploy('manifest = "../platform.toml"\n'))[0] ?? "", /deploy\.manifest: must stay inside the project/);
  assert.match(problemsOf(withDeploy('manfiest = "p.toml"\n'))[0] ?? "", /deploy\.manfiest: unknown key; did you mean 'manifest'\?/);
});

test("parseManifest() reads [deploy.policy]: every gate required unless made advisory; unknown gates and levels are errors", () => {
  const manifest = parseManifest('[package]\nname = "a"\n[deploy]\nbase = "scratch"\n[deploy.policy]\nsbom = "advisory"\n');
  assert.equal(manifest.deploy?.policy?.sbom, "advisory");
  assert.equal(manifest.deploy?.policy?.provenance, "required");
  assert.throws(() => parseManifest('[package]\nname = "a"\n[deploy.policy]\nsbomm = "advisory"\nlock = "maybe"\n'), (error: ProjectFileError) => {
    assert.deepEqual(error.problems, ["Vox.toml:4: deploy.policy.sbomm: unknown key; did you mean 'sbom'?", 'Vox.toml:5: deploy.policy.lock: must be one of "required", "advisory"']);
    return true;
  });
});
