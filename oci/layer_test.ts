import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { gunzipSync } from "fflate";
import { sha256Digest } from "./digest.ts";
import { buildLayer, type LayerEntry } from "./layer.ts";

const bytes = (text: string) => new TextEncoder().encode(text);
const entries: LayerEntry[] = [
  { path: "app/bin/hello", type: "file", mode: 0o755, read: async () => bytes("#!/bin/sh\necho hello\n") },
  { path: "app/share/greeting.txt", type: "file", mode: 0o644, read: async () => bytes("hello") },
  { path: "app/current", type: "symlink", mode: 0o777, linkTarget: "bin/hello" },
  { path: `app/${"n".repeat(120)}.txt`, type: "file", mode: 0o600, read: async () => bytes("long") },
];

test("buildLayer() gives the same digest whatever order the entries come in", async () => {
  const a = await buildLayer(entries, { mtime: 1700000000 });
  const b = await buildLayer([...entries].reverse(), { mtime: 1700000000 });
  assert.equal(a.descriptor.digest, b.descriptor.digest);
  assert.equal(a.descriptor.digest, sha256Digest(a.blob));
  assert.equal(a.diffId, sha256Digest(gunzipSync(a.blob)));
  assert.notEqual((await buildLayer(entries, { mtime: 1700000001 })).descriptor.digest, a.descriptor.digest);
});

test("buildLayer() output, read by GNU tar: sorted, explicit parents, uid/gid 0 with empty names, modes and the epoch kept", async () => {
  const dir = mkdtempSync(join(tmpdir(), "vox-layer-"));
  try {
    const layer = await buildLayer(entries, { mtime: 1700000000 });
    writeFileSync(join(dir, "layer.tar.gz"), layer.blob);
    const listing = execFileSync("tar", ["--numeric-owner", "--full-time", "-tvzf", join(dir, "layer.tar.gz")], { encoding: "utf8", env: { ...process.env, TZ: "UTC" } }).trim().split("\n");
    const names = listing.map((line) => line.split(/\s+/)[5]);
    assert.deepEqual(names, ["app/", "app/bin/", "app/bin/hello", "app/current", `app/${"n".repeat(120)}.txt`, "app/share/", "app/share/greeting.txt"]);
    for (const line of listing) assert.match(line, /^\S+ 0\/0 .* 2023-11-14 22:13:20 /);
    assert.match(listing[0]!, /^drwxr-xr-x /);
    assert.match(listing[2]!, /^-rwxr-xr-x /);
    assert.match(listing[3]!, /^lrwxrwxrwx .* app\/current -> bin\/hello$/);
    assert.match(listing[4]!, /^-rw------- /);
    const owners = execFileSync("tar", ["-tvzf", join(dir, "layer.tar.gz")], { encoding: "utf8" });
    assert.doesNotMatch(owners, /root/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("buildLayer() refuses escaping paths and a file that is also a parent directory", async () => {
  await assert.rejects(buildLayer([{ path: "../etc/passwd", type: "file", mode: 0o644 }], { mtime: 0 }), (e: Error & { code?: string }) => e.code === "E_LAYER_PATH");
  await assert.rejects(buildLayer([{ path: "/abs", type: "file", mode: 0o644 }], { mtime: 0 }), (e: Error & { code?: string }) => e.code === "E_LAYER_PATH");
  await assert.rejects(
    buildLayer([{ path: "app", type: "file", mode: 0o644 }, { path: "app/x", type: "file", mode: 0o644 }], { mtime: 0 }),
    (e: Error & { code?: string }) => e.code === "E_LAYER_CONFLICT" && e.message.includes("'/app' is a file"),
  );
});

test("buildLayer() packs a 2000-level tree given only its deepest file: every level explicit, in order, named in full by PAX", async () => {
  const deepest = `${Array.from({ length: 2000 }, () => "d").join("/")}/f`;
  const layer = await buildLayer([{ path: deepest, type: "file", mode: 0o644, read: async () => bytes("bottom") }], { mtime: 0 });
  const dir = mkdtempSync(join(tmpdir(), "vox-layer-"));
  try {
    writeFileSync(join(dir, "layer.tar.gz"), layer.blob);
    const names = execFileSync("tar", ["-tzf", join(dir, "layer.tar.gz")], { encoding: "utf8", maxBuffer: 64 << 20 }).trim().split("\n");
    assert.equal(names.length, 2001);
    names.slice(0, 2000).forEach((name, i) => assert.equal(name, `${"d/".repeat(i + 1)}`));
    assert.equal(names[2000], deepest);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
