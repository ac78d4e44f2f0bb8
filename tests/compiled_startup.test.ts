// The compiled executables start from their own bytes only: nothing in the directory they run in changes them.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { tempDir } from "./support/helpers.ts";
import { hostRelease } from "./support/releases.ts";

const TRIPLE = "x86_64-unknown-linux-gnu";

describe("compiled vox and vox-bootstrap in a directory someone else prepared", () => {
  const release = hostRelease("v0.1.0");
  const bin = tempDir("bin");
  for (const pkg of ["vox", "vox-bootstrap"]) execFileSync("tar", ["-xzf", join(release.dir, `${pkg}-v0.1.0-${TRIPLE}.tar.gz`), "-C", bin]);

  test("a bunfig.toml there preloads nothing and a .env there sets nothing (Bun's standalone defaults would)", () => {
    const cwd = tempDir("checkout");
    const marker = join(cwd, "preloaded");
    writeFileSync(join(cwd, "bunfig.toml"), 'preload = ["./preload.js"]\n');
    writeFileSync(join(cwd, "preload.js"), `require("node:fs").writeFileSync(${JSON.stringify(marker)}, "ran");\n`);
    writeFileSync(join(cwd, ".env"), "VOX_UPGRADE_BASE_URL=http://planted.invalid/releases\n");
    const env = { PATH: process.env.PATH!, HOME: cwd };
    for (const argv of [[join(bin, "vox"), "--version"], [join(bin, "vox"), "policy", "--json"], [join(bin, "vox-bootstrap"), "--help"]]) {
      const run = spawnSync(argv[0]!, argv.slice(1), { cwd, env, encoding: "utf8" });
      assert.equal(run.status, 0, run.stderr);
      assert.equal(existsSync(marker), false, `${argv.slice(1).join(" ")} ran the directory's bunfig.toml preload`);
      assert.doesNotMatch(run.stdout, /planted\.invalid/, `${argv.slice(1).join(" ")} read the directory's .env`);
    }
    assert.match(spawnSync(join(bin, "vox"), ["policy", "--json"], { cwd, env, encoding: "utf8" }).stdout, /"release_base_url": "https:\/\/github\.com\//);
  });

  test("vox policy names the target the executable was built for (baked in at compile time, not read from its header)", () => {
    const policy = JSON.parse(execFileSync(join(bin, "vox"), ["policy", "--json"], { encoding: "utf8" }));
    assert.equal(policy.host_triple, TRIPLE);
    assert.ok(policy.source_install.steps[1].includes('VOX_BUILD_BUN_TARGET="<bun target>"'));
  });
});
