import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { Digest } from "../oci/digest.ts";
import { ProjectFileError } from "./_toml_schema.ts";
import type { InputSet } from "./inputs.ts";
import { LOCK_HEADER, lockFromResolution, lockProblems, parseLock, readLock, renderLock, type ResolvedBase, type VoxLock, writeLock } from "./lock.ts";
import { parseManifest } from "./manifest.ts";

const digest = (c: string): Digest => `sha256:${c.repeat(64)}`;

const RESOLVED: ResolvedBase = {
  reference: "docker.io/library/alpine:3.20",
  digest: digest("a"),
  mediaType: "application/vnd.oci.image.index.v1+json",
  platforms: [
    { platform: "linux/arm64", digest: digest("c") },
    { platform: "linux/amd64", digest: digest("b") },
  ],
};

function inputSet(from: string, to: string, hash: Digest, platform?: string): InputSet {
  return { from, to, ...(platform ? { platform } : {}), files: [{ path: `${to.slice(1)}/x`, type: "file", mode: 0o644, size: 1, sha256: "0".repeat(64), source: `/p/${from}/x` }], hash };
}

const INPUTS = [inputSet("dist", "/app", digest("d")), inputSet("bin/arm", "/app/bin", digest("e"), "linux/arm64")];
const LOCK = lockFromResolution({ base: RESOLVED, inputs: INPUTS, assembly: "vox.oci/1", tool: "vox 0.1.0" });

const MANIFEST = parseManifest(`[package]
name = "app"
[deploy]
base = "docker.io/library/alpine:3.20"
[[deploy.copy]]
from = "dist"
to = "/app"
[[deploy.copy]]
from = "bin/arm"
to = "/app/bin"
platform = "linux/arm64"
`);

test("lockFromResolution() records the base, sorted platforms and one entry per input in order", () => {
  assert.deepEqual(LOCK, {
    version: 1,
    assembly: "vox.oci/1",
    tool: "vox 0.1.0",
    inputs: [
      { from: "dist", to: "/app", files: 1, hash: digest("d") },
      { from: "bin/arm", to: "/app/bin", platform: "linux/arm64", files: 1, hash: digest("e") },
    ],
    base: {
      reference: "docker.io/library/alpine:3.20",
      digest: digest("a"),
      media_type: "application/vnd.oci.image.index.v1+json",
      platforms: [
        { platform: "linux/amd64", digest: digest("b") },
        { platform: "linux/arm64", digest: digest("c") },
      ],
    },
  });
  assert.equal(lockFromResolution({ base: { ...RESOLVED, reference: "scratch" }, inputs: [], assembly: "a", tool: "t" }).base, undefined);
});

test("renderLock() output reads back to the same lock and renders to the same bytes", () => {
  const text = renderLock(LOCK);
  assert.ok(text.startsWith(`${LOCK_HEADER}\nversion = 1\nassembly = "vox.oci/1"\n`));
  assert.match(text, /\n\[\[base\.platforms\]\]\nplatform = "linux\/amd64"\n/);
  const read = parseLock(text);
  assert.deepEqual(read, LOCK);
  assert.equal(renderLock(read), text);
  const scratch = renderLock({ version: 1, assembly: "vox.oci/1", tool: "vox \u007f\"0\"", inputs: [] });
  assert.doesNotMatch(scratch, /\[base\]/);
  assert.equal(renderLock(parseLock(scratch)), scratch);
});

test("writeLock() and readLock() round-trip through a file byte for byte, leaving no temp file", async () => {
  const dir = await mkdtemp(join(tmpdir(), "vox-lock-"));
  const path = join(dir, "vox.lock");
  assert.equal(await readLock(path), undefined, "a missing lock is not an error");
  await writeLock(path, LOCK);
  const first = await readFile(path, "utf8");
  await writeLock(path, (await readLock(path))!);
  assert.equal(await readFile(path, "utf8"), first);
  assert.deepEqual(await readdir(dir), ["vox.lock"]);
});

test("readLock() names file, line and key of invalid content", async () => {
  const dir = await mkdtemp(join(tmpdir(), "vox-lock-"));
  const path = join(dir, "vox.lock");
  await writeFile(path, renderLock(LOCK).replace(`digest = "${digest("b")}"`, 'digest = "sha256:abc"').replace("version = 1", "version = 2").replace("files = 1\n", "files = 1\nextra = true\n"));
  await assert.rejects(readLock(path), (error: unknown) => {
    assert.ok(error instanceof ProjectFileError);
    assert.equal(error.code, "E_LOCK");
    assert.match(error.hint ?? "", /vox lock/);
    assert.deepEqual(error.problems, [
      `${path}:2: version: must be 1; this lock was written by a different vox (run \`vox lock\` with this one)`,
      `${path}:13: base.platforms[0].digest: must be 'sha256:' followed by 64 lowercase hex digits`,
      `${path}:23: inputs[0].extra: unknown key (known keys: from, to, platform, files, hash)`,
    ]);
    return true;
  });
  await writeFile(path, "version = 1\nassembly = \n");
  await assert.rejects(readLock(path), (error: unknown) => error instanceof ProjectFileError && error.problems[0]!.startsWith(`${path}:2:`));
});

test("lockProblems() is empty for a current lock, whatever tool version wrote it", () => {
  assert.deepEqual(lockProblems(MANIFEST, LOCK, INPUTS, { assembly: "vox.oci/1" }), []);
  assert.deepEqual(lockProblems(MANIFEST, { ...LOCK, tool: "vox 9.9.9" }, INPUTS, { assembly: "vox.oci/1" }), []);
});

test("lockProblems() names each stale input, the base, platforms and the assembly format", () => {
  const check = (manifest = MANIFEST, lock: VoxLock | undefined = LOCK, inputs = INPUTS, assembly = "vox.oci/1") => lockProblems(manifest, lock, inputs, { assembly });
  assert.deepEqual(check(MANIFEST, LOCK, [inputSet("dist", "/app", digest("f")), INPUTS[1]!]), [
    `input 'dist' → '/app' changed (locked sha256:dddddddddddd…, now sha256:ffffffffffff…)`,
  ]);
  assert.deepEqual(check(MANIFEST, LOCK, [...INPUTS, inputSet("assets", "/srv", digest("1"))]), ["input 'assets' → '/srv' is not in the lock"]);
  assert.deepEqual(check(MANIFEST, LOCK, [INPUTS[0]!]), ["input 'bin/arm' → '/app/bin' (linux/arm64) is locked but no longer in Vox.toml"]);
  assert.deepEqual(check(MANIFEST, LOCK, [INPUTS[1]!, INPUTS[0]!]), ["inputs are locked in a different order than [[deploy.copy]] lists them"]);
  assert.deepEqual(check(MANIFEST, LOCK, INPUTS, "vox.oci/2"), ["assembly format vox.oci/1 differs from vox.oci/2 (this vox writes other image bytes from the same inputs, so the lock no longer names what is built)"]);
  const withBase = (base: string, platforms = '["linux/amd64", "linux/arm64"]') => parseManifest(`[package]\nname = "app"\n[deploy]\nbase = "${base}"\nplatforms = ${platforms}\n`);
  assert.deepEqual(check(withBase("docker.io/library/alpine:3.21"), LOCK, []), [
    "base reference changed from 'docker.io/library/alpine:3.20' to 'docker.io/library/alpine:3.21'",
    "input 'dist' → '/app' is locked but no longer in Vox.toml",
    "input 'bin/arm' → '/app/bin' (linux/arm64) is locked but no longer in Vox.toml",
  ]);
  assert.deepEqual(check(withBase("scratch"), { ...LOCK, inputs: [] }, []), ["base reference changed from 'docker.io/library/alpine:3.20' to 'scratch'"]);
  const noBase = { ...LOCK, inputs: [] };
  delete noBase.base;
  assert.deepEqual(check(withBase("docker.io/library/alpine:3.20"), noBase, []), ["base 'docker.io/library/alpine:3.20' is not locked"]);
  const amd64Only = { ...LOCK, inputs: [], base: { ...LOCK.base!, platforms: [LOCK.base!.platforms[0]!] } };
  assert.deepEqual(check(withBase("docker.io/library/alpine:3.20"), amd64Only, []), ["platform linux/arm64 is not locked"]);
  assert.deepEqual(check(withBase("docker.io/library/alpine:3.20", '["linux/amd64"]'), { ...LOCK, inputs: [] }, []), ["platform linux/arm64 is locked but not in deploy.platforms"]);
  assert.deepEqual(lockProblems(MANIFEST, undefined, INPUTS, { assembly: "vox.oci/1" }), ["vox.lock does not exist"]);
});
