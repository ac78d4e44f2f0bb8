import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { memoryAuditSink } from "../../audit/mod.ts";
import { VoxError } from "../../errors/mod.ts";
import { fixedClock } from "../../io/mod.ts";
import { HOSTILE_CASES, layoutImage, snapshot, stageCase } from "../../tests/support/hostile_layers.ts";
import { DEFAULT_UNPACK_POLICY, parseUnpackPolicy, unpackImage } from "./mod.ts";

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
