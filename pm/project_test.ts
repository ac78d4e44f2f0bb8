import assert from "node:assert/strict";
import { mkdir, mkdtemp, realpath, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { VoxError } from "../errors/mod.ts";
import { lockFromResolution, renderLock } from "./lock.ts";
import { findProjectRoot, loadProject, type ProjectFs } from "./project.ts";

const MANIFEST = '[package]\nname = "app"\n[deploy]\nbase = "scratch"\n';

async function makeNestedProject(): Promise<{ root: string; nested: string }> {
  const root = await realpath(await mkdtemp(join(tmpdir(), "vox-project-")));
  const nested = join(root, "web", "src", "components");
  await mkdir(nested, { recursive: true });
  await writeFile(join(root, "Vox.toml"), MANIFEST);
  return { root, nested };
}

/** An in-memory filesystem that has exactly these files. */
const memoryFs = (files: string[]): ProjectFs => ({ isFile: async (path) => files.includes(path) });

test("findProjectRoot() searches upwards from a nested directory", async () => {
  const { root, nested } = await makeNestedProject();
  assert.equal(await findProjectRoot(nested), root);
  assert.equal(await findProjectRoot(root), root);
});

test("findProjectRoot() stops at the nearest Vox.toml", async () => {
  assert.equal(await findProjectRoot("/a/b/c/d", memoryFs(["/a/Vox.toml", "/a/b/c/Vox.toml"])), "/a/b/c");
  assert.equal(await findProjectRoot("/a/b/c/d", memoryFs(["/Vox.toml"])), "/", "the filesystem root is searched too");
});

test("findProjectRoot() names the start directory and says what to do when there is no project", async () => {
  await assert.rejects(findProjectRoot("/a/b", memoryFs(["/a/b/c/Vox.toml", "/x/Vox.toml"])), (error: unknown) => {
    assert.ok(error instanceof VoxError);
    assert.equal(error.code, "E_NO_PROJECT");
    assert.equal(error.message, "Cannot find Vox.toml in /a/b or any directory above it");
    assert.equal(error.hint, "Create a Vox.toml or run from inside a project");
    return true;
  });
});

test("loadProject() loads the manifest, and the lock only once it exists", async () => {
  const { root, nested } = await makeNestedProject();
  const before = await loadProject(nested);
  assert.deepEqual({ ...before, manifest: undefined }, { root, manifestPath: join(root, "Vox.toml"), manifest: undefined, lockPath: join(root, "vox.lock") });
  assert.equal(before.manifest.package.name, "app");
  assert.equal("lock" in before, false);
  const lock = lockFromResolution({ inputs: [], assembly: "vox.oci/1", tool: "vox 0.1.0" });
  await writeFile(join(root, "vox.lock"), renderLock(lock));
  assert.deepEqual((await loadProject(nested)).lock, lock);
});

test("loadProject() reports manifest problems with the manifest's path", async () => {
  const { root, nested } = await makeNestedProject();
  await writeFile(join(root, "Vox.toml"), '[package]\nname = "app"\n[deploy]\nbase = "ALPINE"\n');
  await assert.rejects(loadProject(nested), (error: unknown) => error instanceof VoxError && error.code === "E_MANIFEST" && error.message.includes(`${join(root, "Vox.toml")}:4: deploy.base: `));
});
