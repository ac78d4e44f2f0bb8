import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { formatChecksums, parseChecksums } from "./checksums.ts";
import { sha256File, sha256Hex } from "./sha256.ts";

test("formatChecksums() sorts by basename in byte order and GNU sha256sum -c accepts the result", async () => {
  const dir = mkdtempSync(join(tmpdir(), "vox-checksums-"));
  const files = { "vox-v1.0.0-x86_64-unknown-linux-gnu.tar.gz": "a", "Vox-upper.zip": "b", "vox-bootstrap-v1.0.0-x86_64-pc-windows-msvc.zip": "c" };
  const entries = [];
  for (const [name, content] of Object.entries(files)) {
    writeFileSync(join(dir, name), content);
    entries.push({ basename: name, sha256: (await sha256File(join(dir, name))).sha256 });
  }
  const text = formatChecksums(entries);
  assert.deepEqual(text.trimEnd().split("\n").map((l) => l.slice(66)), ["Vox-upper.zip", "vox-bootstrap-v1.0.0-x86_64-pc-windows-msvc.zip", "vox-v1.0.0-x86_64-unknown-linux-gnu.tar.gz"]);
  writeFileSync(join(dir, "checksums.txt"), text);
  assert.match(execFileSync("sha256sum", ["-c", "--strict", "checksums.txt"], { cwd: dir, encoding: "utf8" }), /vox-v1\.0\.0-x86_64-unknown-linux-gnu\.tar\.gz: OK/);
});

test("formatChecksums() refuses duplicates, paths and malformed digests", () => {
  const hex = "a".repeat(64);
  assert.throws(() => formatChecksums([{ basename: "x", sha256: hex }, { basename: "x", sha256: hex }]), /listed twice/);
  assert.throws(() => formatChecksums([{ basename: "dir/x", sha256: hex }]), /not a bare file name/);
  assert.throws(() => formatChecksums([{ basename: "x", sha256: "A".repeat(64) }]), /64 lowercase hex/);
});

test("parseChecksums() reads real sha256sum output: text mode, binary mode, CRLF and upper-case hex", () => {
  const dir = mkdtempSync(join(tmpdir(), "vox-checksums-"));
  writeFileSync(join(dir, "one"), "1");
  writeFileSync(join(dir, "two"), "2");
  const gnu = execFileSync("sha256sum", ["one", "two"], { cwd: dir, encoding: "utf8" });
  const binary = execFileSync("sha256sum", ["--binary", "one"], { cwd: dir, encoding: "utf8" });
  assert.deepEqual([...parseChecksums(gnu)], [["one", sha256Hex("1")], ["two", sha256Hex("2")]]);
  assert.equal(parseChecksums(binary).get("one"), sha256Hex("1"));
  assert.equal(parseChecksums(gnu.replaceAll("\n", "\r\n")).get("two"), sha256Hex("2"));
  assert.equal(parseChecksums(gnu.toUpperCase().replace(/ONE/, "one").replace(/TWO/, "two")).get("one"), sha256Hex("1"));
});

test("parseChecksums() names the file and line of anything malformed", () => {
  const hex = "b".repeat(64);
  const cases: Array<[string, RegExp]> = [
    [`${hex}  ok\nnot a line\n`, /sums\.txt line 2 is not/],
    [`${hex}  ../escape\n`, /line 1 names '\.\.\/escape', which is not a bare file name/],
    [`${hex}  a/b\n`, /not a bare file name/],
    [`${hex}  x\n${hex}  x\n`, /line 2 lists 'x' a second time/],
    [`${hex.slice(1)}  short\n`, /line 1 is not/],
    [`${hex}  x\n\n`, /line 2 is not/],
  ];
  for (const [text, expected] of cases) {
    assert.throws(() => parseChecksums(text, "sums.txt"), (error: Error & { code?: string }) => error.code === "E_CHECKSUMS_MALFORMED" && expected.test(error.message), text);
  }
});
