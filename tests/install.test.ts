// End to end: vox-bootstrap installs from a real nginx mirror and a GitHub stand-in; every tampering
// and hostile-archive case is refused with a precise message and leaves the install directory as it was.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { after, before, describe, test } from "node:test";
import { copyCheckout, repoRoot, runAsync, tempDir } from "./support/helpers.ts";
import { startGithubStandIn } from "./support/github.ts";
import { type RunningServer, startNginx } from "./support/nginx.ts";
import { hostRelease, testKey, testMirrorKey } from "./support/releases.ts";

const TRIPLE = "x86_64-unknown-linux-gnu";
const r1 = hostRelease("v0.1.0");
const r2 = hostRelease("v0.2.0");
const key = testKey();
const mirrorKey = testMirrorKey();
const webRoot = tempDir("www");
let nginx: RunningServer;

const tools = tempDir("tools");
execFileSync("tar", ["-xzf", join(r1.dir, `vox-bootstrap-v0.1.0-${TRIPLE}.tar.gz`), "-C", tools]);
execFileSync("tar", ["-xzf", join(r2.dir, `vox-v0.2.0-${TRIPLE}.tar.gz`), "-C", tools]);
const bootstrap = join(tools, "vox-bootstrap");
const vox = join(tools, "vox");

/** A fresh mirror under the nginx root holding copies of `releases`; `edit` may then damage one. */
function mirror(name: string, releases = [r1], edit?: (releaseDir: string) => void): string {
  for (const release of releases) cpSync(release.dir, join(webRoot, name, "releases", "download", release.tag), { recursive: true });
  edit?.(join(webRoot, name, "releases", "download", releases[0]!.tag));
  return `${nginx.url}/${name}/releases`;
}

/** Every file under `dir` with its sha256, to prove a failed install changed nothing. */
function snapshot(dir: string): Record<string, string> {
  if (!existsSync(dir)) return {};
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else out[relative(dir, path)] = `${statSync(path).mode.toString(8)} ${createHash("sha256").update(readFileSync(path)).digest("hex")}`;
    }
  };
  walk(dir);
  return out;
}

function home(): { home: string; installDir: string } {
  const dir = tempDir("home");
  const installDir = join(dir, ".vox", "bin");
  mkdirSync(installDir, { recursive: true });
  writeFileSync(join(installDir, "vox"), "#!/bin/sh\necho 'vox 0.0.1'\n", { mode: 0o755 });
  writeFileSync(join(dir, ".profile"), "# user profile\n");
  return { home: dir, installDir };
}

function runBootstrap(args: string[], env: Record<string, string>, cwd = tempDir("cwd")) {
  return spawnSync(bootstrap, args, { cwd, env: { PATH: process.env.PATH!, ...env }, encoding: "utf8" });
}

/** For the GitHub stand-in, which runs in this process: spawnSync would block the server it talks to. */
function runBootstrapAsync(args: string[], env: Record<string, string>) {
  return runAsync(bootstrap, args, { cwd: tempDir("cwd"), env: { PATH: process.env.PATH!, ...env } });
}

function resign(releaseDir: string, tag: string, secretKey = key.sec): void {
  execFileSync(vox, ["ci", "sign", "--key", secretKey, "--tag", tag, join(releaseDir, "checksums.txt")], { stdio: "ignore" });
}

before(async () => {
  nginx = await startNginx(webRoot);
});
after(async () => {
  await nginx.stop();
});

describe("vox-bootstrap --install from a static mirror (nginx)", () => {
  test("installs the verified vox, writes a receipt and a PATH block, and uninstall removes exactly that", () => {
    const base = mirror("good");
    const dir = tempDir("home");
    writeFileSync(join(dir, ".profile"), "# user profile\n");
    writeFileSync(join(dir, ".bashrc"), "# bash\n");
    const before = snapshot(dir);
    const result = runBootstrap(["--install", "--base-url", base, "--version", "v0.1.0"], { HOME: dir });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, `installed vox 0.1.0 (${TRIPLE}, binary) at ${join(dir, ".vox", "bin", "vox")}\n`);
    assert.equal(execFileSync(join(dir, ".vox", "bin", "vox"), ["--version"], { encoding: "utf8" }), "vox 0.1.0\n");
    assert.deepEqual(readdirSync(join(dir, ".vox", "bin")).sort(), [".vox-receipt.json", "vox"]);
    const receipt = JSON.parse(readFileSync(join(dir, ".vox", "bin", ".vox-receipt.json"), "utf8"));
    assert.deepEqual([receipt.version, receipt.source, receipt.files, receipt.profileEdits], ["0.1.0", "binary", [join(dir, ".vox", "bin", "vox")], [join(dir, ".profile"), join(dir, ".bashrc")]]);
    assert.match(readFileSync(join(dir, ".profile"), "utf8"), /^# user profile\n# >>> vox >>>\n[\s\S]*# <<< vox <<<\n$/);
    const removed = spawnSync(join(dir, ".vox", "bin", "vox"), ["self", "uninstall"], { encoding: "utf8", env: { ...process.env, HOME: dir } });
    assert.equal(removed.status, 0, removed.stderr);
    assert.deepEqual(snapshot(dir), before);
    assert.ok(!existsSync(join(dir, ".vox")));
  });

  test("a profile that install had to create is deleted again by uninstall", () => {
    const dir = tempDir("home");
    const result = runBootstrap(["--install", "--base-url", mirror("fresh-home"), "--version", "v0.1.0"], { HOME: dir });
    assert.equal(result.status, 0, result.stderr);
    assert.ok(existsSync(join(dir, ".profile")));
    execFileSync(join(dir, ".vox", "bin", "vox"), ["self", "uninstall"], { env: { ...process.env, HOME: dir } });
    assert.deepEqual(readdirSync(dir), []);
  });

  test("plan prints the URLs and steps as JSON and changes nothing", () => {
    const base = mirror("plan");
    const { home: dir, installDir } = home();
    const before = snapshot(dir);
    const result = runBootstrap(["plan", "--base-url", base, "--version", "v0.1.0"], { HOME: dir });
    assert.equal(result.status, 0, result.stderr);
    const plan = JSON.parse(result.stdout);
    assert.equal(plan.triple, TRIPLE);
    assert.equal(plan.install_dir, installDir);
    assert.deepEqual(plan.downloads, [`${base}/download/v0.1.0/checksums.txt`, `${base}/download/v0.1.0/checksums.txt.minisig`, `${base}/download/v0.1.0/vox-v0.1.0-${TRIPLE}.tar.gz`]);
    assert.deepEqual(snapshot(dir), before);
  });

  test("a mirror without a version and without an index gets a clear error", () => {
    const base = mirror("noindex");
    const { home: dir } = home();
    const result = runBootstrap(["--install", "--base-url", base, "--no-fallback"], { HOME: dir });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /Cannot tell the latest release of the mirror .* it has no signed index\.json/);
    assert.match(result.stderr, /pass --version v<semver>/);
  });
});

describe("vox-bootstrap refuses tampered releases and leaves the install directory byte for byte as it was", () => {
  const asset = `vox-v0.1.0-${TRIPLE}.tar.gz`;
  const cases: Array<[string, (dir: string) => void, RegExp]> = [
    [
      "one flipped byte in the archive",
      (dir) => {
        const bytes = readFileSync(join(dir, asset));
        bytes[bytes.length >> 1]! ^= 1;
        writeFileSync(join(dir, asset), bytes);
      },
      new RegExp(`Cannot accept http://127\\.0\\.0\\.1:\\d+/flip/releases/download/v0\\.1\\.0/${asset.replaceAll(".", "\\.")}: its sha256 is [0-9a-f]{64}, expected [0-9a-f]{64}`),
    ],
    ["an edited line of checksums.txt", (dir) => writeFileSync(join(dir, "checksums.txt"), readFileSync(join(dir, "checksums.txt"), "utf8").replace(/^./, (c) => (c === "a" ? "b" : "a"))), /does not match the file or its trusted comment/],
    ["a missing signature", (dir) => rmSync(join(dir, "checksums.txt.minisig")), /checksums\.txt\.minisig does not exist[\s\S]*An unsigned release is never installed/],
    [
      "a signature by a foreign key",
      (dir) => {
        const stranger = tempDir("stranger");
        execFileSync("minisign", ["-G", "-W", "-p", join(stranger, "k.pub"), "-s", join(stranger, "k.sec")], { stdio: "ignore" });
        resign(dir, "v0.1.0", join(stranger, "k.sec"));
      },
      /which is not trusted/,
    ],
    ["a signature whose trusted comment names another tag", (dir) => resign(dir, "v0.2.0"), /signed for tag 'v0\.2\.0', expected 'v0\.1\.0'/],
  ];
  const names = ["flip", "line", "nosig", "foreign", "othertag"];
  cases.forEach(([label, edit, expected], i) => {
    test(label, () => {
      const base = mirror(names[i]!, [r1], edit);
      const { home: dir } = home();
      const before = snapshot(dir);
      const result = runBootstrap(["--install", "--base-url", base, "--version", "v0.1.0"], { HOME: dir, VOX_REPO_ROOT: repoRoot });
      assert.equal(result.status, 1, result.stdout);
      assert.match(result.stderr, expected);
      assert.doesNotMatch(result.stderr, /building from source/, "a verification failure never falls back");
      assert.deepEqual(snapshot(dir), before);
    });
  });
});

describe("vox-bootstrap refuses hostile archives (validly signed) the same way", () => {
  const hostile: Array<[string, string, RegExp]> = [
    ["a second entry", "t.add('vox', 'vox'); t.add('vox', 'evil')", /second entry 'evil'/],
    ["a parent-escaping name", "t.add('vox', '../vox')", /'\.\.\/vox' would escape/],
    ["an absolute name", "i = tarfile.TarInfo('/tmp/vox'); i.size = 4; t.addfile(i, io.BytesIO(b'boom'))", /absolute path/],
    ["a symlink", "i = tarfile.TarInfo('vox'); i.type = tarfile.SYMTYPE; i.linkname = '/bin/sh'; t.addfile(i)", /symbolic link/],
    ["a hardlink", "i = tarfile.TarInfo('vox'); i.type = tarfile.LNKTYPE; i.linkname = '/bin/sh'; t.addfile(i)", /hard link/],
    ["a device node", "i = tarfile.TarInfo('vox'); i.type = tarfile.BLKTYPE; i.devmajor = 8; t.addfile(i)", /block device/],
    ["an entry over the size cap", "i = tarfile.TarInfo('vox'); i.size = 600 * 1024 * 1024; t.fileobj.write(i.tobuf(tarfile.GNU_FORMAT))", /over the \d+-byte cap/],
  ];
  hostile.forEach(([label, body, expected], i) => {
    test(label, () => {
      const base = mirror(`hostile${i}`, [r1], (dir) => {
        writeFileSync(join(dir, "vox"), "#!/bin/sh\necho pwned\n");
        execFileSync("python3", ["-c", `import io, tarfile\nwith tarfile.open('vox-v0.1.0-${TRIPLE}.tar.gz', 'w:gz', format=tarfile.GNU_FORMAT) as t:\n  ${body}`], { cwd: dir });
        rmSync(join(dir, "vox"));
        execFileSync(vox, ["ci", "checksums", dir], { stdio: "ignore" });
        resign(dir, "v0.1.0");
      });
      const { home: dir } = home();
      const before = snapshot(dir);
      const result = runBootstrap(["--install", "--base-url", base, "--version", "v0.1.0"], { HOME: dir, VOX_REPO_ROOT: repoRoot });
      assert.equal(result.status, 1, result.stdout);
      assert.match(result.stderr, /Cannot extract .*vox-v0\.1\.0-x86_64-unknown-linux-gnu\.tar\.gz/);
      assert.match(result.stderr, expected);
      assert.doesNotMatch(result.stderr, /building from source/);
      assert.deepEqual(snapshot(dir), before);
    });
  });
});

describe("source fallback: only a named checkout the user owns, only the version asked for, only when no binary can exist", () => {
  /**
   * A checkout-shaped directory with no dependencies: `npm ci` runs its lifecycle scripts (the attack), then the
   * build step fails at once (no Bun in it), so reaching that failure proves the fallback ran.
   */
  function fakeCheckout(version: string, preinstallMarker?: string): string {
    const dir = tempDir("fake-checkout");
    mkdirSync(join(dir, "policy"));
    writeFileSync(join(dir, "policy", "source_install.ts"), "// marker\n");
    const scripts = preinstallMarker ? { preinstall: `touch ${preinstallMarker}` } : {};
    writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "vox-distributor", version, scripts }));
    const lock = { name: "vox-distributor", version, lockfileVersion: 3, requires: true, packages: { "": { name: "vox-distributor", version } } };
    writeFileSync(join(dir, "package-lock.json"), JSON.stringify(lock));
    return dir;
  }
  const noAssetMirror = (name: string) =>
    mirror(name, [r1], (dir) => {
      writeFileSync(join(dir, "checksums.txt"), readFileSync(join(dir, "checksums.txt"), "utf8").split("\n").filter((l) => !l.includes(`vox-v0.1.0-${TRIPLE}`)).join("\n"));
      resign(dir, "v0.1.0");
    });

  test("a checkout planted above the working directory is never searched for or run, whatever the failure", () => {
    const planted = tempDir("world-writable");
    chmodSync(planted, 0o777);
    const pwned = join(tempDir("proof"), "pwned");
    const evil = fakeCheckout("0.1.0", pwned);
    cpSync(evil, planted, { recursive: true });
    const cwd = join(planted, "project");
    mkdirSync(cwd);
    const { home: dir } = home();
    const before = snapshot(dir);
    for (const base of [`${nginx.url}/missing/releases`, noAssetMirror("noasset-planted")]) {
      const result = runBootstrap(["--install", "--base-url", base, "--version", "v0.1.0"], { HOME: dir }, cwd);
      assert.equal(result.status, 1, result.stdout);
      assert.doesNotMatch(result.stderr, /building/);
      assert.ok(!existsSync(pwned), "the planted preinstall script did not run");
      assert.deepEqual(snapshot(dir), before);
    }
  });

  test("a status the server chose (404, 503) never falls back, even with a named checkout", async () => {
    const checkout = fakeCheckout("0.1.0");
    const { createServer } = await import("node:http");
    const server = createServer((_, response) => response.writeHead(503).end("maintenance"));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const port = (server.address() as { port: number }).port;
      for (const base of [`${nginx.url}/missing/releases`, `http://127.0.0.1:${port}/releases`]) {
        const { home: dir } = home();
        const result = await runAsync(bootstrap, ["--install", "--base-url", base, "--version", "v0.1.0"], { cwd: tempDir("cwd"), env: { PATH: process.env.PATH!, HOME: dir, VOX_REPO_ROOT: checkout } });
        assert.equal(result.status, 1, result.stdout);
        assert.match(result.stderr, /the server answered (404|503)/);
        assert.doesNotMatch(result.stderr, /building/);
      }
    } finally {
      server.close();
    }
  });

  test("no binary for this platform: the named checkout is built only at the requested version", () => {
    const base = noAssetMirror("noasset");
    const { home: dir, installDir } = home();
    const before = snapshot(installDir); // not all of HOME: the fallback's npm writes its logs under ~/.npm
    const other = runBootstrap(["--install", "--base-url", base, "--version", "v0.1.0"], { HOME: dir, VOX_REPO_ROOT: fakeCheckout("1.1.0") });
    assert.equal(other.status, 1);
    assert.match(other.stderr, /Cannot build vox 0\.1\.0 from .*: the checkout is at version 1\.1\.0\nhint: Check out v0\.1\.0/);
    const same = runBootstrap(["--install", "--base-url", base, "--version", "v0.1.0"], { HOME: dir, VOX_REPO_ROOT: fakeCheckout("0.1.0") });
    assert.equal(same.status, 1);
    assert.match(same.stderr, /warning: binary install failed \(.*lists no vox-v0\.1\.0-x86_64-unknown-linux-gnu\.tar\.gz\); building v0\.1\.0 from .* instead/);
    assert.match(same.stderr, /source install: npm ci[\s\S]*Cannot build vox from source in .*: '.*bun build.*' exited/, "the fallback ran the checkout's build");
    const none = runBootstrap(["--install", "--base-url", base, "--version", "v0.1.0"], { HOME: dir });
    assert.equal(none.status, 1);
    assert.doesNotMatch(none.stderr, /building/);
    const strict = runBootstrap(["--install", "--base-url", base, "--version", "v0.1.0", "--no-fallback"], { HOME: dir, VOX_REPO_ROOT: fakeCheckout("0.1.0") });
    assert.equal(strict.status, 1);
    assert.doesNotMatch(strict.stderr, /building/);
    assert.deepEqual(snapshot(installDir), before);
  });

  test("a checkout another user owns or could write is refused before anything in it runs", () => {
    const { home: dir } = home();
    const pwned = join(tempDir("proof"), "pwned");
    const shared = fakeCheckout("0.1.0", pwned);
    chmodSync(join(shared, "package.json"), 0o666);
    const writable = runBootstrap(["--install", "--source-only"], { HOME: dir, VOX_REPO_ROOT: shared });
    assert.equal(writable.status, 2);
    assert.match(writable.stderr, /Cannot build vox from .*package\.json is writable by others \(mode 0666\)/);
    const foreign = fakeCheckout("0.1.0", pwned);
    chownSync(foreign, 65534, 65534);
    const owned = runBootstrap(["--install", "--source-only"], { HOME: dir, VOX_REPO_ROOT: foreign });
    assert.equal(owned.status, 2);
    assert.match(owned.stderr, /is owned by uid 65534, not by you \(uid 0\) or root/);
    assert.ok(!existsSync(pwned));
  });

  test("--source-only without a named checkout is a usage error (exit 2)", () => {
    const result = runBootstrap(["--install", "--source-only"], { HOME: tempDir("home") }, repoRoot);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /Cannot build vox from source: no checkout was named\nhint: Pass --repo-root/);
  });
});

describe("source install", () => {
  test("--source-only runs the policy's source-install argv (npm ci, bun build) in the checkout and installs its version", () => {
    const checkout = copyCheckout();
    const version = JSON.parse(readFileSync(join(checkout, "package.json"), "utf8")).version;
    const dir = tempDir("home");
    const result = runBootstrap(["--install", "--source-only", "--no-modify-path", "--json"], { HOME: dir, VOX_REPO_ROOT: checkout });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stderr, /source install: npm ci --no-audit --no-fund\nsource install: npx --no-install bun build --compile --minify --splitting --format=esm --bytecode --no-compile-autoload-dotenv --no-compile-autoload-bunfig --compile-exec-argv=--smol --target=bun-linux-x64-baseline/);
    const report = JSON.parse(result.stdout);
    assert.deepEqual([report.source, report.version, report.origin], ["source", version, checkout]);
    assert.equal(execFileSync(join(dir, ".vox", "bin", "vox"), ["--version"], { encoding: "utf8" }), `vox ${version}\n`);
  });
});

describe("vox mirror sync and a signed index", () => {
  test("sync copies and verifies releases, signs an index, and installs resolve 'latest' from it", () => {
    const source = mirror("upstream", [r1, r2]);
    const out = join(webRoot, "synced", "releases");
    const synced = spawnSync(vox, ["mirror", "sync", "--to", out, "--from-base-url", source, "--version", "v0.1.0", "--version", "v0.2.0", "--key", mirrorKey.sec, "--json"], { encoding: "utf8" });
    assert.equal(synced.status, 0, synced.stderr);
    const report = JSON.parse(synced.stdout);
    assert.deepEqual([report.index.serial, report.index.latest], [1, "v0.2.0"]);
    const verified = spawnSync(vox, ["mirror", "verify", out, "--mirror-key", mirrorKey.pub], { encoding: "utf8" });
    assert.equal(verified.status, 0, verified.stdout + verified.stderr);
    assert.match(verified.stdout, /^ok +v0\.1\.0 [\s\S]*^ok +v0\.2\.0 /m);
    const again = JSON.parse(spawnSync(vox, ["mirror", "sync", "--to", out, "--from-base-url", source, "--version", "v0.2.0", "--key", mirrorKey.sec, "--json"], { encoding: "utf8" }).stdout);
    assert.deepEqual([again.index.serial, again.synced[0].skipped], [2, true]);

    const base = `${nginx.url}/synced/releases`;
    const dir = tempDir("home");
    const installed = runBootstrap(["--install", "--base-url", base, "--no-modify-path"], { HOME: dir, ...mirrorKey.env });
    assert.equal(installed.status, 0, installed.stderr);
    assert.equal(execFileSync(join(dir, ".vox", "bin", "vox"), ["--version"], { encoding: "utf8" }), "vox 0.2.0\n");
  });

  test("mirror verify catches an archive changed after sync", () => {
    const out = join(tempDir("synced"), "releases");
    const synced = spawnSync(vox, ["mirror", "sync", "--to", out, "--from-base-url", mirror("upstream2"), "--version", "v0.1.0", "--key", mirrorKey.sec], { encoding: "utf8" });
    assert.equal(synced.status, 0, synced.stderr);
    const archive = join(out, "download", "v0.1.0", `vox-v0.1.0-${TRIPLE}.tar.gz`);
    const bytes = readFileSync(archive);
    bytes[5000]! ^= 1;
    writeFileSync(archive, bytes);
    const verified = spawnSync(vox, ["mirror", "verify", out, "--mirror-key", mirrorKey.pub], { encoding: "utf8" });
    assert.equal(verified.status, 1);
    assert.match(verified.stdout, /FAIL {2}v0\.1\.0[\s\S]*sha256 is/);
  });
});

describe("vox-bootstrap --install from GitHub (loopback stand-in)", () => {
  test("resolves latest through the releases/latest redirect, cross-checks the API digest, and installs", async () => {
    const github = await startGithubStandIn([{ tag: "v0.1.0", dir: r1.dir }]);
    try {
      const dir = tempDir("home");
      const result = await runBootstrapAsync(["--install", "--provider", "github", "--base-url", github.webUrl, "--github-api-url", github.apiUrl, "--no-modify-path"], { HOME: dir });
      assert.equal(result.status, 0, result.stderr);
      assert.equal(execFileSync(join(dir, ".vox", "bin", "vox"), ["--version"], { encoding: "utf8" }), "vox 0.1.0\n");
      assert.deepEqual(github.apiRequests.map((r) => r.url), ["/api/repos/vox-foundation/vox/releases/tags/v0.1.0"], "latest costs no API call; only the digest lookup does");
    } finally {
      await github.stop();
    }
  });

  test("refuses an asset whose API digest disagrees with the signed checksums", async () => {
    const github = await startGithubStandIn([{ tag: "v0.1.0", dir: r1.dir, digests: { [`vox-v0.1.0-${TRIPLE}.tar.gz`]: `sha256:${"0".repeat(64)}` } }]);
    try {
      const { home: dir } = home();
      const before = snapshot(dir);
      const result = await runBootstrapAsync(["--install", "--provider", "github", "--base-url", github.webUrl, "--github-api-url", github.apiUrl, "--version", "v0.1.0"], { HOME: dir, VOX_REPO_ROOT: repoRoot });
      assert.equal(result.status, 1);
      assert.match(result.stderr, /the provider records sha256 0{64}, the signed checksums\.txt says [0-9a-f]{64}/);
      assert.deepEqual(snapshot(dir), before);
    } finally {
      await github.stop();
    }
  });

  test("a rejected token is dropped with a warning; a rate limit is reported with its reset time and exit 4", async () => {
    const github = await startGithubStandIn([{ tag: "v0.1.0", dir: r1.dir }, { tag: "v0.2.0-rc.1", dir: r2.dir, prerelease: true }], { validToken: "good" });
    try {
      const dir = tempDir("home");
      const warned = await runBootstrapAsync(["plan", "--provider", "github", "--base-url", github.webUrl, "--github-api-url", github.apiUrl, "--allow-prerelease"], { HOME: dir, GH_TOKEN: "bad" });
      assert.equal(warned.status, 0, warned.stderr);
      assert.match(warned.stderr, /GitHub rejected the token from GH_TOKEN \(401\); continuing without it/);
      assert.equal(JSON.parse(warned.stdout).tag, "v0.2.0-rc.1");
      github.rateLimited = true;
      const limited = await runBootstrapAsync(["--install", "--provider", "github", "--base-url", github.webUrl, "--github-api-url", github.apiUrl, "--allow-prerelease", "--no-fallback"], { HOME: dir });
      assert.equal(limited.status, 4);
      assert.match(limited.stderr, /API rate limit is exhausted until 2030-01-01T00:00:00\.000Z/);
    } finally {
      await github.stop();
    }
  });
});
