// Dependencies point one way: entry points → commands → domain modules → plumbing. This test reads every
// import so that a wrong-way import fails here, not in review.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { test } from "node:test";
import { repoRoot } from "./support/helpers.ts";

const PLUMBING = new Set(["errors", "io", "cli", "archive", "integrity", "binary", "build", "download", "runtime"]);
const DOMAIN = new Set(["policy", "release", "pm", "bootstrap", "providers", "upgrade", "oci", "deploy", "mirror", "releases", "platform", "emit", "engines", "audit", "microvm", "gates", "run"]);
const ENTRY_FILES = new Set(["main.ts", "bootstrap/main.ts"]);
const SKIP = new Set(["node_modules", ".git", "tests", "scripts", "bench", "dist"]);

function sourceFiles(dir = repoRoot): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.isDirectory()) return SKIP.has(entry.name) ? [] : sourceFiles(join(dir, entry.name));
    return entry.name.endsWith(".ts") && !entry.name.endsWith("_test.ts") ? [relative(repoRoot, join(dir, entry.name))] : [];
  });
}

function localImports(file: string): string[] {
  const text = readFileSync(join(repoRoot, file), "utf8");
  return [...text.matchAll(/(?:from|import)\s*\(?\s*"(\.[^"]+)"/g)].map((m) => relative(repoRoot, join(dirname(join(repoRoot, file)), m[1]!)));
}

function layerOf(file: string): "entry" | "commands" | "domain" | "plumbing" {
  if (ENTRY_FILES.has(file)) return "entry";
  const top = file.split("/")[0]!;
  if (top === "commands") return "commands";
  if (DOMAIN.has(top)) return "domain";
  if (PLUMBING.has(top)) return "plumbing";
  throw new Error(`${file} is in no known layer; add its folder to tests/architecture.test.ts`);
}

const RANK = { entry: 3, commands: 2, domain: 1, plumbing: 0 } as const;

test("imports only point down: entry → commands → domain → plumbing", () => {
  const violations: string[] = [];
  for (const file of sourceFiles()) {
    for (const target of localImports(file)) {
      if (RANK[layerOf(target)] > RANK[layerOf(file)]) violations.push(`${file} (${layerOf(file)}) imports ${target} (${layerOf(target)})`);
    }
  }
  assert.deepEqual(violations, []);
});

function startsWithTwoCommentLines(file: string): boolean {
  const [first, second] = readFileSync(join(repoRoot, file), "utf8").split("\n");
  return Boolean(first?.startsWith("// ") && second?.startsWith("// "));
}

test("every folder's entry file (and every lazily loaded command file) starts with two lines saying what it owns", () => {
  const files = sourceFiles();
  const folders = new Set(files.map((f) => f.split("/")[0]!).filter((top) => !top.endsWith(".ts") && top !== "commands"));
  for (const folder of folders) {
    const entry = ["mod.ts", "main.ts", "constants.ts"].map((name) => join(folder, name)).find((f) => files.includes(f));
    assert.ok(entry, `${folder}/ has no mod.ts`);
    assert.ok(startsWithTwoCommentLines(entry), `${entry} must start with two '// ' lines`);
  }
  for (const file of files.filter((f) => f.startsWith("commands/"))) assert.ok(startsWithTwoCommentLines(file), `${file} must start with two '// ' lines`);
});
