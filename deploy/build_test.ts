import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { mkdir, mkdtemp, rm, symlink, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { mapEnv, type Spawner } from "../io/mod.ts";
import { DeflatePool } from "../archive/mod.ts";
import { openLayout, parseDocument, writeLayer } from "../oci/mod.ts";
import { collectInputs, loadProject } from "../pm/mod.ts";
import { type BuildSeams, buildImage, inputLayerEntry } from "./build.ts";

const noGit: Spawner = { run: async () => ({ code: 128, signal: null, stdout: "", stderr: "not a git repository", timedOut: false }) };

async function project(t: { after: (fn: () => Promise<void>) => void }, copies: string): Promise<{ root: string; seams: BuildSeams; logs: string[] }> {
  const root = await mkdtemp(join(tmpdir(), "vox-build-"));
  t.after(() => rm(root, { recursive: true, force: true }));
  await mkdir(join(root, "app"), { recursive: true });
  await mkdir(join(root, "bin"), { recursive: true });
  await writeFile(join(root, "app", "main.vox"), "fn main() {}\n");
  await writeFile(join(root, "bin", "tool-arm64"), "arm64 build\n", { mode: 0o755 });
  await writeFile(join(root, "Vox.toml"), `[package]\nname = "demo"\nversion = "1.2.3"\n\n[deploy]\nbase = "scratch"\nentrypoint = ["/app/main.vox"]\n${copies}`);
  const logs: string[] = [];
  const seams: BuildSeams = { cacheDir: join(root, "cache"), env: mapEnv({}), spawner: noGit, hostname: "test-host", toolVersion: "0.0.0-test", log: (line) => logs.push(line) };
  return { root, seams, logs };
}

const COPIES = '[[deploy.copy]]\nfrom = "app"\nto = "/app"\n\n[[deploy.copy]]\nfrom = "bin/tool-arm64"\nto = "/usr/local/bin/tool"\nplatform = "linux/arm64"\n';

test("buildImage() on scratch: same digest twice, the shared layer in both platforms, the arm64-only layer in one", async (t) => {
  const { root, seams, logs } = await project(t, COPIES);
  const first = await buildImage(await loadProject(root), { outputDir: join(root, "out1"), tag: "1.2.3", sourceDateEpoch: 0 }, seams);
  assert.match(logs.join("\n"), /vox\.lock updated/);
  const second = await buildImage(await loadProject(root), { outputDir: join(root, "out2"), tag: "1.2.3", sourceDateEpoch: 0, locked: true }, seams);
  assert.equal(second.indexDigest, first.indexDigest);
  assert.equal(second.lockUpdated, false);
  const layout = await openLayout(join(root, "out1"));
  assert.equal((await layout.resolveRef("1.2.3"))?.digest, first.indexDigest);
  const layersOf = async (digest: string) => {
    const doc = parseDocument(await layout.readBlob(digest as `sha256:${string}`), undefined);
    assert.equal(doc.kind, "manifest");
    return doc.kind === "manifest" ? doc.manifest.layers.map((l) => l.digest) : [];
  };
  const [amd64, arm64] = first.platforms;
  const amd64Layers = await layersOf(amd64!.manifest);
  const arm64Layers = await layersOf(arm64!.manifest);
  assert.equal(amd64Layers.length, 1);
  assert.equal(arm64Layers.length, 2);
  assert.equal(arm64Layers[0], amd64Layers[0], "the platform-independent layer is the same blob");
  assert.deepEqual(first.attachments.map((a) => a.artifactType), ["application/vnd.cyclonedx+json", "application/vnd.in-toto+json"]);
});

test("buildImage() with SOURCE_DATE_EPOCH changes the digest; without a lock, --locked refuses and names the missing lock", async (t) => {
  const { root, seams } = await project(t, COPIES);
  await assert.rejects(
    buildImage(await loadProject(root), { outputDir: join(root, "out"), tag: "x", sourceDateEpoch: 0, locked: true }, seams),
    (e: Error & { code?: string; hint?: string }) => e.code === "E_LOCK_STALE" && /vox\.lock does not exist/.test(e.message) && /vox lock/.test(e.hint ?? ""),
  );
  const at0 = await buildImage(await loadProject(root), { outputDir: join(root, "out"), tag: "x", sourceDateEpoch: 0 }, seams);
  const later = await buildImage(await loadProject(root), { outputDir: join(root, "out"), tag: "x", sourceDateEpoch: 1700000000 }, seams);
  assert.notEqual(later.indexDigest, at0.indexDigest);
});

test("inputLayerEntry() reads the hashed file again and refuses, without blocking, one swapped for a FIFO, a link or other bytes", async (t) => {
  const { root } = await project(t, COPIES);
  const layout = await openLayout(join(root, "layout"), { create: true });
  const pool = new DeflatePool(1);
  t.after(() => pool.close());
  const pack = async () => {
    const [inputs] = await collectInputs(root, [{ from: "app", to: "/app" }]);
    return { inputs: inputs!, source: inputs!.files.find((f) => f.type === "file")!.source };
  };
  const intact = await pack();
  const layer = await writeLayer(intact.inputs.files.map(inputLayerEntry), { mtime: 0, pool, blobs: layout });
  assert.equal(execFileSync("tar", ["-xzOf", layout.blobPath(layer.descriptor.digest), "app/main.vox"], { encoding: "utf8" }), "fn main() {}\n");
  const swaps: Array<[string, (path: string) => Promise<void>, RegExp]> = [
    ["fifo", async (path) => void execFileSync("mkfifo", [path]), /no longer a regular file/],
    ["link", async (path) => symlink("/etc/hostname", path), /now a symbolic link/],
    ["bytes", async (path) => writeFile(path, "fn main() {}\r"), /content differs from what was hashed/],
  ];
  for (const [label, swap, reason] of swaps) {
    const { inputs, source } = await pack();
    await unlink(source);
    await swap(source);
    await assert.rejects(writeLayer(inputs.files.map(inputLayerEntry), { mtime: 0, pool, blobs: layout }), (e: Error & { code?: string }) => e.code === "E_INPUT_CHANGED" && reason.test(e.message), label);
    await unlink(source);
    await writeFile(source, "fn main() {}\n");
  }
  assert.deepEqual(readdirSync(join(root, "layout", "blobs", "sha256")), [layer.descriptor.digest.slice("sha256:".length)], "a refused layer leaves no blob or temporary file");
});
