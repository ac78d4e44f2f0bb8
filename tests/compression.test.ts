// Streaming, bounded-memory and machine-independent layer compression, end to end through the CLI: `vox deploy build`
// under Bun, Node (tsx), Deno and the compiled executable, with 1, 2 and 4 compression workers; the layers read by
// GNU gzip and tar, and by Go's readers through skopeo copy and umoci unpack. (Release archives: release_build.test.ts.)
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { compileArgv } from "../policy/mod.ts";
import { bun, repoRoot, tempDir } from "./support/helpers.ts";

const TOML = `[package]\nname = "sample"\nversion = "0.1.0"\n\n[deploy]\nbase = "scratch"\nplatforms = ["linux/amd64"]\nentrypoint = ["/data/run"]\n\n[[deploy.copy]]\nfrom = "data"\nto = "/data"\n`;
const RUNNERS: Record<string, string[]> = {
  bun: [bun, join(repoRoot, "main.ts")],
  node: [process.execPath, "--import", import.meta.resolve("tsx"), join(repoRoot, "main.ts")],
  deno: [join(repoRoot, "node_modules", ".bin", "deno"), "run", "--allow-all", "--quiet", join(repoRoot, "main.ts")],
};

function project(files: (data: string) => void): string {
  const dir = tempDir("compress-project");
  mkdirSync(join(dir, "data"));
  writeFileSync(join(dir, "Vox.toml"), TOML);
  files(join(dir, "data"));
  return dir;
}

function vox(runner: string[], args: readonly string[], cwd: string, env: Record<string, string> = {}) {
  const [command, ...rest] = runner;
  return spawnSync(command!, [...rest, ...args], { cwd, encoding: "utf8", env: { ...process.env, DENO_NO_UPDATE_CHECK: "1", ...env }, maxBuffer: 64 << 20 });
}

/** 3.5 MiB that compress about 2:1 (text runs between noise), so a layer spans four 1 MiB chunks. */
function sampleBytes(): Buffer {
  const out = Buffer.alloc(3.5 * 1048576);
  let state = 12345;
  for (let i = 0; i < out.length; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    out[i] = i % 100 < 50 ? 97 + (Math.floor(i / 100) % 26) : state >>> 24;
  }
  return out;
}

/** The first layer blob of the image `tag` names in an OCI layout (through its image index). */
function firstLayer(layout: string, tag: string): string {
  const blob = (digest: string) => join(layout, "blobs", "sha256", digest.slice("sha256:".length));
  const named = JSON.parse(readFileSync(join(layout, "index.json"), "utf8")).manifests.find((m: { annotations?: Record<string, string> }) => m.annotations?.["org.opencontainers.image.ref.name"] === tag);
  const imageIndex = JSON.parse(readFileSync(blob(named.digest), "utf8"));
  const manifest = JSON.parse(readFileSync(blob(imageIndex.manifests[0].digest), "utf8"));
  return blob(manifest.layers[0].digest);
}

test("vox deploy build's peak RSS stays far below the size of a 320 MiB file it packs (it held the file, the tar and the gzip: 1 GiB)", () => {
  const dir = project((data) => {
    writeFileSync(join(data, "zeros.bin"), "");
    truncateSync(join(data, "zeros.bin"), 320 << 20);
  });
  assert.equal(vox(RUNNERS.bun!, ["lock"], dir).status, 0);
  const timed = spawnSync("/usr/bin/time", ["-f", "%M", ...RUNNERS.bun!, "deploy", "build", "--locked", "--json"], { cwd: dir, encoding: "utf8" });
  assert.equal(timed.status, 0, timed.stderr);
  const peakMiB = Number(timed.stderr.trim().split("\n").at(-1)) / 1024;
  assert.ok(peakMiB < 256, `peak RSS ${peakMiB.toFixed(0)} MiB, over 256 MiB`);
  const listing = execFileSync("tar", ["-tvzf", firstLayer(join(dir, ".vox", "oci"), "0.1.0")], { encoding: "utf8" });
  assert.match(listing, /-rw-r--r-- 0\/0\s+335544320 .* data\/zeros\.bin\n/);
});

test("a vox.lock written for an earlier assembly format (vox.oci/3) is stale with that reason: --locked refuses it, a plain build relocks", () => {
  const dir = project((data) => writeFileSync(join(data, "run"), "#!/bin/sh\n"));
  assert.equal(vox(RUNNERS.bun!, ["lock"], dir).status, 0);
  const lock = join(dir, "vox.lock");
  writeFileSync(lock, readFileSync(lock, "utf8").replace(/^assembly = ".*"$/m, 'assembly = "vox.oci/3"'));
  const refused = vox(RUNNERS.bun!, ["deploy", "build", "--locked"], dir);
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /vox\.lock is stale:\n {2}- assembly format vox\.oci\/3 differs from vox\.oci\/4 \(this vox writes other image bytes from the same inputs/);
  const relocked = vox(RUNNERS.bun!, ["deploy", "build"], dir);
  assert.equal(relocked.status, 0, relocked.stderr);
  assert.match(readFileSync(lock, "utf8"), /^assembly = "vox\.oci\/4"$/m);
});

test("the image digest is the same from Bun, Node, Deno and the compiled vox with 1, 2 and 4 workers; gzip, tar, skopeo and umoci read the layer", async (t) => {
  const sample = sampleBytes();
  const dir = project((data) => {
    writeFileSync(join(data, "sample.bin"), sample);
    writeFileSync(join(data, "run"), "#!/bin/sh\necho run\n", { mode: 0o755 });
    symlinkSync("sample.bin", join(data, "link"));
  });
  assert.equal(vox(RUNNERS.bun!, ["lock"], dir).status, 0);
  const bin = tempDir("compiled");
  await t.test("bun build --compile embeds the compression worker", () => {
    const argv = compileArgv({ bun: [bun], bunTarget: "bun", entry: "main.ts", outfile: join(bin, "vox"), defines: { version: "0.1.0", trustedKeys: [] } });
    const compiled = spawnSync(argv[0]!, argv.slice(1), { cwd: repoRoot, encoding: "utf8" });
    assert.equal(compiled.status, 0, compiled.stderr);
  });
  const runs: Array<[string, string[], string]> = [
    ["bun", RUNNERS.bun!, "1"],
    ["bun", RUNNERS.bun!, "4"],
    ["node", RUNNERS.node!, "2"],
    ["deno", RUNNERS.deno!, "4"],
    ["compiled", [join(bin, "vox")], "1"],
    ["compiled", [join(bin, "vox")], "2"],
    ["compiled", [join(bin, "vox")], "4"],
  ];
  const digests = new Map<string, string>();
  for (const [label, runner, workers] of runs) {
    const built = vox(runner, ["deploy", "build", "--locked", "--json", "--output", `oci:${join(dir, `out-${label}-${workers}`)}:x`], dir, { VOX_COMPRESSION_WORKERS: workers });
    assert.equal(built.status, 0, `${label} with ${workers} workers: ${built.stderr}`);
    digests.set(`${label} with ${workers} workers`, JSON.parse(built.stdout).index_digest);
  }
  assert.equal(new Set(digests.values()).size, 1, JSON.stringify(Object.fromEntries(digests), null, 2));

  const layout = join(dir, "out-compiled-2");
  const layer = firstLayer(layout, "x");
  execFileSync("gzip", ["-t", layer]);
  const extracted = tempDir("gnu-tar");
  execFileSync("tar", ["-xzf", layer, "-C", extracted]);
  assert.ok(readFileSync(join(extracted, "data", "sample.bin")).equals(sample));
  const copied = join(tempDir("skopeo"), "copy");
  execFileSync("skopeo", ["copy", "--quiet", `oci:${layout}:x`, `oci:${copied}:x`]);
  const unpacked = join(tempDir("umoci"), "bundle");
  execFileSync("umoci", ["unpack", "--image", `${copied}:x`, unpacked]);
  assert.ok(readFileSync(join(unpacked, "rootfs", "data", "sample.bin")).equals(sample));
  assert.equal(execFileSync("readlink", [join(unpacked, "rootfs", "data", "link")], { encoding: "utf8" }), "sample.bin\n");
});
