import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { crc32, packExecutable, tarBytes, zipBytes } from "./mod.ts";

const data = new TextEncoder().encode("#!/bin/sh\necho vox\n".repeat(1000));
const tmp = () => mkdtempSync(join(tmpdir(), "vox-archive-test-"));

test("crc32() matches the standard check value", () => {
  assert.equal(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
  assert.equal(crc32(new TextEncoder().encode("6789"), crc32(new TextEncoder().encode("12345"))), 0xcbf43926);
});

test("packExecutable('tar.gz') is byte-identical across calls and GNU tar lists one root-owned 0755 entry", () => {
  const a = packExecutable("tar.gz", { name: "vox", data, mtime: 1_700_000_000 });
  const b = packExecutable("tar.gz", { name: "vox", data: new Uint8Array(data), mtime: 1_700_000_000 });
  assert.deepEqual(a, b);
  const dir = tmp();
  writeFileSync(join(dir, "a.tar.gz"), a);
  const listing = execFileSync("tar", ["--utc", "-tvzf", join(dir, "a.tar.gz")], { encoding: "utf8" });
  assert.match(listing, /^-rwxr-xr-x root\/root\s+19000 2023-11-14 22:13 vox\n$/);
  const numeric = execFileSync("tar", ["--numeric-owner", "-tvzf", join(dir, "a.tar.gz")], { encoding: "utf8" });
  assert.match(numeric, /^-rwxr-xr-x 0\/0 /);
  execFileSync("tar", ["-xzf", "a.tar.gz"], { cwd: dir });
  assert.deepEqual(new Uint8Array(readFileSync(join(dir, "vox"))), data);
  assert.equal(statSync(join(dir, "vox")).mode & 0o777, 0o755);
});

test("packExecutable() changes when the content or the timestamp changes", () => {
  const base = packExecutable("tar.gz", { name: "vox", data, mtime: 1 });
  const flipped = new Uint8Array(data);
  flipped[10]! ^= 1;
  assert.notDeepEqual(packExecutable("tar.gz", { name: "vox", data: flipped, mtime: 1 }), base);
  assert.notDeepEqual(packExecutable("tar.gz", { name: "vox", data, mtime: 2 }), base);
});

test("tarBytes() writes pax records for long names that GNU tar reads back", () => {
  const long = `${"d".repeat(120)}/${"f".repeat(120)}`;
  const dir = tmp();
  writeFileSync(join(dir, "long.tar"), tarBytes([{ name: long, type: "file", mode: 0o644, mtime: 0, data }]));
  assert.equal(execFileSync("tar", ["-tf", join(dir, "long.tar")], { encoding: "utf8" }), `${long}\n`);
});

test("tarBytes() refuses names that leave the archive", () => {
  for (const name of ["/etc/passwd", "../x", "a/../../x", ""]) {
    assert.throws(() => tarBytes([{ name, type: "file", mode: 0o644, mtime: 0 }]), /Cannot write tar entry/);
  }
});

test("zipBytes() is deterministic whatever the time zone, and unzip sees a 0755 Unix entry with the right bytes", () => {
  const original = process.env.TZ;
  process.env.TZ = "Pacific/Kiritimati";
  const a = zipBytes([{ name: "vox.exe", data, mode: 0o755, mtime: 1_700_000_000 }]);
  process.env.TZ = "America/Adak";
  const b = zipBytes([{ name: "vox.exe", data, mode: 0o755, mtime: 1_700_000_000 }]);
  process.env.TZ = original;
  assert.deepEqual(a, b);
  const dir = tmp();
  writeFileSync(join(dir, "a.zip"), a);
  const info = execFileSync("unzip", ["-Z", join(dir, "a.zip")], { encoding: "utf8" });
  assert.match(info, /number of entries: 1/);
  assert.match(info, /-rwxr-xr-x .* unx\s+19000 .* 23-Nov-14 22:13 vox\.exe/);
  assert.deepEqual(new Uint8Array(execFileSync("unzip", ["-p", join(dir, "a.zip"), "vox.exe"])), data);
  execFileSync("unzip", ["-tq", join(dir, "a.zip")]);
});
