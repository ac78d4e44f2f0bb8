import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fixedClock } from "../io/mod.ts";
import { checkProvenanceDir, PROVENANCE_DIR, validateProvenance } from "./mod.ts";

const clock = fixedClock(new Date("2026-11-25T00:00:00Z"));
const valid = {
  schema: "vox.pm.provenance/1",
  package: "http",
  version: "1.4.0",
  content_hash: `sha256:${"ab".repeat(32)}`,
  built_at_epoch: 1_760_000_000,
  tool: "vox 0.1.0",
  registry: "https://registry.vox.dev",
};

test("validateProvenance() accepts a complete vox.pm.provenance/1 sidecar", () => {
  assert.deepEqual(validateProvenance(JSON.stringify(valid), clock).problems, []);
});

test("validateProvenance() names the field of every problem", () => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ ...valid, schema: "vox.pm.provenance/2" }, /field 'schema'/],
    [{ ...valid, version: "1.4" }, /field 'version': must be a semantic version/],
    [{ ...valid, content_hash: "ab".repeat(32) }, /field 'content_hash'/],
    [{ ...valid, built_at_epoch: -1 }, /field 'built_at_epoch'/],
    [{ ...valid, built_at_epoch: 4_000_000_000 }, /field 'built_at_epoch': 4000000000 is in the future/],
    [{ ...valid, registry: "ftp://x" }, /field 'registry'/],
    [{ ...valid, package: "../etc" }, /field 'package'/],
    [{ ...valid, tool: undefined }, /field 'tool'/],
  ];
  for (const [doc, pattern] of cases) {
    const { problems } = validateProvenance(JSON.stringify(doc), clock);
    assert.ok(problems.some((p) => pattern.test(p)), `${JSON.stringify(doc)} → ${problems.join("; ")}`);
  }
  assert.match(validateProvenance("{not json", clock).problems[0]!, /^not JSON/);
});

test("checkProvenanceDir() reports each sidecar and whether the directory exists", async () => {
  const root = mkdtempSync(join(tmpdir(), "vox-pm-"));
  assert.deepEqual(await checkProvenanceDir(root, clock), { dir: join(root, PROVENANCE_DIR), found: false, files: [] });
  mkdirSync(join(root, PROVENANCE_DIR), { recursive: true });
  writeFileSync(join(root, PROVENANCE_DIR, "http@1.4.0.json"), JSON.stringify(valid));
  writeFileSync(join(root, PROVENANCE_DIR, "bad.json"), JSON.stringify({ ...valid, version: "x" }));
  writeFileSync(join(root, PROVENANCE_DIR, "notes.txt"), "ignored");
  const report = await checkProvenanceDir(root, clock);
  assert.deepEqual(report.files.map((f) => [f.file, f.valid]), [["bad.json", false], ["http@1.4.0.json", true]]);
});
