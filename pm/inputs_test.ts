import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmod, cp, mkdir, mkdtemp, rename, symlink, unlink, utimes, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { VoxError } from "../errors/mod.ts";
import { collectInputs, type CopyEntry, excludeMatcher, inputSetHash } from "./inputs.ts";

const BIG = Buffer.alloc(3 * 1024 * 1024 + 17, 7); // larger than one read chunk

/** A project with a directory to copy: files, an executable, a subdirectory, a link and a large file. */
async function makeProject(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "vox-inputs-"));
  await mkdir(join(root, "dist", "lib"), { recursive: true });
  await writeFile(join(root, "dist", "index.js"), "console.log('hi')\n");
  await writeFile(join(root, "dist", "run.sh"), "#!/bin/sh\n", { mode: 0o755 });
  await chmod(join(root, "dist", "run.sh"), 0o755);
  await writeFile(join(root, "dist", "lib", "util.js"), "export {}\n");
  await writeFile(join(root, "dist", "big.bin"), BIG);
  await writeFile(join(root, "dist", "B-upper.txt"), "sorted before lower case by bytes\n");
  await symlink("lib/util.js", join(root, "dist", "current"));
  await writeFile(join(root, "server"), "binary");
  return root;
}

const APP: CopyEntry[] = [{ from: "dist", to: "/app" }];

test("collectInputs() lists a directory under `to`, sorted by bytes, with normalised modes, sizes and hashes", async () => {
  const root = await makeProject();
  const [set] = await collectInputs(root, APP);
  assert.deepEqual(
    set!.files.map((f) => [f.path, f.type, f.mode.toString(8), f.size]),
    [
      ["app/B-upper.txt", "file", "644", 34],
      ["app/big.bin", "file", "644", BIG.length],
      ["app/current", "symlink", "777", 0],
      ["app/index.js", "file", "644", 18],
      ["app/lib", "directory", "755", 0],
      ["app/lib/util.js", "file", "644", 10],
      ["app/run.sh", "file", "755", 10],
    ],
  );
  const big = set!.files.find((f) => f.path === "app/big.bin")!;
  assert.equal(big.sha256, createHash("sha256").update(BIG).digest("hex"));
  assert.equal(big.source, join(root, "dist", "big.bin"));
  assert.equal(set!.files.find((f) => f.type === "symlink")!.linkTarget, "lib/util.js");
  assert.match(set!.hash, /^sha256:[0-9a-f]{64}$/);
  assert.equal(set!.hash, inputSetHash(set!.files));
});

test("collectInputs() puts a file at `to`, or inside `to` when it ends with '/', with the entry's explicit mode", async () => {
  const root = await makeProject();
  const [exact, inside, withDir] = await collectInputs(root, [
    { from: "server", to: "/usr/bin/shop", mode: 0o750, platform: "linux/arm64" },
    { from: "server", to: "/usr/bin/" },
    { from: "dist/lib", to: "/lib", mode: 0o600 },
  ]);
  assert.deepEqual(exact!.files.map((f) => [f.path, f.mode]), [["usr/bin/shop", 0o750]]);
  assert.equal(exact!.platform, "linux/arm64");
  assert.deepEqual(inside!.files.map((f) => f.path), ["usr/bin/server"]);
  assert.deepEqual(withDir!.files.map((f) => [f.path, f.mode]), [["lib/util.js", 0o600]]);
  assert.notEqual(exact!.hash, inside!.hash, "the destination is part of the hash");
});

test("collectInputs() hashes the same for a copy of the tree with other mtimes, permissions (same exec bits) and location", async () => {
  const root = await makeProject();
  const copy = await mkdtemp(join(tmpdir(), "vox-inputs-copy-"));
  await cp(join(root, "dist"), join(copy, "dist"), { recursive: true, verbatimSymlinks: true });
  await chmod(join(copy, "dist", "index.js"), 0o600); // a stricter umask, exec bit unchanged
  await chmod(join(copy, "dist", "run.sh"), 0o700);
  await utimes(join(copy, "dist", "big.bin"), new Date("2001-01-01"), new Date("2001-01-01"));
  await utimes(join(copy, "dist", "lib"), new Date("2002-01-01"), new Date("2002-01-01"));
  const [original] = await collectInputs(root, APP);
  const [copied] = await collectInputs(copy, APP);
  assert.equal(copied!.hash, original!.hash);
});

test("collectInputs() hash changes with one byte, a rename, an exec bit and an added file", async () => {
  const baseline = (await collectInputs(await makeProject(), APP))[0]!.hash;
  const changed = async (edit: (dist: string) => Promise<void>) => {
    const root = await makeProject();
    await edit(join(root, "dist"));
    return (await collectInputs(root, APP))[0]!.hash;
  };
  const oneByte = Buffer.from(BIG);
  oneByte[BIG.length - 1] = 8;
  const variants = {
    oneByte: await changed((dist) => writeFile(join(dist, "big.bin"), oneByte)),
    rename: await changed((dist) => rename(join(dist, "index.js"), join(dist, "main.js"))),
    execBit: await changed((dist) => chmod(join(dist, "index.js"), 0o744)),
    added: await changed((dist) => writeFile(join(dist, "lib", ".keep"), "")),
    linkTarget: await changed(async (dist) => {
      await unlink(join(dist, "current"));
      await symlink("lib/other.js", join(dist, "current"));
    }),
  };
  for (const [what, hash] of Object.entries(variants)) assert.notEqual(hash, baseline, `${what} changes the hash`);
  assert.equal(new Set(Object.values(variants)).size, Object.keys(variants).length);
});

test("collectInputs() refuses a `from` reached through a symlink that leaves the project", async () => {
  const root = await makeProject();
  const outside = await mkdtemp(join(tmpdir(), "vox-outside-"));
  await mkdir(join(outside, "secrets"));
  await writeFile(join(outside, "secrets", "key"), "do not ship");
  await symlink(outside, join(root, "vendor"));
  await assert.rejects(collectInputs(root, [{ from: "vendor/secrets", to: "/s" }]), (error: unknown) => {
    assert.ok(error instanceof VoxError);
    assert.equal(error.code, "E_INPUT");
    assert.match(error.message, /Cannot copy 'vendor\/secrets' into the image: .*outside the project .* through a symbolic link/);
    return true;
  });
  const [link] = await collectInputs(root, [{ from: "vendor", to: "/vendor" }]);
  assert.deepEqual(link!.files.map((f) => [f.path, f.type, f.linkTarget]), [["vendor", "symlink", outside]], "a `from` that is itself a link is copied as the link, not followed");
});

test("collectInputs() refuses `..`, missing paths and special files with the entry named", async () => {
  const root = await makeProject();
  await assert.rejects(collectInputs(root, [{ from: "../x", to: "/x" }]), /Cannot copy '\.\.\/x' into the image: it must be a relative path inside the project/);
  await assert.rejects(collectInputs(root, [{ from: "nope", to: "/x" }]), /Cannot copy 'nope' into the image: it does not exist/);
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(join(root, "dist", "lib", "ctl.sock"), resolve));
  try {
    await assert.rejects(collectInputs(root, APP), /Cannot copy 'dist' into the image: .*ctl\.sock is a fifo, socket or device/);
  } finally {
    server.close();
  }
});

test("collectInputs() of the whole project leaves out vox.lock, whose content depends on the hash", async () => {
  const root = await makeProject();
  await writeFile(join(root, "vox.lock"), "version = 1\n");
  const [whole] = await collectInputs(root, [{ from: ".", to: "/src" }]);
  assert.ok(whole!.files.some((f) => f.path === "src/server"));
  assert.ok(!whole!.files.some((f) => f.path === "src/vox.lock"));
  await writeFile(join(root, "vox.lock"), "version = 1\n# rewritten\n");
  assert.equal((await collectInputs(root, [{ from: "./", to: "/src" }]))[0]!.hash, whole!.hash);
  await assert.rejects(collectInputs(root, [{ from: "vox.lock", to: "/vox.lock" }]), /vox\.lock records the inputs' hashes/);
});

test("collectInputs() lists every one of many small files and a large one", async () => {
  const root = await mkdtemp(join(tmpdir(), "vox-inputs-many-"));
  for (let d = 0; d < 20; d++) {
    await mkdir(join(root, "tree", `d${d}`), { recursive: true });
    await Promise.all(Array.from({ length: 100 }, (_, f) => writeFile(join(root, "tree", `d${d}`, `f${f}.txt`), `file ${d}/${f}\n`.repeat(50))));
  }
  await writeFile(join(root, "tree", "large.bin"), Buffer.alloc(64 * 1024 * 1024, 1));
  const [set] = await collectInputs(root, [{ from: "tree", to: "/t" }]);
  assert.equal(set!.files.length, 20 + 2000 + 1);
  assert.equal(set!.files.find((f) => f.path === "t/large.bin")?.size, 64 * 1024 * 1024);
});

test("collectInputs() never reads through a directory swapped for a symlink between the walk and the read", async () => {
  const root = await makeProject();
  const outside = await mkdtemp(join(tmpdir(), "vox-outside-"));
  await writeFile(join(outside, "util.js"), "export {}\n"); // same size as the real one: only its identity tells them apart
  await writeFile(join(outside, "secret"), "do not ship\n");
  const swap = async () => {
    await rename(join(root, "dist", "lib"), join(root, "lib-moved"));
    await symlink(outside, join(root, "dist", "lib"));
  };
  await assert.rejects(collectInputs(root, APP, { checkpoint: swap, keepContent: true }), (error: unknown) => {
    assert.ok(error instanceof VoxError);
    assert.equal(error.code, "E_INPUT_CHANGED");
    assert.match(error.message, /dist\/lib\/util\.js changed while it was being read .*swapped for a link/);
    return true;
  });
});

test("collectInputs() refuses a file swapped for a FIFO after the walk without blocking on it, and keeps exactly the bytes it hashed", async () => {
  const root = await makeProject();
  const fifo = async () => {
    await unlink(join(root, "dist", "index.js"));
    execFileSync("mkfifo", [join(root, "dist", "index.js")]);
  };
  await assert.rejects(collectInputs(root, APP, { checkpoint: fifo }), (error: unknown) => error instanceof VoxError && error.code === "E_INPUT_CHANGED");
  const fresh = await makeProject();
  const [set] = await collectInputs(fresh, APP, { keepContent: true });
  const big = set!.files.find((f) => f.path === "app/big.bin")!;
  assert.deepEqual(Buffer.from(big.content!), BIG);
  assert.equal(createHash("sha256").update(big.content!).digest("hex"), big.sha256);
  assert.equal((await collectInputs(fresh, APP))[0]!.files.find((f) => f.path === "app/big.bin")!.content, undefined);
});

test("collectInputs() leaves out .git, .vox and image layouts at any depth, and the entry's `exclude` patterns", async () => {
  const root = await makeProject();
  for (const dir of [".git", ".vox/oci", "dist/.git", "out/image/blobs", "logs/deep"]) await mkdir(join(root, dir), { recursive: true });
  await writeFile(join(root, ".git", "config"), "[remote]\nurl = https://token@example.com\n");
  await writeFile(join(root, "out", "image", "oci-layout"), '{"imageLayoutVersion":"1.0.0"}');
  await writeFile(join(root, "logs", "deep", "a.log"), "x");
  await writeFile(join(root, "logs", "keep.txt"), "x");
  await writeFile(join(root, "dist", "lib", "a.tmp"), "x");
  const [set] = await collectInputs(root, [{ from: ".", to: "/src", exclude: ["*.log", "dist/lib/*.tmp", "**/big.bin"] }]);
  const paths = set!.files.map((f) => f.path);
  for (const gone of ["src/.git", "src/.vox", "src/dist/.git", "src/out/image", "src/logs/deep/a.log", "src/dist/lib/a.tmp", "src/dist/big.bin"]) assert.ok(!paths.includes(gone), gone);
  for (const kept of ["src/out", "src/logs/deep", "src/logs/keep.txt", "src/dist/lib/util.js"]) assert.ok(paths.includes(kept), kept);
  assert.deepEqual(["a.log", "x/a.log", "tmp", "x/tmp"].map(excludeMatcher(["*.log", "tmp"])), [true, true, true, true]);
  assert.deepEqual(["tmp", "x/tmp", "b/c/d", "b/c"].map(excludeMatcher(["tmp/x", "b/**"])), [false, false, true, true]);
});
