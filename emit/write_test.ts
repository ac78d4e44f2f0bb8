import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { writeEmitted } from "./write.ts";

const dir = () => mkdtempSync(join(tmpdir(), "emit-write-"));

test("writeEmitted() replaces what it wrote and removes what it no longer emits", async () => {
  const out = dir();
  await writeEmitted(out, [{ path: "a.container", content: "one" }, { path: "a-data.volume", content: "vol" }]);
  const second = await writeEmitted(out, [{ path: "a.container", content: "two" }]);
  assert.equal(readFileSync(join(out, "a.container"), "utf8"), "two");
  assert.deepEqual(second.removed, ["a-data.volume"]);
  assert.ok(!existsSync(join(out, "a-data.volume")));
});

test("writeEmitted() refuses to overwrite a file it did not write, or one edited since, and writes nothing", async () => {
  const out = dir();
  writeFileSync(join(out, "compose.yaml"), "mine");
  await assert.rejects(writeEmitted(out, [{ path: "compose.yaml", content: "x" }, { path: "other.yaml", content: "y" }]), (e: Error & { code?: string }) => e.code === "E_EMIT_OVERWRITE" && /compose\.yaml/.test(e.message));
  assert.equal(readFileSync(join(out, "compose.yaml"), "utf8"), "mine");
  assert.ok(!existsSync(join(out, "other.yaml")));
  const edited = dir();
  await writeEmitted(edited, [{ path: "k.yaml", content: "v1" }]);
  writeFileSync(join(edited, "k.yaml"), "hand edit");
  await assert.rejects(writeEmitted(edited, [{ path: "k.yaml", content: "v2" }]), /edited since/);
});
