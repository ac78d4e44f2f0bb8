// `vox ci checksums` and `vox ci pm-provenance` through the real CLI: outputs, JSON and exit codes.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { runVoxSource, tempDir } from "./support/helpers.ts";

test("vox ci checksums writes checksums.txt for release archives only, which sha256sum -c accepts", () => {
  const dir = tempDir("sums");
  writeFileSync(join(dir, "vox-v1.0.0-x86_64-unknown-linux-gnu.tar.gz"), "a");
  writeFileSync(join(dir, "vox-bootstrap-v1.0.0-aarch64-pc-windows-msvc.zip"), "b");
  writeFileSync(join(dir, "notes.txt"), "not an asset");
  const result = runVoxSource(["ci", "checksums", dir]);
  assert.equal(result.status, 0, result.stderr);
  const written = readFileSync(join(dir, "checksums.txt"), "utf8");
  assert.equal(result.stdout, written);
  assert.deepEqual(written.trimEnd().split("\n").map((l) => l.slice(66)), ["vox-bootstrap-v1.0.0-aarch64-pc-windows-msvc.zip", "vox-v1.0.0-x86_64-unknown-linux-gnu.tar.gz"]);
  execFileSync("sha256sum", ["-c", "--strict", "checksums.txt"], { cwd: dir });
});

test("vox ci checksums fails clearly on a directory without archives and on a missing directory", () => {
  const empty = runVoxSource(["ci", "checksums", tempDir("empty")]);
  assert.equal(empty.status, 1);
  assert.match(empty.stderr, /holds no release archives/);
  const missing = runVoxSource(["ci", "checksums", join(tempDir("x"), "nope")]);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /ENOENT/);
});

test("vox ci pm-provenance reports invalid sidecars as warnings, and --strict turns them into exit 1", () => {
  const root = tempDir("pm");
  const dir = join(root, ".vox_modules", "provenance");
  mkdirSync(dir, { recursive: true });
  const valid = { schema: "vox.pm.provenance/1", package: "http", version: "1.0.0", content_hash: `sha256:${"0".repeat(64)}`, built_at_epoch: 1_700_000_000, tool: "vox 0.1.0", registry: "https://registry.vox.dev" };
  writeFileSync(join(dir, "http.json"), JSON.stringify(valid));
  const clean = runVoxSource(["ci", "pm-provenance", "--strict", "--root", root, "--json"]);
  assert.equal(clean.status, 0, clean.stderr);
  assert.equal(JSON.parse(clean.stdout).ok, true);
  writeFileSync(join(dir, "bad.json"), JSON.stringify({ ...valid, content_hash: "md5:abc" }));
  const lenient = runVoxSource(["ci", "pm-provenance", "--root", root]);
  assert.equal(lenient.status, 0);
  assert.match(lenient.stdout, /warn {2}bad\.json: field 'content_hash'/);
  const strict = runVoxSource(["ci", "pm-provenance", "--strict", "--root", root]);
  assert.equal(strict.status, 1);
  assert.match(strict.stderr, /error bad\.json: field 'content_hash'/);
  assert.match(strict.stderr, /1 valid, 1 invalid \(strict\)/);
});

test("vox ci pm-provenance --strict fails when there are no sidecars at all", () => {
  const result = runVoxSource(["ci", "pm-provenance", "--strict", "--root", tempDir("none")]);
  assert.equal(result.status, 1);
  assert.match(result.stderr, /no provenance directory at/);
});
