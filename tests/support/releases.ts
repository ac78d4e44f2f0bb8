// Release fixtures for end-to-end tests: real `vox ci release-build` output for the host, signed by a test key that
// the built executables trust. Built once per source tree and cached, since compiling takes seconds per binary.
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bun, repoRoot } from "./helpers.ts";

export interface ReleaseFixture {
  tag: string;
  /** Directory holding the archives, checksums.txt and checksums.txt.minisig. */
  dir: string;
  key: { pub: string; sec: string };
}

function sourceHash(): string {
  const files = execFileSync("git", ["ls-files", "-co", "--exclude-standard", "-z"], { cwd: repoRoot, encoding: "utf8" }).split("\0").filter((f) => f && !f.startsWith("tests/") && !f.endsWith("_test.ts"));
  const hash = createHash("sha256");
  for (const file of files.sort()) {
    if (!existsSync(join(repoRoot, file))) continue;
    hash.update(file).update("\0").update(readFileSync(join(repoRoot, file)));
  }
  return hash.digest("hex").slice(0, 16);
}

const cacheParent = join(tmpdir(), "vox-test-fixtures");
const cacheRoot = join(cacheParent, sourceHash());

/** Fixtures of other source trees are stale: drop them, or every edit would leave another few hundred MB behind. */
function dropStaleFixtures(): void {
  for (const name of existsSync(cacheParent) ? readdirSync(cacheParent) : []) {
    if (join(cacheParent, name) !== cacheRoot) rmSync(join(cacheParent, name), { recursive: true, force: true });
  }
}

/** The test release signing key (made by minisign once per cache); the built executables trust it for releases. */
export function testKey(): { pub: string; sec: string } {
  return cachedKey("test");
}

/**
 * The test mirror key: signs mirror indexes only. Clients trust it through VOX_MIRROR_KEY (its `env`),
 * never as a release key.
 */
export function testMirrorKey(): { pub: string; sec: string; env: { VOX_MIRROR_KEY: string } } {
  const key = cachedKey("mirror");
  return { ...key, env: { VOX_MIRROR_KEY: readFileSync(key.pub, "utf8").trim().split("\n").at(-1)! } };
}

function cachedKey(name: string): { pub: string; sec: string } {
  dropStaleFixtures();
  const pub = join(cacheRoot, `${name}.pub`);
  const sec = join(cacheRoot, `${name}.sec`);
  if (!existsSync(pub)) {
    mkdirSync(cacheRoot, { recursive: true });
    const temp = join(cacheRoot, `key-${name}-${process.pid}`);
    mkdirSync(temp);
    execFileSync("minisign", ["-G", "-W", "-p", join(temp, "k.pub"), "-s", join(temp, "k.sec")], { stdio: "ignore" });
    renameSync(join(temp, "k.sec"), sec);
    renameSync(join(temp, "k.pub"), pub);
    rmSync(temp, { recursive: true });
  }
  return { pub, sec };
}

/** A signed host release of vox and vox-bootstrap for `tag`, trusting the test key. */
export function hostRelease(tag: string): ReleaseFixture {
  const key = testKey();
  const dir = join(cacheRoot, tag);
  if (!existsSync(join(dir, "checksums.txt.minisig"))) {
    const temp = join(cacheRoot, `${tag}.tmp-${process.pid}`);
    rmSync(temp, { recursive: true, force: true });
    const env = { ...process.env, SOURCE_DATE_EPOCH: "1700000000" };
    const built = spawnSync(bun, ["main.ts", "ci", "release-build", "--version", tag, "--out-dir", temp, "--trusted-key", key.pub, "--no-smoke"], { cwd: repoRoot, env, encoding: "utf8" });
    if (built.status !== 0) throw new Error(`release fixture ${tag}: ${built.stderr}`);
    const signed = spawnSync(bun, ["main.ts", "ci", "sign", "--key", key.sec, "--tag", tag, join(temp, "checksums.txt")], { cwd: repoRoot, env, encoding: "utf8" });
    if (signed.status !== 0) throw new Error(`release fixture ${tag}: ${signed.stderr}`);
    rmSync(dir, { recursive: true, force: true });
    renameSync(temp, dir);
  }
  return { tag, dir, key };
}

/** A mirror tree `<root>/releases/download/<tag>/…` holding copies of the given releases. */
export function mirrorTree(root: string, releases: readonly ReleaseFixture[]): string {
  for (const release of releases) cpSync(release.dir, join(root, "releases", "download", release.tag), { recursive: true });
  return join(root, "releases");
}
