// The core is runtime-neutral: main.ts gives the same answers under Bun, Node (tsx) and Deno, and type-checks.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { bun, repoRoot } from "./support/helpers.ts";

const bin = (name: string) => join(repoRoot, "node_modules", ".bin", name);
const RUNTIMES: Record<string, string[]> = {
  bun: [bun, "main.ts"],
  node: [process.execPath, "--import", "tsx", "main.ts"],
  deno: [bin("deno"), "run", "--allow-all", "--quiet", "main.ts"],
};

function run(runtime: string, args: string[]) {
  const [command, ...rest] = RUNTIMES[runtime]!;
  const result = spawnSync(command!, [...rest, ...args], { cwd: repoRoot, encoding: "utf8", env: { ...process.env, VOX_UPGRADE_BASE_URL: "", NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" } });
  assert.equal(result.status, 0, `${runtime}: ${result.stderr}`);
  return result.stdout;
}

test("main.ts prints the same --version and policy JSON under Bun, Node and Deno", () => {
  for (const args of [["--version"], ["policy", "--json"]]) {
    const outputs = Object.keys(RUNTIMES).map((runtime) => run(runtime, args));
    assert.equal(outputs[1], outputs[0], `node vs bun for ${args.join(" ")}`);
    assert.equal(outputs[2], outputs[0], `deno vs bun for ${args.join(" ")}`);
  }
  assert.equal(run("deno", ["--version"]), "vox 0.0.0-dev\n");
});

test("the whole tree type-checks under strict TypeScript", () => {
  const result = spawnSync(bin("tsc"), ["--noEmit", "-p", repoRoot], { encoding: "utf8" });
  assert.equal(result.status, 0, result.stdout + result.stderr);
});
