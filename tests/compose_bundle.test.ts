// Compose bundles end to end through the CLI: `vox deploy emit --target compose --push` publishes the webtest image's
// Compose file to docker-registry in Docker's compose-publish format, read back byte for byte with skopeo and by
// digest, then `vox deploy up|down --target compose --from <ref>` runs it on Podman (which pulls the pinned image).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { pushBusyboxBase } from "./support/base_image.ts";
import { bun, repoRoot, runAsync, tempDir } from "./support/helpers.ts";
import { freePort } from "./support/nginx.ts";
import { buildWebImage, type RunningPodman, startPodman, type WebImage } from "./support/podman.ts";
import { type RunningRegistry, startRegistry } from "./support/registry.ts";

let registry: RunningRegistry;
let podman: RunningPodman;
let web: WebImage;
/** `<registry>/apps/webtest@sha256:…`: the image the bundle pins. */
let image: string;
let port: number;

function vox(args: readonly string[], env: Record<string, string> = {}) {
  return runAsync(bun, [join(repoRoot, "main.ts"), ...args], { cwd: web.project, env: { ...process.env, ...podman.env, DOCKER_CONFIG: tempDir("no-docker-config"), SOURCE_DATE_EPOCH: "1700000000", KUBECONFIG: join(tempDir("kube"), "none"), ...env } });
}

function skopeoRaw(ref: string): Buffer {
  return execFileSync("skopeo", ["inspect", "--raw", "--tls-verify=false", `docker://${ref}`]);
}

const sha256 = (bytes: Uint8Array) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;

before(async () => {
  registry = await startRegistry();
  pushBusyboxBase(registry.host);
  web = await buildWebImage(registry.host);
  // Podman pulls the bundle's pinned image from this plain-HTTP registry, as an operator would configure it.
  const registriesConf = join(tempDir("registries"), "registries.conf");
  writeFileSync(registriesConf, `[[registry]]\nlocation = "${registry.host}"\ninsecure = true\n`);
  process.env.CONTAINERS_REGISTRIES_CONF = registriesConf;
  podman = await startPodman();
  execFileSync("skopeo", ["copy", "--quiet", "--all", "--dest-tls-verify=false", `oci:${join(web.project, ".vox", "oci")}:0.1.0`, `docker://${registry.host}/apps/webtest:0.1.0`]);
  image = `${registry.host}/apps/webtest@${web.digest}`;
  port = await freePort();
  writeFileSync(join(web.project, "vox.platform.toml"), `schema = "vox.platform/v1"\n[process]\ncmd = ["${port}"]\n[[ports]]\nport = ${port}\nexposure = "public"\n[health]\nkind = "http"\nport = ${port}\npath = "/healthz"\n[[volumes]]\nname = "data"\nmount_path = "/data"\n`);
});

after(async () => {
  await podman?.stop();
  await registry?.stop();
});

test("emit --push publishes Docker's compose-publish artifact: skopeo reads the manifest by tag and by digest, and the file blob is the emitted bytes", async () => {
  const emitted = await vox(["deploy", "emit", "--target", "compose", "--image", image]);
  assert.equal(emitted.status, 0, emitted.stderr);
  const bundle = `${registry.host}/bundles/webtest:1`;
  const result = await vox(["deploy", "emit", "--target", "compose", "--image", image, "--insecure", "--json", "--push", bundle]);
  assert.equal(result.status, 0, result.stderr);
  const { pushed } = JSON.parse(result.stdout) as { pushed: { reference: string; digest: string; artifact_type: string } };
  assert.equal(pushed.artifact_type, "application/vnd.docker.compose.project");
  assert.equal(pushed.reference, `${bundle}@${pushed.digest}`);

  const raw = skopeoRaw(bundle);
  assert.equal(sha256(raw), pushed.digest);
  assert.deepEqual(skopeoRaw(`${registry.host}/bundles/webtest@${pushed.digest}`), raw);
  const manifest = JSON.parse(raw.toString("utf8"));
  assert.deepEqual(Object.keys(manifest), ["schemaVersion", "mediaType", "artifactType", "config", "layers", "annotations"]);
  assert.equal(manifest.mediaType, "application/vnd.oci.image.manifest.v1+json");
  assert.equal(manifest.artifactType, "application/vnd.docker.compose.project");
  assert.deepEqual(manifest.config, { mediaType: "application/vnd.oci.empty.v1+json", digest: "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", size: 2, data: "e30=" });
  assert.deepEqual(manifest.annotations, { "org.opencontainers.image.created": "2023-11-14T22:13:20Z" });
  const [layer, ...rest] = manifest.layers;
  assert.equal(rest.length, 0);
  assert.equal(layer.mediaType, "application/vnd.docker.compose.file+yaml");
  assert.deepEqual(Object.keys(layer.annotations), ["com.docker.compose.file", "com.docker.compose.version"]);
  assert.equal(layer.annotations["com.docker.compose.file"], "compose.yaml");
  assert.match(layer.annotations["com.docker.compose.version"], /^vox \d+\.\d+\.\d+/);
  assert.equal(Buffer.from(layer.data, "base64").toString("utf8"), emitted.stdout);
  const blob = Buffer.from(await (await fetch(`http://${registry.host}/v2/bundles/webtest/blobs/${layer.digest}`)).arrayBuffer());
  assert.equal(blob.toString("utf8"), emitted.stdout);
  assert.equal(sha256(blob), layer.digest);
  assert.match(blob.toString("utf8"), new RegExp(`image: ${image.replace(/[.]/g, "\\.")}\\n`));

  const again = await vox(["deploy", "emit", "--target", "compose", "--image", image, "--insecure", "--json", "--push", bundle]);
  assert.equal((JSON.parse(again.stdout) as { pushed: { digest: string } }).pushed.digest, pushed.digest, "same input and SOURCE_DATE_EPOCH, same bundle");
});

test("up --from runs the published bundle on Podman (pulling the pinned image), and down --from removes it", async () => {
  const bundle = `${registry.host}/bundles/webtest-run:1`;
  assert.equal((await vox(["deploy", "emit", "--target", "compose", "--image", image, "--insecure", "--push", bundle])).status, 0);
  assert.throws(() => podman.podman(["image", "exists", image]));
  const up = await vox(["deploy", "up", "--target", "compose", "--from", bundle, "--insecure", "--json"]);
  assert.equal(up.status, 0, up.stderr + podman.logs());
  const report = JSON.parse(up.stdout) as { name: string; bundle: string };
  assert.equal(report.name, "webtest-run");
  assert.match(report.bundle, new RegExp(`^${registry.host}/bundles/webtest-run@sha256:[0-9a-f]{64}$`));
  assert.match(up.stderr, /^engine: Podman 4\.\d+\.\d+ \(Docker API at unix:\/\/.+\), Compose: docker-compose/m);
  let answer = "";
  for (let i = 0; i < 200 && answer === ""; i++) {
    answer = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.text(), () => "");
    if (answer === "") await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(answer, "ok\n");
  podman.podman(["image", "exists", image]);
  const down = await vox(["deploy", "down", "--target", "compose", "--from", bundle, "--insecure"]);
  assert.equal(down.status, 0, down.stderr);
  assert.deepEqual(podman.leftovers(), { containers: [], pods: [], networks: [], volumes: [] });
});

test("--push is for the compose target only, and --from refuses what is not a Compose bundle", async () => {
  const kube = await vox(["deploy", "emit", "--target", "kubernetes", "--image", image, "--insecure", "--push", `${registry.host}/bundles/k:1`]);
  assert.equal(kube.status, 2);
  assert.match(kube.stderr, /^error: Cannot --push kubernetes descriptors: only a Compose file is published as a bundle$/m);
  const notBundle = await vox(["deploy", "up", "--target", "compose", "--insecure", "--from", `${registry.host}/apps/webtest:0.1.0`]);
  assert.equal(notBundle.status, 1);
  assert.match(notBundle.stderr, /^error: Cannot run Compose bundle .*: it is an image index, not a Compose bundle \(application\/vnd\.docker\.compose\.project\)$/m);
  const mixed = await vox(["deploy", "up", "--target", "compose", "--image", image, "--from", `${registry.host}/bundles/webtest:1`]);
  assert.equal(mixed.status, 2);
  assert.match(mixed.stderr, /^error: Cannot use --from with --image/m);
});
