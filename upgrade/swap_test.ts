import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { cleanLeftovers, parkedPath, previousPath, swapIn, swapWithPrevious } from "./swap.ts";

test("previousPath() keeps the .exe suffix last on Windows names", () => {
  assert.equal(previousPath("/opt/vox/vox"), "/opt/vox/vox.previous");
  assert.equal(previousPath("C:/vox/vox.exe"), "C:/vox/vox.previous.exe");
});

for (const platform of ["linux", "win32"] as const) {
  test(`swapIn() on ${platform} installs the staged binary and keeps the old one as previous; swapWithPrevious() swaps back and forth`, async () => {
    const dir = mkdtempSync(join(tmpdir(), "vox-swap-"));
    const target = join(dir, "vox");
    const staged = join(dir, "staged");
    writeFileSync(target, "old\n", { mode: 0o755 });
    writeFileSync(staged, "new\n", { mode: 0o755 });
    let checkpointed = false;
    await swapIn(target, staged, { platform, afterPreviousKept: async () => void (checkpointed = readFileSync(previousPath(target), "utf8") === "old\n") });
    assert.ok(checkpointed, "previous is whole before the target changes");
    assert.equal(readFileSync(target, "utf8"), "new\n");
    assert.equal(readFileSync(previousPath(target), "utf8"), "old\n");
    assert.equal(statSync(target).mode & 0o777, 0o755);
    await swapWithPrevious(target, platform);
    assert.deepEqual([readFileSync(target, "utf8"), readFileSync(previousPath(target), "utf8")], ["old\n", "new\n"]);
    await swapWithPrevious(target, platform);
    assert.deepEqual([readFileSync(target, "utf8"), readFileSync(previousPath(target), "utf8")], ["new\n", "old\n"]);
    if (platform === "win32") await cleanLeftovers(target);
    assert.deepEqual(readdirSync(dir).sort(), ["vox", "vox.previous"]);
  });
}

test("swapIn() twice in a row (previous already the same file) leaves no temp file behind", async () => {
  const dir = mkdtempSync(join(tmpdir(), "vox-swap-"));
  const target = join(dir, "vox");
  writeFileSync(target, "one\n");
  writeFileSync(join(dir, "a"), "two\n");
  await swapIn(target, join(dir, "a"));
  writeFileSync(join(dir, "b"), "three\n");
  await swapIn(target, join(dir, "b"));
  assert.deepEqual(readdirSync(dir).sort(), ["vox", "vox.previous"]);
  assert.equal(readFileSync(previousPath(target), "utf8"), "two\n");
});

test("cleanLeftovers() removes staging directories, write-beside temps and a parked .exe, nothing else", async () => {
  const dir = mkdtempSync(join(tmpdir(), "vox-swap-"));
  const target = join(dir, "vox.exe");
  for (const name of ["vox.exe", "vox.previous.exe", "notes.txt", ".vox.previous.exe.tmp-123-0a1b2c3d"]) writeFileSync(join(dir, name), name);
  writeFileSync(parkedPath(target), "parked");
  mkdirSync(join(dir, ".vox-upgrade-abc123"));
  await cleanLeftovers(target);
  assert.deepEqual(readdirSync(dir).sort(), ["notes.txt", "vox.exe", "vox.previous.exe"]);
});

