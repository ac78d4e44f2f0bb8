import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { gunzipSync } from "node:zlib";
import { CHUNK_SIZE, DeflatePool, gzipDeterministic, tarBytes } from "../archive/mod.ts";
import { sha256Digest } from "./digest.ts";
import { type LayerEntry, writeLayer } from "./layer.ts";
import { openLayout } from "./layout.ts";

const bytes = (text: string) => new TextEncoder().encode(text);
const file = (path: string, mode: number, content: Uint8Array): LayerEntry => ({
  path,
  type: "file",
  mode,
  size: content.length,
  read: async function* () {
    // Pieces of an odd size: how a file is read must not show in the layer.
    for (let at = 0; at < content.length; at += 777_777) yield content.subarray(at, at + 777_777);
  },
});
const entries: LayerEntry[] = [
  file("app/bin/hello", 0o755, bytes("#!/bin/sh\necho hello\n")),
  file("app/share/greeting.txt", 0o644, bytes("hello")),
  { path: "app/current", type: "symlink", mode: 0o777, linkTarget: "bin/hello" },
  file(`app/${"n".repeat(120)}.txt`, 0o600, bytes("long")),
];

/** A fresh layout and pool for one layer: returns the layer and its blob read back from the layout. */
async function buildLayer(layerEntries: readonly LayerEntry[], options: { mtime: number; workers?: number }) {
  const layout = await openLayout(mkdtempSync(join(tmpdir(), "vox-layer-layout-")), { create: true });
  const pool = new DeflatePool(options.workers ?? 2);
  try {
    const layer = await writeLayer(layerEntries, { mtime: options.mtime, pool, blobs: layout });
    return { ...layer, blob: await layout.readBlob(layer.descriptor.digest) };
  } finally {
    await pool.close();
  }
}

test("writeLayer() gives the same digest whatever order the entries come in", async () => {
  const a = await buildLayer(entries, { mtime: 1700000000 });
  const b = await buildLayer([...entries].reverse(), { mtime: 1700000000 });
  assert.equal(a.descriptor.digest, b.descriptor.digest);
  assert.equal(a.descriptor.digest, sha256Digest(a.blob));
  assert.equal(a.descriptor.size, a.blob.length);
  assert.equal(a.diffId, sha256Digest(gunzipSync(a.blob)));
  assert.notEqual((await buildLayer(entries, { mtime: 1700000001 })).descriptor.digest, a.descriptor.digest);
});

test("writeLayer() of files spanning several chunks is the same with 1, 2 and 4 workers and equals gzipDeterministic() of the tar", async () => {
  const big = new Uint8Array(CHUNK_SIZE * 2 + 12345).map((_, i) => (i % 3 === 0 ? i & 0xff : (i * 2654435761) >>> 24));
  const layerEntries = [file("data/big.bin", 0o644, big), file("data/small.txt", 0o644, bytes("small"))];
  const layers = [];
  for (const workers of [1, 2, 4]) layers.push(await buildLayer(layerEntries, { mtime: 0, workers }));
  assert.equal(layers[1]!.descriptor.digest, layers[0]!.descriptor.digest);
  assert.equal(layers[2]!.descriptor.digest, layers[0]!.descriptor.digest);
  const tar = tarBytes([
    { name: "data", type: "directory", mode: 0o755, mtime: 0 },
    { name: "data/big.bin", type: "file", mode: 0o644, mtime: 0, data: big },
    { name: "data/small.txt", type: "file", mode: 0o644, mtime: 0, data: bytes("small") },
  ]);
  assert.equal(layers[0]!.descriptor.digest, sha256Digest(gzipDeterministic(tar)));
  assert.equal(layers[0]!.diffId, sha256Digest(tar));
});

test("writeLayer() refuses a file that yields more or fewer bytes than its size, and leaves nothing in the layout", async () => {
  const dir = mkdtempSync(join(tmpdir(), "vox-layer-layout-"));
  const layout = await openLayout(dir, { create: true });
  const pool = new DeflatePool(1);
  try {
    for (const content of [bytes("shorter"), bytes("much longer than declared")]) {
      await assert.rejects(
        writeLayer([{ ...file("app/x", 0o644, content), size: 10 }], { mtime: 0, pool, blobs: layout }),
        (e: Error & { code?: string }) => e.code === "E_INPUT_CHANGED" && e.message.includes("'/app/x' was 10 bytes when hashed"),
      );
    }
  } finally {
    await pool.close();
  }
  assert.deepEqual(readdirSync(join(dir, "blobs", "sha256")), []);
});

test("writeLayer() output, read by GNU tar: sorted, explicit parents, uid/gid 0 with empty names, modes and the epoch kept", async () => {
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

test("writeLayer() refuses escaping paths and a file that is also a parent directory", async () => {
  await assert.rejects(buildLayer([{ path: "../etc/passwd", type: "file", mode: 0o644 }], { mtime: 0 }), (e: Error & { code?: string }) => e.code === "E_LAYER_PATH");
  await assert.rejects(buildLayer([{ path: "/abs", type: "file", mode: 0o644 }], { mtime: 0 }), (e: Error & { code?: string }) => e.code === "E_LAYER_PATH");
  await assert.rejects(
    buildLayer([{ path: "app", type: "file", mode: 0o644 }, { path: "app/x", type: "file", mode: 0o644 }], { mtime: 0 }),
    (e: Error & { code?: string }) => e.code === "E_LAYER_CONFLICT" && e.message.includes("'/app' is a file"),
  );
});

test("writeLayer() packs a 2000-level tree given only its deepest file: every level explicit, in order, named in full by PAX", async () => {
  const deepest = `${Array.from({ length: 2000 }, () => "d").join("/")}/f`;
  const layer = await buildLayer([{ path: deepest, type: "file", mode: 0o644, size: 6, read: async function* () { yield bytes("bottom"); } }], { mtime: 0 });
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
