import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { memoryAuditSink } from "../../audit/mod.ts";
import { VoxError } from "../../errors/mod.ts";
import { fixedClock } from "../../io/mod.ts";
import { HOSTILE_CASES, layoutImage, snapshot, stageCase, writeLayout } from "../../tests/support/hostile_layers.ts";
import { DEFAULT_UNPACK_POLICY, parseUnpackPolicy, unpackImage } from "./mod.ts";
import { type WriteFile, writeRegularFile } from "./_writes.ts";

const work = mkdtempSync(join(tmpdir(), "vox-unpack-unit-"));
process.on("exit", () => rmSync(work, { recursive: true, force: true }));
const clock = fixedClock(new Date("2026-01-01T00:00:00Z"));

for (const [index, hostile] of HOSTILE_CASES.entries()) {
  test(`unpackImage() ${"refused" in hostile.expect ? "refuses" : "contains"} a hostile layer: ${hostile.name}`, async () => {
    const { sentinel, layout, bundle, snapshotBefore } = stageCase(join(work, `case-${index}`), hostile);
    const audit = memoryAuditSink(clock);
    const policy = hostile.policy ? parseUnpackPolicy(hostile.policy, "policy.toml") : DEFAULT_UNPACK_POLICY;
    const run = unpackImage(layoutImage(layout, "t"), bundle, { policy, audit, uid: 0, gid: 0 });
    if ("refused" in hostile.expect) {
      await assert.rejects(run, (error: unknown) => error instanceof VoxError && error.code === "E_UNPACK_REFUSED");
      assert.deepEqual(readdirSync(bundle), [], "nothing is left in the bundle");
      const refusal = audit.events.find((e) => e.kind === "refuse");
      assert.equal(refusal?.detail?.rule, hostile.expect.refused, JSON.stringify(refusal));
    } else {
      await run;
      hostile.expect.contained(join(bundle, "rootfs"), sentinel);
      assert.ok(readFileSync(join(bundle, "config.json"), "utf8").includes('"ociVersion"'));
    }
    assert.deepEqual(snapshot(sentinel), snapshotBefore, "the sentinel outside the bundle is unchanged");
  });
}

/** Background writes that start late, so every entry after them runs while they are still in flight. */
const slowWrite: WriteFile = async (file, data) => {
  await new Promise((resolve) => setTimeout(resolve, 25));
  await writeRegularFile(file, [data]);
};

test("unpackImage() keeps the archive's order while small files are written in the background", async () => {
  const layout = join(work, "order");
  // Each hazard comes right after the file it touches, while that file's write is still in flight.
  writeLayout(layout, "t", {
    layers: [
      {
        entries: [
          { name: "d/f1", text: "first" },
          { name: "d/f1", text: "second" },
          { name: "d/f2", text: "a file" },
          { name: "d/f2", type: "symlink", linkname: "f1" },
          { name: "d/f3", text: "linked" },
          { name: "h", type: "hardlink", linkname: "d/f3" },
          { name: "d/f5", text: "a file" },
          { name: "d/f5", type: "dir" },
          { name: "d/f5/child", text: "under a file's old name" },
          { name: "d/f6/", type: "dir" },
          { name: "d/f4", text: "whited out" },
          { name: "e/old", text: "lower" },
        ],
      },
      { entries: [{ name: "d/f7", text: "new" }, { name: "d/.wh.f4", text: "" }, { name: "d/f6", text: "a file where a directory was" }] },
      { entries: [{ name: "e/new", text: "after the opaque whiteout" }, { name: "e/.wh..wh..opq", text: "" }] },
    ],
  });
  const bundle = join(work, "order-bundle");
  await unpackImage(layoutImage(layout, "t"), bundle, { policy: DEFAULT_UNPACK_POLICY, audit: memoryAuditSink(clock), uid: 0, gid: 0, writeFile: slowWrite });
  const rootfs = join(bundle, "rootfs");
  const d = join(rootfs, "d");
  assert.equal(readFileSync(join(d, "f1"), "utf8"), "second", "the later entry of one name wins");
  assert.equal(readlinkSync(join(d, "f2")), "f1");
  assert.equal(readFileSync(join(rootfs, "h"), "utf8"), "linked", "the hard link took the file written just before it");
  assert.equal(readFileSync(join(d, "f5", "child"), "utf8"), "under a file's old name");
  assert.equal(readFileSync(join(d, "f6"), "utf8"), "a file where a directory was");
  assert.deepEqual(readdirSync(d).sort(), ["f1", "f2", "f3", "f5", "f6", "f7"], "the whiteout removed f4");
  assert.deepEqual(readdirSync(join(rootfs, "e")), ["new"]);
});

test("unpackImage() refuses a path under a file written just before it, and leaves nothing", async () => {
  const layout = join(work, "under-file");
  writeLayout(layout, "t", { layers: [{ entries: [...Array.from({ length: 8 }, (_, i) => ({ name: `a${i}`, text: "x" })), { name: "a7/inside", text: "y" }] }] });
  const bundle = join(work, "under-file-bundle");
  const audit = memoryAuditSink(clock);
  await assert.rejects(unpackImage(layoutImage(layout, "t"), bundle, { policy: DEFAULT_UNPACK_POLICY, audit, uid: 0, gid: 0, writeFile: slowWrite }), (error: unknown) => error instanceof VoxError && error.code === "E_UNPACK_REFUSED");
  assert.equal(audit.events.find((e) => e.kind === "refuse")?.detail?.rule, "parent");
  assert.deepEqual(readdirSync(bundle), []);
});
