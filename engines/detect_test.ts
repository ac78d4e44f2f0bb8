import assert from "node:assert/strict";
import { test } from "node:test";
import { VoxError } from "../errors/mod.ts";
import { mapEnv, type SpawnResult, type Spawner } from "../io/mod.ts";
import { detectEngine, type EngineDeps } from "./mod.ts";

/** A host described by what each command answers; anything not listed is a missing program (127). */
function host(answers: Record<string, Partial<SpawnResult>>, env: Record<string, string> = {}): EngineDeps & { asked: string[] } {
  const asked: string[] = [];
  const spawner: Spawner = {
    async run(argv) {
      asked.push(argv.join(" "));
      const answer = answers[argv.join(" ")];
      return { code: 127, signal: null, stdout: "", stderr: "", timedOut: false, ...(answer ? { code: 0, ...answer } : {}) };
    },
  };
  return { spawner, env: mapEnv(env), log: () => {}, asked };
}

const DOCKER_SERVER = "docker version --format {{json .Server}}";
const PODMAN_VERSION = "podman version --format {{.Client.Version}}";
const PODMAN_SOCKET = "podman info --format {{.Host.RemoteSocket.Exists}} {{.Host.RemoteSocket.Path}}";

test("detectEngine() picks Docker first for compose when its daemon answers, with the Compose plugin", async () => {
  const deps = host({ [DOCKER_SERVER]: { stdout: '{"Version":"27.1.0","Components":[{"Name":"Engine","Version":"27.1.0"}]}' }, "docker compose version": {}, [PODMAN_VERSION]: { stdout: "5.2.0\n" } });
  const engine = await detectEngine("compose", deps);
  assert.equal(engine.kind, "docker");
  assert.deepEqual(engine.compose, ["docker", "compose"]);
  assert.equal(engine.description, "Docker 27.1.0, Compose: docker compose");
  assert.ok(!deps.asked.includes(PODMAN_VERSION), "Podman is not asked once Docker answers");
});

test("detectEngine() says Podman when the Docker API that answers is Podman's, and points Compose at it", async () => {
  const deps = host({ [DOCKER_SERVER]: { stdout: '{"Version":"4.3.1","Components":[{"Name":"Podman Engine","Version":"4.3.1"}]}' }, "docker-compose version": {} }, { DOCKER_HOST: "unix:///tmp/p.sock" });
  const engine = await detectEngine("compose", deps);
  assert.equal(engine.kind, "podman");
  assert.deepEqual(engine.compose, ["docker-compose", "--host", "unix:///tmp/p.sock"]);
  assert.match(engine.description, /^Podman 4\.3\.1 \(Docker API at unix:\/\/\/tmp\/p\.sock\), Compose: docker-compose$/);
});

test("detectEngine() falls back to Podman's own socket when no Docker daemon answers, and refuses without one", async () => {
  const listening = host({ [PODMAN_VERSION]: { stdout: "4.9.3\n" }, [PODMAN_SOCKET]: { stdout: "true /run/podman/podman.sock\n" }, "docker-compose version": {} });
  assert.deepEqual((await detectEngine("compose", listening)).compose, ["docker-compose", "--host", "unix:///run/podman/podman.sock"]);
  const silent = host({ [PODMAN_VERSION]: { stdout: "4.9.3\n" }, [PODMAN_SOCKET]: { stdout: "false /run/podman/podman.sock\n" }, "docker-compose version": {} });
  await assert.rejects(detectEngine("compose", silent), (error: VoxError) => error.code === "E_NO_ENGINE" && /API socket/.test(error.message) && /podman\.socket/.test(error.hint ?? ""));
  const noCompose = host({ [PODMAN_VERSION]: { stdout: "4.9.3\n" } });
  await assert.rejects(detectEngine("compose", noCompose), (error: VoxError) => /neither `docker compose` nor `docker-compose`/.test(error.message));
});

test("detectEngine() uses kubectl with a current context for kubernetes, else podman kube play", async () => {
  const cluster = host({ "kubectl config current-context": { stdout: "prod\n" }, "kubectl version --client -o json": { stdout: '{"clientVersion":{"gitVersion":"v1.30.2"}}' }, [PODMAN_VERSION]: { stdout: "4.3.1\n" } });
  assert.equal((await detectEngine("kubernetes", cluster)).description, "kubectl v1.30.2 (context prod)");
  const noContext = host({ [PODMAN_VERSION]: { stdout: "4.3.1\n" } });
  assert.equal((await detectEngine("kubernetes", noContext)).kind, "podman");
});

test("detectEngine() with no engine is an error naming what to install, per target", async () => {
  for (const [target, install] of [["compose", /Docker Engine .*Podman/], ["kubernetes", /kubectl .*Podman/], ["podman", /apt-get install podman/]] as const) {
    await assert.rejects(detectEngine(target, host({})), (error: VoxError) => error instanceof VoxError && error.code === "E_NO_ENGINE" && install.test(error.hint ?? ""));
  }
});
