// `vox deploy up|down` through the CLI on a real Podman (the harness's service and storage): the engine detected
// and named, the layout-only image loaded by digest, each target answering its health check on loopback, and
// down leaving no container, pod, network or volume; no engine at all is an error naming what to install.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { bun, repoRoot, runAsync, tempDir } from "./support/helpers.ts";
import { freePort } from "./support/nginx.ts";
import { podmanWithWebImage, type RunningPodman, type WebImage } from "./support/podman.ts";

let podman: RunningPodman;
let web: WebImage;

before(async () => {
  ({ podman, web } = await podmanWithWebImage());
});

after(async () => {
  await podman?.stop();
});

/** vox from source in the project; KUBECONFIG names nothing, so kubectl has no context and Podman is chosen. */
function vox(args: readonly string[], env: Record<string, string> = {}) {
  return runAsync(bun, [join(repoRoot, "main.ts"), ...args], { cwd: web.project, env: { ...process.env, ...podman.env, KUBECONFIG: join(tempDir("kube"), "none"), ...env } });
}

/** The project's vox.platform.toml: webtest on a free port, a persistent volume and a tmpfs. */
async function platformFile(): Promise<number> {
  const port = await freePort();
  writeFileSync(join(web.project, "vox.platform.toml"), `schema = "vox.platform/v1"
[process]
cmd = ["${port}"]
[[ports]]
port = ${port}
exposure = "public"
[health]
kind = "http"
port = ${port}
path = "/healthz"
[[volumes]]
name = "data"
mount_path = "/data"
persistence = "persistent"
access = "read-only-many"
[[volumes]]
name = "scratch"
mount_path = "/scratch"
`);
  return port;
}

async function healthz(port: number): Promise<string> {
  for (let i = 0; ; i++) {
    try {
      return await (await fetch(`http://127.0.0.1:${port}/healthz`)).text();
    } catch (error) {
      if (i === 200) throw error;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

for (const target of ["compose", "kubernetes", "podman"] as const) {
  test(`vox deploy up --target ${target} names Podman, loads the layout-only image by digest, answers /healthz; down leaves nothing`, async () => {
    const port = await platformFile();
    podman.podman(["rmi", "--all", "--force"]);
    const up = await vox(["deploy", "up", "--target", target, "--image", web.image, "--json"]);
    try {
      assert.equal(up.status, 0, up.stderr);
      const report = JSON.parse(up.stdout) as { engine: { kind: string; description: string }; loaded_from: string | null };
      assert.equal(report.engine.kind, "podman");
      assert.match(up.stderr, target === "compose" ? /^engine: Podman 4\.\d+\.\d+ \(Docker API at unix:\/\/.+\), Compose: docker-compose/m : /^engine: Podman 4\.\d+\.\d+$/m);
      assert.equal(report.loaded_from, join(web.project, ".vox", "oci"));
      assert.equal(podman.podman(["image", "inspect", "--format", "{{.Digest}}", web.image]).trim(), web.digest);
      assert.equal(await healthz(port), "ok\n");
    } finally {
      const down = await vox(["deploy", "down", "--target", target, "--image", web.image]);
      assert.equal(down.status, 0, down.stderr);
      assert.match(down.stdout, /^webtest is down/);
    }
    assert.deepEqual(podman.leftovers(), { containers: [], pods: [], networks: [], volumes: [] });
    const again = await vox(["deploy", "up", "--target", target, "--image", web.image, "--json"]);
    await vox(["deploy", "down", "--target", target, "--image", web.image]);
    assert.equal(JSON.parse(again.stdout).loaded_from, null, "the second up finds the image in the store");
  });
}

test("vox deploy up with no engine on PATH is an error naming what to install (exit 1)", async () => {
  await platformFile();
  const result = await vox(["deploy", "up", "--target", "compose", "--image", web.image], { PATH: tempDir("empty-path") });
  assert.equal(result.status, 1);
  assert.match(result.stderr, /^error: Cannot run the compose target: no engine found \(looked for Docker .*then Podman/m);
  assert.match(result.stderr, /^hint: Install Docker Engine with the Compose plugin, or Podman with docker-compose/m);
});

test("vox deploy up --target compose on Podman without an API socket says how to start one", async () => {
  await platformFile();
  const result = await vox(["deploy", "up", "--target", "compose", "--image", web.image], { DOCKER_HOST: `unix://${join(tempDir("no-socket"), "none.sock")}` });
  assert.equal(result.status, 1);
  assert.match(result.stderr, /API socket is not listening/);
  assert.match(result.stderr, /^hint: Start it \(systemctl enable --now podman\.socket\)/m);
});

test("vox deploy up refuses an image not pinned by digest and an unknown target (exit 2)", async () => {
  const tag = await vox(["deploy", "up", "--target", "podman", "--image", "localhost/webtest:0.1.0"]);
  assert.equal(tag.status, 2);
  assert.match(tag.stderr, /descriptors pin the image by digest/);
  const unknown = await vox(["deploy", "up", "--target", "quadlet", "--image", web.image]);
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /^hint: Use --target compose\|kubernetes\|podman/m);
});
