import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { VoxError } from "../../errors/mod.ts";
import { mapEnv, nodeSpawner, type Spawner } from "../../io/mod.ts";
import { dockerConfigCredentials, staticCredentials } from "./credentials.ts";

const root = mkdtempSync(join(tmpdir(), "vox-credentials-"));
after(() => rmSync(root, { recursive: true, force: true }));
let count = 0;

function configDir(config: unknown, name = "config.json"): string {
  const dir = join(root, `config-${count++}`);
  mkdirSync(dir);
  writeFileSync(join(dir, name), JSON.stringify(config));
  return dir;
}

const basic = (user: string, password: string) => Buffer.from(`${user}:${password}`).toString("base64");

/**
 * A real credential helper: a shell script named docker-credential-fake in a temp dir put on PATH. It records the
 * server URL it was asked about, knows two hosts, and answers the others the way real helpers do.
 */
function fakeHelper(): { spawner: Spawner; asked: () => string } {
  const bin = join(root, `bin-${count++}`);
  mkdirSync(bin);
  const script = join(bin, "docker-credential-fake");
  writeFileSync(
    script,
    `#!/bin/sh
[ "$1" = get ] || exit 2
read url
printf '%s\\n' "$url" >> "${bin}/asked"
case "$url" in
  helper.example) printf '{"ServerURL":"%s","Username":"helper-user","Secret":"helper-pass"}' "$url" ;;
  token.example) printf '{"ServerURL":"%s","Username":"<token>","Secret":"refresh-123"}' "$url" ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac
`,
  );
  chmodSync(script, 0o755);
  const spawner: Spawner = { run: (argv, options) => nodeSpawner.run(argv, { ...options, env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } }) };
  return { spawner, asked: () => readFileSync(join(bin, "asked"), "utf8") };
}

const noSpawn: Spawner = { run: () => Promise.reject(new Error("no helper expected")) };

test("dockerConfigCredentials() decodes auths[host].auth from $DOCKER_CONFIG/config.json", async () => {
  const dir = configDir({ auths: { "registry.example:5000": { auth: basic("ci", "p:ss") } } });
  const credentials = dockerConfigCredentials({ env: mapEnv({ DOCKER_CONFIG: dir }), spawner: noSpawn });
  assert.deepEqual(await credentials.resolve("registry.example:5000"), { username: "ci", password: "p:ss" });
  assert.equal(await credentials.resolve("other.example"), undefined);
});

test("dockerConfigCredentials() finds Docker Hub under https://index.docker.io/v1/ and URL-shaped keys by host", async () => {
  const dir = configDir({ auths: { "https://index.docker.io/v1/": { auth: basic("hub", "x") }, "https://ghcr.io": { identitytoken: "id-tok" } } });
  const credentials = dockerConfigCredentials({ env: mapEnv({ HOME: join(root, "nohome"), DOCKER_CONFIG: dir }), spawner: noSpawn });
  assert.deepEqual(await credentials.resolve("docker.io"), { username: "hub", password: "x" });
  assert.deepEqual(await credentials.resolve("ghcr.io"), { identityToken: "id-tok" });
});

test("dockerConfigCredentials() reads ~/.docker/config.json without DOCKER_CONFIG, and REGISTRY_AUTH_FILE first", async () => {
  const home = join(root, `home-${count++}`);
  mkdirSync(join(home, ".docker"), { recursive: true });
  writeFileSync(join(home, ".docker", "config.json"), JSON.stringify({ auths: { "a.example": { auth: basic("docker", "1") }, "b.example": { auth: basic("docker", "2") } } }));
  const podman = configDir({ auths: { "a.example": { auth: basic("podman", "1") } } }, "auth.json");
  const credentials = dockerConfigCredentials({ env: mapEnv({ HOME: home, REGISTRY_AUTH_FILE: join(podman, "auth.json") }), spawner: noSpawn });
  assert.deepEqual(await credentials.resolve("a.example"), { username: "podman", password: "1" });
  assert.deepEqual(await credentials.resolve("b.example"), { username: "docker", password: "2" });
});

test("dockerConfigCredentials() runs credHelpers[host] with the server URL on stdin; <token> means identity token", async () => {
  const helper = fakeHelper();
  const dir = configDir({ credHelpers: { "helper.example": "fake", "token.example": "fake", "missing.example": "fake" }, auths: { "helper.example": { auth: basic("ignored", "x") } } });
  const credentials = dockerConfigCredentials({ env: mapEnv({ DOCKER_CONFIG: dir }), spawner: helper.spawner });
  assert.deepEqual(await credentials.resolve("helper.example"), { username: "helper-user", password: "helper-pass" });
  assert.deepEqual(await credentials.resolve("token.example"), { identityToken: "refresh-123" });
  assert.equal(await credentials.resolve("missing.example"), undefined);
  assert.equal(helper.asked(), "helper.example\ntoken.example\nmissing.example\n");
});

test("dockerConfigCredentials() asks credsStore for Docker Hub as https://index.docker.io/v1/ when auths has no secret", async () => {
  const helper = fakeHelper();
  const dir = configDir({ credsStore: "fake", auths: { "https://index.docker.io/v1/": {} } });
  const credentials = dockerConfigCredentials({ env: mapEnv({ DOCKER_CONFIG: dir }), spawner: helper.spawner });
  assert.equal(await credentials.resolve("docker.io"), undefined);
  assert.equal(helper.asked(), "https://index.docker.io/v1/\n");
});

test("dockerConfigCredentials() names a credential helper that is not installed, with a hint", async () => {
  const dir = configDir({ credHelpers: { "r.example": "vox-surely-not-installed" } });
  const credentials = dockerConfigCredentials({ env: mapEnv({ DOCKER_CONFIG: dir }), spawner: nodeSpawner });
  await assert.rejects(credentials.resolve("r.example"), (error: unknown) => {
    assert.ok(error instanceof VoxError);
    assert.equal(error.code, "E_REGISTRY_HELPER");
    assert.match(error.message, /docker-credential-vox-surely-not-installed/);
    assert.match(error.hint ?? "", /Install docker-credential-vox-surely-not-installed/);
    return true;
  });
});

test("dockerConfigCredentials() refuses a config.json that is not JSON or an auth that is not user:password", async () => {
  const broken = join(root, `broken-${count++}`);
  mkdirSync(broken);
  writeFileSync(join(broken, "config.json"), "{ not json");
  await assert.rejects(dockerConfigCredentials({ env: mapEnv({ DOCKER_CONFIG: broken }), spawner: noSpawn }).resolve("a"), /Cannot read registry credentials from .*not JSON/);
  const dir = configDir({ auths: { "r.example": { auth: Buffer.from("no-colon").toString("base64") } } });
  await assert.rejects(dockerConfigCredentials({ env: mapEnv({ DOCKER_CONFIG: dir }), spawner: noSpawn }).resolve("r.example"), /not base64 of user:password/);
});

test("staticCredentials() answers only for the hosts it was given", async () => {
  const credentials = staticCredentials({ "r.example": { username: "u", password: "p" } });
  assert.deepEqual(await credentials.resolve("r.example"), { username: "u", password: "p" });
  assert.equal(await credentials.resolve("toString"), undefined);
});
