// End to end: the compiled vox upgrades itself from a real nginx mirror, rolls back, refuses what it must, survives
// SIGKILL at every step, and lets only one upgrade run at a time.
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, chownSync, cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { signMinisign, parseSecretKey } from "../integrity/mod.ts";
import { indexTrustedComment, type MirrorIndex } from "../providers/mod.ts";
import { copyCheckout, runAsync, tempDir } from "./support/helpers.ts";
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
let latestBase = "";
let plainBase = "";

const sha = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");
const voxArchive = (release: ReleaseFixture) => join(release.dir, `vox-${release.tag}-${TRIPLE}.tar.gz`);

function copyReleases(name: string, releases: ReleaseFixture[]): string {
  for (const release of releases) cpSync(release.dir, join(www, name, "releases", "download", release.tag), { recursive: true });
  return `${nginx.url}/${name}/releases`;
}

/** A vox of `release` installed in a fresh directory, with its own state directory. */
function installed(release: ReleaseFixture = r1): { bin: string; dir: string; env: Record<string, string> } {
  const dir = tempDir("installed");
  mkdirSync(join(dir, "bin"));
  execFileSync("tar", ["-xzf", voxArchive(release), "-C", join(dir, "bin")]);
  return { bin: join(dir, "bin", "vox"), dir, env: { PATH: process.env.PATH!, HOME: dir, VOX_STATE_DIR: join(dir, "state"), ...mirrorKey.env } };
}

function vox(bin: string, args: string[], env: Record<string, string>) {
  return spawnSync(bin, args, { encoding: "utf8", env, cwd: tempDir("cwd") });
}

const versionOf = (bin: string) => execFileSync(bin, ["--version"], { encoding: "utf8" }).trim();

before(async () => {
  nginx = await startNginx(www);
  const source = copyReleases("src", [r1, r2, rc]);
  const tool = installed(r2);
  const synced = vox(tool.bin, ["mirror", "sync", "--from-base-url", source, "--to", join(www, "m", "releases"), "--version", "v0.1.0", "--version", "v0.2.0", "--version", "v0.3.0-rc.1", "--key", mirrorKey.sec], tool.env);
  assert.equal(synced.status, 0, synced.stderr);
  latestBase = `${nginx.url}/m/releases`;
  plainBase = copyReleases("plain", [r1, r2]);
});
after(() => nginx.stop());

describe("vox upgrade from a mirror with a signed index", () => {
  test("--check reports, upgrade applies in one line, --rollback restores the previous binary byte for byte", () => {
    const { bin, env } = installed();
    const original = sha(bin);
    const check = vox(bin, ["upgrade", "--check", "--base-url", latestBase], env);
    assert.equal(check.status, 10, check.stderr);
    assert.equal(check.stdout, "vox 0.2.0 is available (installed: 0.1.0); run 'vox upgrade' to install it\n");
    const upgraded = vox(bin, ["upgrade", "--base-url", latestBase], env);
    assert.equal(upgraded.status, 0, upgraded.stderr);
    assert.equal(upgraded.stdout, `upgraded vox 0.1.0 → 0.2.0 at ${bin} (previous kept for 'vox upgrade --rollback')\n`);
    assert.equal(versionOf(bin), "vox 0.2.0");
    assert.equal(sha(`${bin}.previous`), original);
    const again = vox(bin, ["upgrade", "--base-url", latestBase, "--json"], env);
    assert.equal(again.status, 0);
    assert.equal(JSON.parse(again.stdout).status, "up-to-date");
    const rolled = vox(bin, ["upgrade", "--rollback", "--json"], env);
    assert.equal(rolled.status, 0, rolled.stderr);
    assert.deepEqual([JSON.parse(rolled.stdout).status, JSON.parse(rolled.stdout).candidate], ["rolled-back", "0.1.0"]);
    assert.equal(sha(bin), original, "rollback restores the old binary byte for byte");
    assert.equal(versionOf(`${bin}.previous`), "vox 0.2.0", "and keeps the newer one for a roll-forward");
    assert.deepEqual(readdirSync(join(bin, "..")).sort(), ["vox", "vox.previous"], "no staging or temp files left");
  });

  test("the stable channel ignores prereleases; --channel next and --allow-prerelease take them", () => {
    const { bin, env } = installed();
    const next = vox(bin, ["upgrade", "--check", "--channel", "next", "--base-url", latestBase, "--json"], env);
    assert.equal(JSON.parse(next.stdout).candidate, "0.3.0-rc.1");
    const allowed = vox(bin, ["upgrade", "--check", "--allow-prerelease", "--base-url", latestBase, "--json"], env);
    assert.equal(JSON.parse(allowed.stdout).candidate, "0.3.0-rc.1");
    const stable = vox(bin, ["upgrade", "--check", "--base-url", latestBase, "--json"], env);
    assert.equal(JSON.parse(stable.stdout).candidate, "0.2.0");
  });

  test("a downgrade is refused without --allow-downgrade, also when pinned", () => {
    const { bin, env } = installed(r2);
    const refused = vox(bin, ["upgrade", "--version", "v0.1.0", "--base-url", plainBase], env);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /Cannot upgrade from 0\.2\.0 to 0\.1\.0: that is a downgrade\nhint: Pass --allow-downgrade/);
    assert.equal(versionOf(bin), "vox 0.2.0");
    const allowed = vox(bin, ["upgrade", "--version", "v0.1.0", "--allow-downgrade", "--base-url", plainBase], env);
    assert.equal(allowed.status, 0, allowed.stderr);
    assert.equal(versionOf(bin), "vox 0.1.0");
  });

  test("VOX_UPGRADE_VERSION alone pins the version; a mirror without version or index gets a clear error", () => {
    const { bin, env } = installed();
    const pinned = vox(bin, ["upgrade"], { ...env, VOX_UPGRADE_BASE_URL: plainBase, VOX_UPGRADE_VERSION: "v0.2.0" });
    assert.equal(pinned.status, 0, pinned.stderr);
    assert.equal(versionOf(bin), "vox 0.2.0");
    const unknown = vox(bin, ["upgrade"], { ...env, VOX_UPGRADE_BASE_URL: plainBase });
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /Cannot tell the latest release of the mirror .* it has no signed index\.json/);
  });

  test("--force reinstalls the same version", () => {
    const { bin, env } = installed(r2);
    const forced = vox(bin, ["upgrade", "--force", "--version", "v0.2.0", "--base-url", plainBase, "--json"], env);
    assert.equal(forced.status, 0, forced.stderr);
    assert.equal(JSON.parse(forced.stdout).status, "updated");
  });
});

describe("vox upgrade refuses what it cannot trust (status verification-failed, exit 6)", () => {
  function signIndex(dir: string, index: MirrorIndex): void {
    const text = `${JSON.stringify(index, null, 2)}\n`;
    writeFileSync(join(dir, "index.json"), text);
    writeFileSync(join(dir, "index.json.minisig"), signMinisign(new TextEncoder().encode(text), parseSecretKey(readFileSync(mirrorKey.sec, "utf8")), { trusted: indexTrustedComment(index, 0) }));
  }

  test("an index replayed with a lower serial than one already accepted", () => {
    const name = "replay";
    copyReleases(name, [r1, r2]);
    const dir = join(www, name, "releases");
    const current = JSON.parse(readFileSync(join(www, "m", "releases", "index.json"), "utf8")) as MirrorIndex;
    signIndex(dir, { ...current, serial: 5 });
    const { bin, env } = installed();
    const base = `${nginx.url}/${name}/releases`;
    assert.equal(vox(bin, ["upgrade", "--check", "--base-url", base], env).status, 10);
    signIndex(dir, { ...current, serial: 4 });
    const replayed = vox(bin, ["upgrade", "--base-url", base, "--json"], env);
    assert.equal(replayed.status, 6);
    assert.equal(JSON.parse(replayed.stdout).status, "verification-failed");
    assert.match(replayed.stderr, /its serial 4 is lower than serial 5 accepted before/);
    assert.equal(versionOf(bin), "vox 0.1.0");
  });

  test("an expired index", () => {
    const name = "expired";
    copyReleases(name, [r1, r2]);
    const current = JSON.parse(readFileSync(join(www, "m", "releases", "index.json"), "utf8")) as MirrorIndex;
    signIndex(join(www, name, "releases"), { ...current, expires: "2020-01-01T00:00:00.000Z" });
    const { bin, env } = installed();
    const result = vox(bin, ["upgrade", "--base-url", `${nginx.url}/${name}/releases`, "--json"], env);
    assert.equal(result.status, 6);
    assert.match(result.stderr, /it expired at 2020-01-01T00:00:00\.000Z/);
  });

  test("a checksums signature made for another tag", () => {
    const name = "othertag";
    const base = copyReleases(name, [r2]);
    execFileSync(installed(r2).bin, ["ci", "sign", "--key", key.sec, "--tag", "v0.1.0", join(www, name, "releases", "download", "v0.2.0", "checksums.txt")]);
    const { bin, env } = installed();
    const result = vox(bin, ["upgrade", "--version", "v0.2.0", "--base-url", base, "--json"], env);
    assert.equal(result.status, 6);
    assert.match(result.stderr, /signed for tag 'v0\.1\.0', expected 'v0\.2\.0'/);
    assert.equal(versionOf(bin), "vox 0.1.0");
  });

  test("a staged binary that dies with SIGILL is reported as a wrong CPU or libc variant, the old one untouched", () => {
    const name = "sigill";
    const base = copyReleases(name, [r2]);
    const dir = join(www, name, "releases", "download", "v0.2.0");
    const scratch = tempDir("sigill");
    // A real x86_64 glibc ELF (it passes the format check) that executes an illegal instruction, as a binary built
    // for a newer CPU does on an older one.
    execFileSync("gcc", ["-x", "c", "-o", join(scratch, "vox"), "-"], { input: "int main(void) { __builtin_trap(); }\n" });
    execFileSync("tar", ["--owner=0", "--group=0", "-czf", join(dir, `vox-v0.2.0-${TRIPLE}.tar.gz`), "-C", scratch, "vox"]);
    const tool = installed(r2);
    execFileSync(tool.bin, ["ci", "checksums", dir]);
    execFileSync(tool.bin, ["ci", "sign", "--key", key.sec, "--tag", "v0.2.0", join(dir, "checksums.txt")]);
    const { bin, env } = installed();
    const before = sha(bin);
    const result = vox(bin, ["upgrade", "--version", "v0.2.0", "--base-url", base], env);
    assert.equal(result.status, 6);
    assert.match(result.stderr, /running it crashed \(SIGILL\)[\s\S]*wrong CPU or libc variant\. Nothing was replaced/);
    assert.equal(sha(bin), before);
  });
});

describe("vox upgrade guards", () => {
  test("a binary managed by a package manager is not replaced (managed-externally, exit 7)", () => {
    const { bin, env } = installed();
    writeFileSync(join(bin, "..", ".vox-managed-by"), "apt\n");
    const marked = vox(bin, ["upgrade", "--base-url", latestBase, "--json"], env);
    assert.equal(marked.status, 7, marked.stderr);
    assert.equal(JSON.parse(marked.stdout).status, "managed-externally");
    assert.match(marked.stderr, /it is managed by apt/);
    const npm = tempDir("npm");
    mkdirSync(join(npm, "node_modules", ".bin"), { recursive: true });
    execFileSync("tar", ["-xzf", voxArchive(r1), "-C", join(npm, "node_modules", ".bin")]);
    const viaNpm = vox(join(npm, "node_modules", ".bin", "vox"), ["upgrade", "--base-url", latestBase], env);
    assert.equal(viaNpm.status, 7);
    assert.match(viaNpm.stderr, /managed by npm\nhint: Use: npm update/);
  });

  test("a directory the user cannot write gets a message naming it (run as nobody)", () => {
    const { bin, dir, env } = installed();
    const asNobody = (extra: Record<string, string>) => spawnSync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", bin, "upgrade", "--base-url", latestBase], { encoding: "utf8", env: { ...env, ...extra } });
    chmodSync(dirname(dir), 0o700);
    const hidden = asNobody({});
    assert.equal(hidden.status, 1);
    assert.match(hidden.stderr, /its path cannot be resolved \(EACCES\)\nhint: Run the upgrade as the user who installed vox/);
    chmodSync(dirname(dir), 0o755);
    chmodSync(dir, 0o755);
    chownSync(bin, 65534, 65534);
    chmodSync(join(dir, "bin"), 0o755);
    const state = tempDir("state");
    chownSync(state, 65534, 65534);
    const result = spawnSync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", bin, "upgrade", "--base-url", latestBase], { encoding: "utf8", env: { ...env, VOX_STATE_DIR: state } });
    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stderr, new RegExp(`Cannot upgrade ${bin.replaceAll("/", "\\/")}: ${join(dir, "bin").replaceAll("/", "\\/")} is not writable \\(EACCES\\)`));
    assert.match(result.stderr, /hint: Run the upgrade as the user who installed vox/);
  });

  test("--from upgrades offline from a local archive and refuses one that does not match its checksums", () => {
    const { bin, env } = installed();
    const offline = tempDir("offline");
    cpSync(r2.dir, offline, { recursive: true });
    const archive = join(offline, `vox-v0.2.0-${TRIPLE}.tar.gz`);
    const tampered = tempDir("tampered");
    cpSync(r2.dir, tampered, { recursive: true });
    const bytes = readFileSync(join(tampered, `vox-v0.2.0-${TRIPLE}.tar.gz`));
    bytes[1000]! ^= 1;
    writeFileSync(join(tampered, `vox-v0.2.0-${TRIPLE}.tar.gz`), bytes);
    const bad = vox(bin, ["upgrade", "--from", join(tampered, `vox-v0.2.0-${TRIPLE}.tar.gz`)], env);
    assert.equal(bad.status, 6);
    assert.match(bad.stderr, /its sha256 is [0-9a-f]{64}, checksums\.txt says [0-9a-f]{64}/);
    const good = vox(bin, ["upgrade", "--from", archive], env);
    assert.equal(good.status, 0, good.stderr);
    assert.equal(versionOf(bin), "vox 0.2.0");
  });
});

describe("crash safety and locking", () => {
  /** Starts an upgrade that stops at `step`, waits until it says so, and kills it with SIGKILL. */
  function killAt(bin: string, env: Record<string, string>, step: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawn(bin, ["upgrade", "--version", "v0.2.0", "--base-url", plainBase], { env: { ...env, VOX_UPGRADE_PAUSE_AT: step }, stdio: ["ignore", "ignore", "pipe"] });
      let stderr = "";
      child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
        stderr += chunk;
        if (stderr.includes(`paused at ${step}`)) child.kill("SIGKILL");
      });
      child.on("exit", (code, signal) => (signal === "SIGKILL" ? resolve() : reject(new Error(`upgrade ended with ${code ?? signal} before ${step}: ${stderr}`))));
    });
  }

  for (const step of ["downloaded", "staged", "previous-kept", "swapped"]) {
    test(`SIGKILL at '${step}' leaves a runnable vox, and the next upgrade completes`, async () => {
      const { bin, env } = installed();
      await killAt(bin, env, step);
      assert.match(versionOf(bin), /^vox 0\.[12]\.0$/);
      const next = vox(bin, ["upgrade", "--version", "v0.2.0", "--base-url", plainBase], env);
      assert.equal(next.status, 0, next.stderr);
      assert.equal(versionOf(bin), "vox 0.2.0");
      assert.deepEqual(readdirSync(join(bin, "..")).sort(), ["vox", "vox.previous"], "the next run cleared what the killed one left");
    });
  }

  test("two concurrent upgrades: one swaps, the other reports who holds the lock; a dead holder's lock is taken over", async () => {
    const { bin, env } = installed();
    const first = spawn(bin, ["upgrade", "--version", "v0.2.0", "--base-url", plainBase], { env: { ...env, VOX_UPGRADE_PAUSE_AT: "staged" }, stdio: ["ignore", "ignore", "pipe"] });
    await new Promise<void>((resolve, reject) => {
      let stderr = "";
      first.stderr.setEncoding("utf8").on("data", (chunk: string) => {
        stderr += chunk;
        if (stderr.includes("paused at staged")) resolve();
      });
      // An upgrade that fails before the checkpoint fails this test instead of leaving it waiting.
      first.on("exit", (code, signal) => reject(new Error(`upgrade ended with ${code ?? signal} before staged: ${stderr}`)));
    });
    const second = await new Promise<{ status: number | null; stderr: string }>((resolve) => {
      const child = spawn(bin, ["upgrade", "--version", "v0.2.0", "--base-url", plainBase], { env: { ...env, VOX_UPGRADE_LOCK_WAIT_MS: "300" }, stdio: ["ignore", "ignore", "pipe"] });
      let stderr = "";
      child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
      child.on("exit", (status) => resolve({ status, stderr }));
    });
    assert.equal(second.status, 1);
    assert.match(second.stderr, new RegExp(`another vox process \\(pid ${first.pid}\\) holds`));
    // The paused upgrade is the relaunched image (same pid, runtime/mod.ts): the optimizing JIT tiers are off.
    assert.ok(readFileSync(`/proc/${first.pid}/environ`, "utf8").split("\0").includes("BUN_JSC_useDFGJIT=0"));
    assert.equal(versionOf(bin), "vox 0.1.0", "the waiting upgrade swapped nothing");
    first.kill("SIGKILL");
    await new Promise((r) => first.on("exit", r));
    const third = vox(bin, ["upgrade", "--version", "v0.2.0", "--base-url", plainBase], env);
    assert.equal(third.status, 0, third.stderr);
    assert.equal(versionOf(bin), "vox 0.2.0");
  });
});

describe("other sources", () => {
  test("GitHub: latest through the releases/latest redirect; a rate limit is its own status and exit code", async () => {
    const github = await startGithubStandIn([{ tag: "v0.1.0", dir: r1.dir }, { tag: "v0.2.0", dir: r2.dir }, { tag: "v0.3.0-rc.1", dir: rc.dir, prerelease: true }]);
    try {
      const { bin, env } = installed();
      const flags = ["--provider", "github", "--base-url", github.webUrl, "--github-api-url", github.apiUrl];
      const upgraded = await runAsync(bin, ["upgrade", ...flags, "--json"], { env, cwd: tempDir("cwd") });
      assert.equal(upgraded.status, 0, upgraded.stderr);
      assert.deepEqual([JSON.parse(upgraded.stdout).status, JSON.parse(upgraded.stdout).candidate], ["updated", "0.2.0"]);
      github.rateLimited = true;
      const limited = await runAsync(bin, ["upgrade", ...flags, "--channel", "next", "--json"], { env, cwd: tempDir("cwd") });
      assert.equal(limited.status, 4);
      assert.equal(JSON.parse(limited.stdout).status, "rate-limited");
      assert.match(limited.stderr, /rate limit is exhausted until 2030-01-01T00:00:00\.000Z/);
    } finally {
      await github.stop();
    }
  });

  test("an unreachable mirror is reported as offline (exit 5), the binary untouched", () => {
    const { bin, env } = installed();
    const result = vox(bin, ["upgrade", "--version", "v0.2.0", "--base-url", "http://127.0.0.1:9/releases", "--json"], env);
    assert.equal(result.status, 5, result.stderr);
    assert.equal(JSON.parse(result.stdout).status, "offline");
    assert.equal(versionOf(bin), "vox 0.1.0");
  });

  test("--source repo requires a clean git tree unless --allow-dirty, then rebuilds with the source-install argv", () => {
    const { bin, env } = installed();
    const checkout = copyCheckout();
    const refused = vox(bin, ["upgrade", "--source", "repo", "--force"], { ...env, VOX_REPO_ROOT: checkout });
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /Cannot rebuild vox from .*: it is not a git checkout\nhint: Commit or stash them, or pass --allow-dirty/);
    const version = JSON.parse(readFileSync(join(checkout, "package.json"), "utf8")).version;
    const rebuilt = vox(bin, ["upgrade", "--source", "repo", "--allow-dirty", "--force", "--json"], { ...env, VOX_REPO_ROOT: checkout });
    assert.equal(rebuilt.status, 0, rebuilt.stderr);
    assert.deepEqual([JSON.parse(rebuilt.stdout).status, JSON.parse(rebuilt.stdout).source], ["updated", "repo"]);
    assert.match(rebuilt.stderr, /source: npm ci --no-audit --no-fund/);
    assert.equal(versionOf(bin), `vox ${version}`);
  });
});

test("vox upgrade from source refuses to pretend: a from-source vox has nothing to replace", () => {
  const result = spawnSync(join(process.cwd(), "node_modules", ".bin", "bun"), ["main.ts", "upgrade"], { encoding: "utf8" });
  assert.equal(result.status, 1);
  assert.match(result.stderr, /this vox runs from source/);
});

