import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { bridgeNetwork, makeMountPoint, overlaps } from "./host.ts";
import { runPaths } from "./state.ts";

test("overlaps() compares IPv4 prefixes by their shorter length", () => {
  assert.equal(overlaps("10.128.0.0/9", "10.170.9.0/24"), true);
  assert.equal(overlaps("10.170.8.0/24", "10.170.9.0/24"), false);
  assert.equal(overlaps("10.170.9.7", "10.170.9.0/24"), true);
});

test("bridgeNetwork() picks a /24 no host route overlaps and keeps it in network.json", async () => {
  const paths = runPaths(mkdtempSync(join(tmpdir(), "vox-run-")));
  const first = await bridgeNetwork(paths, { routedPrefixes: async () => ["10.128.0.0/11", "default"] });
  assert.match(first.subnet, /^10\.(1[6-8]\d|19[01])\.\d+\.0\/24$/, "in 10.128.0.0/10 but outside the routed 10.128.0.0/11");
  assert.match(first.bridge, /^vox[0-9a-f]{8}$/);
  assert.deepEqual(await bridgeNetwork(paths, { routedPrefixes: async () => [] }), first);
});

test("makeMountPoint() creates missing directories, sets the last one's mode, and refuses a link or a file on the way", async () => {
  const rootfs = mkdtempSync(join(tmpdir(), "vox-rootfs-"));
  await makeMountPoint(rootfs, "/run/secrets/db");
  assert.ok(statSync(join(rootfs, "run", "secrets", "db")).isDirectory());
  await makeMountPoint(rootfs, "/tmp", 0o1777);
  assert.equal(statSync(join(rootfs, "tmp")).mode & 0o7777, 0o1777);
  symlinkSync("/etc", join(rootfs, "data"));
  await assert.rejects(makeMountPoint(rootfs, "/data/x"), { code: "E_RUN_MOUNT", message: /\/data in the image is a symbolic link/ });
  mkdirSync(join(rootfs, "srv"));
  writeFileSync(join(rootfs, "srv", "file"), "");
  await assert.rejects(makeMountPoint(rootfs, "/srv/file"), { code: "E_RUN_MOUNT", message: /is not a directory/ });
});
