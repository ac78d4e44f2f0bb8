import assert from "node:assert/strict";
import { test } from "node:test";
import { OPTIMIZING_JIT_OPTION, relaunchWithoutOptimizingJit, type RunningProcess } from "./mod.ts";

const compiled: RunningProcess = {
  platform: "linux",
  execPath: "/home/me/.vox/bin/vox",
  argv0: "vox",
  argv: ["bun", "/$bunfs/root/vox", "upgrade", "--version", "v1.2.0"],
  env: { HOME: "/home/me", UNSET: undefined },
  bunMain: "/$bunfs/root/vox",
};

test("a compiled executable relaunches itself with its own arguments and the optimizing tiers off", () => {
  assert.deepEqual(relaunchWithoutOptimizingJit(compiled), {
    file: "/home/me/.vox/bin/vox",
    argv: ["vox", "upgrade", "--version", "v1.2.0"],
    env: { HOME: "/home/me", [OPTIMIZING_JIT_OPTION]: "0" },
  });
});

test("nothing relaunches once the option is set, by the relaunch or by the user", () => {
  assert.equal(relaunchWithoutOptimizingJit({ ...compiled, env: { [OPTIMIZING_JIT_OPTION]: "0" } }), undefined);
  assert.equal(relaunchWithoutOptimizingJit({ ...compiled, env: { [OPTIMIZING_JIT_OPTION]: "1" } }), undefined);
});

test("source runs (Bun, Node, Deno) and Windows run as they are", () => {
  assert.equal(relaunchWithoutOptimizingJit({ ...compiled, argv: ["/usr/bin/bun", "/src/main.ts", "upgrade"], bunMain: "/src/main.ts" }), undefined);
  assert.equal(relaunchWithoutOptimizingJit({ ...compiled, bunMain: undefined }), undefined);
  assert.equal(relaunchWithoutOptimizingJit({ ...compiled, platform: "win32", bunMain: "B:/~BUN/root/vox.exe" }), undefined);
});
