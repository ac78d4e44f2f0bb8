import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, symlinkSync, utimesSync, writeFileSync, linkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { nodeSpawner } from "../io/mod.ts";
import { ext4Layout, makeExt4, scanTree } from "./ext4.ts";
import { imageEpoch } from "./materialize.ts";

function tree(root: string, mtime: Date): string {
  mkdirSync(join(root, "etc/deep"), { recursive: true });
  writeFileSync(join(root, "etc/a"), "alpha\n");
  linkSync(join(root, "etc/a"), join(root, "etc/hard"));
  symlinkSync("../etc/a", join(root, "etc/deep/link"));
  writeFileSync(join(root, "big"), Buffer.alloc(300_000, 7));
  for (const path of ["etc/a", "big", "etc/deep", "etc", "."]) utimesSync(join(root, path), mtime, mtime);
  return root;
}

test("makeExt4() gives the same bytes for trees whose files have different mtimes and ctimes, and e2fsck -fn passes", async () => {
  const base = mkdtempSync(join(tmpdir(), "ext4-"));
  const first = tree(join(base, "one"), new Date("2001-01-01"));
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const second = tree(join(base, "two"), new Date("2022-02-02"));
  const identity = { digest: `sha256:${"ab".repeat(32)}`, epoch: 1700000000 };
  const layout = ext4Layout(await scanTree(first), "auto", identity);
  const shas = [];
  for (const [name, root] of [["one", first], ["two", second]] as const) {
    const work = join(base, `work-${name}`);
    mkdirSync(work);
    shas.push(await makeExt4(root, join(base, `${name}.ext4`), layout, { spawner: nodeSpawner, workDir: work }));
  }
  assert.equal(shas[0], shas[1]);
  assert.equal(spawnSync("e2fsck", ["-fn", join(base, "one.ext4")]).status, 0);
  const stat = execFileSync("debugfs", ["-R", "stat /etc/a", join(base, "one.ext4")], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  assert.match(stat, /mtime: 0x6553f100:00000000/, "every time is the epoch, nanoseconds zero");
  assert.match(stat, /Links: 2/, "hard links stay links");
  const other = ext4Layout(await scanTree(first), "auto", { ...identity, digest: `sha256:${"cd".repeat(32)}` });
  assert.notEqual(other.uuid, layout.uuid, "another image, another UUID");
});

test("ext4Layout() fits the tree with room to spare and refuses sizes that are not whole blocks", () => {
  const layout = ext4Layout({ inodes: 1000, dataBlocks: 50_000, dirBlocks: 100 }, "auto", { digest: "sha256:x", epoch: 1 });
  assert.ok(layout.blocks > 50_100 * 1.05 && layout.blocks < 50_100 * 1.2, String(layout.blocks));
  assert.equal(layout.inodes, 1000 + 50 + 64);
  assert.equal(ext4Layout({ inodes: 1, dataBlocks: 0, dirBlocks: 1 }, 8192, { digest: "sha256:x", epoch: 1 }).blocks, 2);
  assert.throws(() => ext4Layout({ inodes: 1, dataBlocks: 0, dirBlocks: 1 }, 1000, { digest: "sha256:x", epoch: 1 }), /multiple of 4096/);
});

test("imageEpoch() is the config's created time, and 1 (never 0, which e2fsprogs ignores) without one", () => {
  const config = (created?: string) => ({ config: { architecture: "amd64", os: "linux", rootfs: { type: "layers" as const, diff_ids: [] }, ...(created ? { created } : {}) } });
  assert.equal(imageEpoch(config("2024-01-01T00:00:00Z")), 1704067200);
  assert.equal(imageEpoch(config("1970-01-01T00:00:00Z")), 1);
  assert.equal(imageEpoch(config()), 1);
});
