import assert from "node:assert/strict";
import { test } from "node:test";
import {
  assetName,
  describePolicy,
  executableName,
  findTarget,
  latestAssetUrl,
  parseAssetName,
  parseTag,
  releaseBaseUrl,
  sourceInstallSteps,
  taggedAssetUrl,
  targetForHost,
  TARGETS,
} from "./mod.ts";

test("TARGETS holds the eight triples of the contract, each once", () => {
  assert.deepEqual(
    TARGETS.map((t) => t.triple).sort(),
    [
      "aarch64-apple-darwin",
      "aarch64-pc-windows-msvc",
      "aarch64-unknown-linux-gnu",
      "aarch64-unknown-linux-musl",
      "x86_64-apple-darwin",
      "x86_64-pc-windows-msvc",
      "x86_64-unknown-linux-gnu",
      "x86_64-unknown-linux-musl",
    ],
  );
  for (const t of TARGETS) assert.equal(t.archive === "zip", t.os === "windows", t.triple);
});

test("assetName() and executableName() follow the release contract", () => {
  const linux = findTarget("x86_64-unknown-linux-gnu")!;
  const windows = findTarget("x86_64-pc-windows-msvc")!;
  assert.equal(assetName("vox", "v1.2.3", linux), "vox-v1.2.3-x86_64-unknown-linux-gnu.tar.gz");
  assert.equal(assetName("vox-bootstrap", "v1.2.3", windows), "vox-bootstrap-v1.2.3-x86_64-pc-windows-msvc.zip");
  assert.equal(executableName("vox", windows), "vox.exe");
  assert.equal(executableName("vox-bootstrap", linux), "vox-bootstrap");
});

test("parseAssetName() inverts assetName() for every target and package, and rejects other names", () => {
  for (const target of TARGETS) {
    for (const pkg of ["vox", "vox-bootstrap"]) {
      const parsed = parseAssetName(assetName(pkg, "v0.1.0-rc.1", target), TARGETS);
      assert.deepEqual({ pkg: parsed?.packageName, tag: parsed?.tag, triple: parsed?.target.triple }, { pkg, tag: "v0.1.0-rc.1", triple: target.triple });
    }
  }
  for (const name of ["checksums.txt", "vox-v1.0.0-x86_64-unknown-linux-gnu.zip", "vox-v1.0.0-sparc-sun-solaris.tar.gz", "voxel-v1.0.0-x86_64-unknown-linux-gnu.tar.gz", "vox-latest-x86_64-unknown-linux-gnu.tar.gz"]) {
    assert.equal(parseAssetName(name, TARGETS), undefined, name);
  }
});

test("release URLs use GitHub's layout, or a mirror base without its trailing slash", () => {
  const github = releaseBaseUrl();
  assert.equal(github, "https://github.com/vox-foundation/vox/releases");
  assert.equal(taggedAssetUrl(github, "v1.0.0", "checksums.txt"), "https://github.com/vox-foundation/vox/releases/download/v1.0.0/checksums.txt");
  assert.equal(latestAssetUrl(github, "vox-v1.0.0-x86_64-apple-darwin.tar.gz"), "https://github.com/vox-foundation/vox/releases/latest/download/vox-v1.0.0-x86_64-apple-darwin.tar.gz");
  assert.equal(releaseBaseUrl({ mirrorBaseUrl: "http://mirror.local/vox/releases///" }), "http://mirror.local/vox/releases");
  assert.equal(releaseBaseUrl({ repo: "acme/vox", webBaseUrl: "https://ghe.acme.test/" }), "https://ghe.acme.test/acme/vox/releases");
});

test("targetForHost() maps every target's own facts back to it", () => {
  const platform = { linux: "linux", darwin: "darwin", windows: "win32" } as const;
  for (const target of TARGETS) {
    assert.equal(targetForHost({ platform: platform[target.os], arch: target.arch, libc: target.format.libc }).triple, target.triple);
  }
});

test("targetForHost() refuses an unsupported host and names the supported triples", () => {
  assert.throws(() => targetForHost({ platform: "freebsd", arch: "x64" }), (error: Error & { code?: string }) => error.code === "E_UNSUPPORTED_HOST" && /x86_64-unknown-linux-gnu/.test(String((error as { hint?: string }).hint)));
  assert.throws(() => targetForHost({ platform: "linux", arch: "ia32" }), /Cannot map this host/);
});

test("parseTag() accepts v<semver> and rejects everything else with exit code 2", () => {
  assert.deepEqual(parseTag("v1.2.3-rc.1"), { tag: "v1.2.3-rc.1", version: "1.2.3-rc.1", prerelease: true });
  assert.equal(parseTag("v0.1.0").prerelease, false);
  for (const bad of ["1.2.3", "v1.2", "vv1.2.3", "v01.2.3", "latest", "v1.2.3 "]) {
    assert.throws(() => parseTag(bad), (error: Error & { exitCode?: number }) => error.exitCode === 2 && error.message.includes("v<semver>"), bad);
  }
});

test("sourceInstallSteps() installs the locked dependencies, then compiles with the policy's argv", () => {
  const steps = sourceInstallSteps({ bunTarget: "bun-linux-x64-baseline", entry: "main.ts", outfile: "/tmp/x/vox", defines: { version: "1.0.0", trustedKeys: [] } });
  assert.deepEqual(steps[0], ["npm", "ci", "--no-audit", "--no-fund"]);
  assert.deepEqual(steps[1]!.slice(0, 6), ["npx", "--no-install", "bun", "build", "--compile", "--minify"]);
  assert.ok(steps[1]!.includes("--target=bun-linux-x64-baseline"));
  assert.ok(steps[1]!.includes('VOX_BUILD_VERSION="1.0.0"'));
  assert.deepEqual(steps[1]!.slice(-5), ["main.ts", "archive/deflate_worker.js", "oci/unpack/write_worker.js", "--outfile", "/tmp/x/vox"]);
});

test("describePolicy() lists every target with both packages' names and URLs for the tag", () => {
  const policy = describePolicy({ tag: "v2.0.0", hostTriple: "x86_64-unknown-linux-gnu" });
  assert.equal(policy.targets.length, 8);
  const linux = policy.targets.find((t) => t.triple === "x86_64-unknown-linux-gnu")!;
  assert.deepEqual(linux.assets.map((a) => a.basename), ["vox-v2.0.0-x86_64-unknown-linux-gnu.tar.gz", "vox-bootstrap-v2.0.0-x86_64-unknown-linux-gnu.tar.gz"]);
  assert.ok(policy.trustedKeys.length >= 1);
  assert.ok(!JSON.stringify(policy).includes("vox-latest"));
});
