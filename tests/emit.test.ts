// The emit mapping is data (emit/mapping.ts): the README's table must be exactly the one generated from it.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { EMIT_MAPPING, renderMappingTable } from "../emit/mod.ts";
import { repoRoot } from "./support/helpers.ts";

function readmeTable(): string {
  const readme = readFileSync(join(repoRoot, "README.md"), "utf8");
  const match = /<!-- emit-mapping:begin[^>]*-->\n([\s\S]*?)<!-- emit-mapping:end -->/.exec(readme);
  assert.ok(match, "README.md has no emit-mapping block");
  return match[1]!.trimEnd();
}

test("the README's deploy-descriptor mapping table is the one generated from emit/mapping.ts", () => {
  assert.equal(readmeTable(), renderMappingTable());
});

test("the README table has one row per mapped field, and changing the data changes the table", () => {
  const rows = readmeTable().split("\n").filter((line) => line.startsWith("| `"));
  assert.deepEqual(rows.map((r) => /^\| `([^`]+)`/.exec(r)![1]), EMIT_MAPPING.map((m) => m.field));
  const original = EMIT_MAPPING[0]!.targets.compose;
  (EMIT_MAPPING[0]!.targets as Record<string, unknown>).compose = { not: "changed" };
  try {
    assert.notEqual(renderMappingTable(), readmeTable());
  } finally {
    (EMIT_MAPPING[0]!.targets as Record<string, unknown>).compose = original;
  }
});
