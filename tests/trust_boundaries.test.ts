// End to end: install and upgrade refuse what an attacker controls, through the compiled vox and vox-bootstrap
// against a real nginx mirror and the GitHub stand-in: key roles, mirror-index gaps, the highest version seen,
// the rollback target, what a killed install left behind, and GitHub quirks.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { parseSecretKey, sha256Hex, signMinisign } from "../integrity/mod.ts";
import { indexTrustedComment, type MirrorIndex } from "../providers/mod.ts";
import { runAsync, tempDir } from "./support/helpers.ts";
import { startGithubStandIn } from "./support/github.ts";
import { type RunningServer, startNginx } from "./support/nginx.ts";
import { hostRelease, type ReleaseFixture, testKey, testMirrorKey } from "./support/releases.ts";

const TRIPLE = "x86_64-unknown-linux-gnu";
const r1 = hostRelease("v0.1.0");
const r2 = hostRelease("v0.2.0");
const rc = hostRelease("v0.3.0-rc.1");
const key = testKey();
const mirrorKey = testMirrorKey();
const www = tempDir("www");
let nginx: RunningServer;

const tools = tempDir("tools");
execFileSync("tar", ["-xzf", join(r2.dir, `vox-bootstrap-v0.2.0-${TRIPLE}.tar.gz`), "-C", tools]);
execFileSync("tar", ["-xzf", join(r2.dir, `vox-v0.2.0-${TRIPLE}.tar.gz`), "-C", tools]);
const bootstrap = join(tools, "vox-bootstrap");
const tool = join(tools, "vox");

/** A mirror under nginx holding copies of `releases`; returns its base URL and directory. */
function mirror(name: string, releases: ReleaseFixture[]): { base: string; dir: string } {
  for (const release of releases) cpSync(release.dir, join(www, name, "releases", "download", release.tag), { recursive: true });
  return { base: `${nginx.url}/${name}/releases`, dir: join(www, name, "releases") };
}

function signIndex(dir: string, index: MirrorIndex, secretKey = mirrorKey.sec): void {
  const text = `${JSON.stringify(index, null, 2)}\n`;
  writeFileSync(join(dir, "index.json"), text);
  writeFileSync(join(dir, "index.json.minisig"), signMinisign(new TextEncoder().encode(text), parseSecretKey(readFileSync(secretKey, "utf8")), { trusted: indexTrustedComment(index, 0) }));
}

function indexOf(releases: ReleaseFixture[], serial: number): MirrorIndex {
  return {
    schema: "vox.mirror-index/1",
    serial,
    expires: new Date(Date.now() + 7 * 86_400_000).toISOString(),
    latest: null,
    releases: releases.map((r) => ({ tag: r.tag, version: r.tag.slice(1), prerelease: r.tag.includes("-"), checksums_sha256: sha256Hex(readFileSync(join(r.dir, "checksums.txt"))) })),
  };
}

/** A vox of `release` in a fresh directory with its own HOME and state, trusting the test mirror key for indexes. */
function installed(release: ReleaseFixture = r1): { bin: string; dir: string; env: Record<string, string> } {
  const dir = tempDir("installed");
  mkdirSync(join(dir, "bin"));
  execFileSync("tar", ["-xzf", join(release.dir, `vox-${release.tag}-${TRIPLE}.tar.gz`), "-C", join(dir, "bin")]);
  return { bin: join(dir, "bin", "vox"), dir, env: { PATH: process.env.PATH!, HOME: dir, VOX_STATE_DIR: join(dir, "state"), ...mirrorKey.env } };
}

const run = (bin: string, args: string[], env: Record<string, string>) => spawnSync(bin, args, { encoding: "utf8", env, cwd: tempDir("cwd") });
const versionOf = (bin: string) => execFileSync(bin, ["--version"], { encoding: "utf8" }).trim();

/** Replaces the host archive of a release directory with one holding `script` as `vox`, re-listed and re-signed. */
function swapArchiveForScript(releaseDir: string, tag: string, script: string, secretKey: string): void {
  const scratch = tempDir("script");
  writeFileSync(join(scratch, "vox"), script, { mode: 0o755 });
  execFileSync("tar", ["--owner=0", "--group=0", "-czf", join(releaseDir, `vox-${tag}-${TRIPLE}.tar.gz`), "-C", scratch, "vox"]);
  execFileSync(tool, ["ci", "checksums", releaseDir], { stdio: "ignore" });
  execFileSync(tool, ["ci", "sign", "--key", secretKey, "--tag", tag, join(releaseDir, "checksums.txt")], { stdio: "ignore" });
}

before(async () => {
  nginx = await startNginx(www);
});
after(() => nginx.stop());

describe("key roles: a mirror key vouches for a listing, never for a release", () => {
  test("a release signed by the mirror key is refused, though the same key is trusted for the index", () => {
    const { base, dir } = mirror("mirror-signed", [r1]);
    const proof = join(tempDir("proof"), "ran");
    swapArchiveForScript(join(dir, "download", "v0.1.0"), "v0.1.0", `#!/bin/sh\ntouch ${proof}\necho 'vox 0.1.0'\n`, mirrorKey.sec);
    signIndex(dir, indexOf([r1], 1));
    const home = tempDir("home");
    const result = run(bootstrap, ["--install", "--base-url", base, "--no-modify-path"], { PATH: process.env.PATH!, HOME: home, ...mirrorKey.env });
    assert.equal(result.status, 1, result.stdout);
    assert.match(result.stderr, /checksums\.txt\.minisig: it was made by key [0-9A-F]{16}, which is not trusted/);
    assert.ok(!existsSync(proof), "nothing from the release ran");
    assert.ok(!existsSync(join(home, ".vox", "bin", "vox")));
  });

  test("an index signed by a release key is not a mirror index", () => {
    const { base, dir } = mirror("release-signed-index", [r1]);
    signIndex(dir, indexOf([r1], 1), key.sec);
    const result = run(bootstrap, ["--install", "--base-url", base, "--no-modify-path"], { PATH: process.env.PATH!, HOME: tempDir("home"), ...mirrorKey.env });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /index\.json\.minisig: it was made by key [0-9A-F]{16}, which is not trusted/);
  });

  test("a validly signed archive holding a script instead of an executable for this platform is refused before it runs", () => {
    const { base, dir } = mirror("script", [r1]);
    const proof = join(tempDir("proof"), "ran");
    swapArchiveForScript(join(dir, "download", "v0.1.0"), "v0.1.0", `#!/bin/sh\ntouch ${proof}\necho 'vox 0.1.0'\n`, key.sec);
    const home = tempDir("home");
    const result = run(bootstrap, ["--install", "--base-url", base, "--version", "v0.1.0", "--no-modify-path"], { PATH: process.env.PATH!, HOME: home });
    assert.equal(result.status, 1, result.stdout);
    assert.match(result.stderr, /'vox' is not a recognised executable, expected ELF x86_64 \(gnu\) for x86_64-unknown-linux-gnu/);
    assert.ok(!existsSync(proof), "the script never ran");
    const current = installed();
    const upgrade = run(current.bin, ["upgrade", "--version", "v0.1.0", "--force", "--base-url", base, "--json"], current.env);
    assert.equal(upgrade.status, 6, upgrade.stderr);
    assert.ok(!existsSync(proof));
  });
});

describe("mirror index gaps", () => {
  test("an index whose checksums digest disagrees with the signed checksums.txt does not lead to an upgrade", () => {
    const { base, dir } = mirror("zero-digest", [r1, r2]);
    const index = indexOf([r1, r2], 1);
    index.releases[1]!.checksums_sha256 = "0".repeat(64);
    signIndex(dir, index);
    const { bin, env } = installed();
    const result = run(bin, ["upgrade", "--base-url", base, "--json"], env);
    assert.equal(result.status, 6, result.stderr);
    assert.match(result.stderr, /it records checksums\.txt sha256 0{64}, the signed file served is [0-9a-f]{64}/);
    assert.equal(versionOf(bin), "vox 0.1.0");
  });

  test("vox-bootstrap keeps a serial floor too: an index older than one it accepted is refused", () => {
    const { base, dir } = mirror("bootstrap-floor", [r1]);
    const home = tempDir("home");
    const env = { PATH: process.env.PATH!, HOME: home, ...mirrorKey.env };
    signIndex(dir, indexOf([r1], 5));
    const first = run(bootstrap, ["--install", "--base-url", base, "--no-modify-path"], env);
    assert.equal(first.status, 0, first.stderr);
    signIndex(dir, indexOf([r1], 4));
    const replayed = run(bootstrap, ["--install", "--base-url", base, "--no-modify-path"], env);
    assert.equal(replayed.status, 1);
    assert.match(replayed.stderr, /its serial 4 is lower than serial 5 accepted before/);
  });

  test("an index claiming a far expiry is refused on first contact", () => {
    const { base, dir } = mirror("far-expiry", [r1]);
    signIndex(dir, { ...indexOf([r1], 1), expires: "2099-01-01T00:00:00.000Z" });
    const result = run(bootstrap, ["--install", "--base-url", base, "--no-modify-path"], { PATH: process.env.PATH!, HOME: tempDir("home"), ...mirrorKey.env });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /claims to stay fresh until 2099-01-01T00:00:00\.000Z, more than 90 days ahead/);
  });
});

describe("the highest version installed is a floor", () => {
  test("after a rollback, a release older than the highest one installed is not offered as an upgrade", () => {
    const { base, dir } = mirror("highest", [r1, r2, rc]);
    signIndex(dir, indexOf([r1, r2, rc], 1));
    const { bin, env } = installed();
    assert.equal(run(bin, ["upgrade", "--channel", "next", "--base-url", base], env).status, 0);
    assert.equal(versionOf(bin), "vox 0.3.0-rc.1");
    assert.equal(run(bin, ["upgrade", "--rollback"], env).status, 0);
    assert.equal(versionOf(bin), "vox 0.1.0");
    const older = run(bin, ["upgrade", "--version", "v0.2.0", "--base-url", base], env);
    assert.equal(older.status, 1, older.stderr);
    assert.match(older.stderr, /Cannot upgrade to 0\.2\.0: vox 0\.3\.0-rc\.1 was installed on this machine before, and 0\.2\.0 is older/);
    assert.equal(versionOf(bin), "vox 0.1.0");
    const check = run(bin, ["upgrade", "--check", "--base-url", base, "--json"], env);
    assert.equal(JSON.parse(check.stdout).status, "up-to-date", "stable 'latest' (0.2.0) is below the floor: nothing to offer");
    assert.equal(run(bin, ["upgrade", "--version", "v0.2.0", "--allow-downgrade", "--base-url", base], env).status, 0);
    assert.equal(versionOf(bin), "vox 0.2.0");
  });

  test("floors another user could have written are refused, not obeyed", () => {
    const { base, dir } = mirror("lowered", [r1, r2, rc]);
    signIndex(dir, indexOf([r1, r2, rc], 1));
    const { bin, env } = installed();
    assert.equal(run(bin, ["upgrade", "--channel", "next", "--base-url", base], env).status, 0);
    assert.equal(run(bin, ["upgrade", "--rollback"], env).status, 0);
    const state = join(env.VOX_STATE_DIR!, "trust.json");
    chmodSync(state, 0o666);
    writeFileSync(state, JSON.stringify({ schema: "vox.upgrade-state/1", indexSerials: {}, highestVersion: null }));
    const lowered = run(bin, ["upgrade", "--version", "v0.2.0", "--base-url", base], env);
    assert.equal(lowered.status, 1, lowered.stderr);
    assert.match(lowered.stderr, /Cannot trust the upgrade trust state .*trust\.json: it is writable by others \(mode 0666\), so another user could lower its floors\nhint: Keep VOX_STATE_DIR/);
    assert.equal(versionOf(bin), "vox 0.1.0");
  });
});

describe("rollback swaps back only what an upgrade kept", () => {
  const plants: Array<[string, (bin: string, previous: string) => void, RegExp]> = [
    ["a script", (_, previous) => writeFileSync(previous, "#!/bin/sh\necho 'vox 0.0.9'\n", { mode: 0o755 }), /is not a recognised executable/],
    ["a symbolic link", (_, previous) => symlinkSync("/bin/true", previous), /is not a regular file/],
    [
      "a group-writable copy",
      (bin, previous) => {
        copyFileSync(bin, previous);
        chmodSync(previous, 0o775);
      },
      /is writable by its group/,
    ],
  ];
  for (const [label, plant, expected] of plants) {
    test(`vox.previous replaced by ${label} is refused (verification-failed, exit 6), the binary untouched`, () => {
      const { bin, env } = installed(r2);
      plant(bin, `${bin}.previous`);
      const result = run(bin, ["upgrade", "--rollback", "--json"], env);
      assert.equal(result.status, 6, result.stderr);
      assert.equal(JSON.parse(result.stdout).status, "verification-failed");
      assert.match(result.stderr, expected);
      assert.equal(versionOf(bin), "vox 0.2.0");
    });
  }
});

test("an install clears the staging directory a killed install left, and leaves a live one alone", () => {
  const { base } = mirror("staging", [r1]);
  const home = tempDir("home");
  const installDir = join(home, ".vox", "bin");
  mkdirSync(join(installDir, ".vox-staging-999999-abcdef"), { recursive: true });
  writeFileSync(join(installDir, ".vox-staging-999999-abcdef", "vox"), "half a binary");
  const live = `.vox-staging-${process.pid}-live`;
  mkdirSync(join(installDir, live));
  const result = run(bootstrap, ["--install", "--base-url", base, "--version", "v0.1.0", "--no-modify-path"], { PATH: process.env.PATH!, HOME: home });
  assert.equal(result.status, 0, result.stderr);
  assert.deepEqual(readdirSync(installDir).sort(), [".vox-receipt.json", live, "vox"]);
  rmSync(join(installDir, live), { recursive: true });
});

describe("GitHub quirks", () => {
  test("a pinned version installs while the API is rate limited (the digest cross-check is skipped, with a warning)", async () => {
    const github = await startGithubStandIn([{ tag: "v0.1.0", dir: r1.dir }]);
    try {
      github.rateLimited = true;
      const home = tempDir("home");
      const result = await runAsync(bootstrap, ["--install", "--provider", "github", "--base-url", github.webUrl, "--github-api-url", github.apiUrl, "--version", "v0.1.0", "--no-modify-path"], { cwd: tempDir("cwd"), env: { PATH: process.env.PATH!, HOME: home } });
      assert.equal(result.status, 0, result.stderr);
      assert.match(result.stderr, /warning: skipping GitHub's asset digest cross-check \(.*rate limit.*\); the signed checksums are still verified/);
      assert.equal(versionOf(join(home, ".vox", "bin", "vox")), "vox 0.1.0");
    } finally {
      await github.stop();
    }
  });

  test("--channel next skips a release tag without the leading v instead of crashing", async () => {
    const github = await startGithubStandIn([{ tag: "v0.1.0", dir: r1.dir }, { tag: "0.9.0", dir: r2.dir }, { tag: "v0.3.0-rc.1", dir: rc.dir, prerelease: true }]);
    try {
      const { bin, env } = installed();
      const result = await runAsync(bin, ["upgrade", "--check", "--channel", "next", "--provider", "github", "--base-url", github.webUrl, "--github-api-url", github.apiUrl, "--json"], { cwd: tempDir("cwd"), env });
      assert.equal(result.status, 10, result.stderr);
      assert.equal(JSON.parse(result.stdout).candidate, "0.3.0-rc.1");
    } finally {
      await github.stop();
    }
  });
});
