// End to end: install.sh as released (the release build embeds the trusted keys) run by dash against real nginx
// mirrors over https and http: the README's curl-pipe line, https only, no downgrade redirect, the shell-stage
// signature check with minisign or openssl, latest only from a signed source, size caps, and what a synced mirror
// serves to an unprivileged web server.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { parse } from "yaml";
import { TRUSTED_KEYS } from "../policy/mod.ts";
import { MAX_EXECUTABLE_BYTES } from "../release/mod.ts";
import { minisignKeys, repoRoot, runAsync, tempDir } from "./support/helpers.ts";
import { type RunningServer, selfSignedCert, startNginx } from "./support/nginx.ts";
import { hostRelease, testKey, testMirrorKey } from "./support/releases.ts";

const TRIPLE = "x86_64-unknown-linux-gnu";
const BOOTSTRAP = `vox-bootstrap-v0.1.0-${TRIPLE}.tar.gz`;
const r1 = hostRelease("v0.1.0");
const r2 = hostRelease("v0.2.0");
const key = testKey();
const mirrorKey = testMirrorKey();
const pki = selfSignedCert();
const webRoot = tempDir("www");
let http: RunningServer;
let https: RunningServer;

const tools = tempDir("tools");
execFileSync("tar", ["-xzf", join(r2.dir, `vox-v0.2.0-${TRIPLE}.tar.gz`), "-C", tools]);
const vox = join(tools, "vox");
/** install.sh as the release build wrote it, trusting the test key. */
const script = join(r1.dir, "install.sh");

before(async () => {
  http = await startNginx(webRoot);
  https = await startNginx(webRoot, { tls: pki, serverConfig: `location /downgrade/ { rewrite ^/downgrade/(.*)$ ${http.url}/$1 redirect; }` });
});
after(async () => {
  await Promise.all([http.stop(), https.stop()]);
});

/** A mirror under the web root holding copies of `releases`, `latest/download` naming the last; `edit` may damage it. */
function mirror(name: string, releases = [r1], edit?: (root: string) => void): string {
  const root = join(webRoot, name, "releases");
  for (const release of releases) cpSync(release.dir, join(root, "download", release.tag), { recursive: true });
  mkdirSync(join(root, "latest"));
  symlinkSync(join("..", "download", releases.at(-1)!.tag), join(root, "latest", "download"));
  edit?.(root);
  return `${https.url}/${name}/releases`;
}

/** Replaces vox-bootstrap with a script that leaves a mark, and rewrites checksums.txt to match (unsigned). */
function substituteBootstrap(releaseDir: string, name = BOOTSTRAP): void {
  const evil = tempDir("evil");
  writeFileSync(join(evil, "vox-bootstrap"), '#!/bin/sh\ntouch "$HOME/pwned"\n', { mode: 0o755 });
  execFileSync("tar", ["-czf", join(releaseDir, name), "-C", evil, "vox-bootstrap"]);
  const sums = readFileSync(join(releaseDir, "checksums.txt"), "utf8").split("\n").filter((l) => l && !l.endsWith(`  ${name}`));
  const sha = execFileSync("sha256sum", [join(releaseDir, name)], { encoding: "utf8" }).slice(0, 64);
  writeFileSync(join(releaseDir, "checksums.txt"), [...sums, `${sha}  ${name}`].sort((a, b) => a.slice(66).localeCompare(b.slice(66))).join("\n") + "\n");
}

function resign(releaseDir: string, tag: string, secretKey = key.sec): void {
  execFileSync(vox, ["ci", "sign", "--key", secretKey, "--tag", tag, join(releaseDir, "checksums.txt")], { stdio: "ignore" });
}

/** A PATH holding every tool of this host's PATH except `missing`, to run the script on a host without them. */
function hostPathWithout(missing: readonly string[]): string {
  const bin = tempDir("bin");
  for (const dir of process.env.PATH!.split(":")) {
    for (const name of existsSync(dir) ? readdirSync(dir) : []) {
      if (!missing.includes(name) && !existsSync(join(bin, name))) symlinkSync(join(dir, name), join(bin, name));
    }
  }
  return bin;
}

const VERIFIERS = { minisign: process.env.PATH!, openssl: hostPathWithout(["minisign"]) } as const;
const NO_VERIFIER = hostPathWithout(["minisign", "openssl"]);

function run(base: string, env: Record<string, string> = {}, options: { path?: string; scriptPath?: string } = {}) {
  const home = tempDir("home");
  const result = spawnSync("/usr/bin/dash", [options.scriptPath ?? script, "--no-modify-path"], {
    env: { PATH: options.path ?? process.env.PATH!, HOME: home, VOX_UPGRADE_BASE_URL: base, CURL_CA_BUNDLE: pki.cert, VOX_CA_BUNDLE: pki.cert, ...env },
    encoding: "utf8",
  });
  return { ...result, home, installed: () => execFileSync(join(home, ".vox", "bin", "vox"), ["--version"], { encoding: "utf8" }) };
}

/** Every entry under `dir` as `d755 path`, `f644 path` or `l path` (type, then mode). */
function modes(dir: string, prefix = ""): string[] {
  return readdirSync(dir).sort().flatMap((name) => {
    const stat = lstatSync(join(dir, name));
    const path = `${prefix}${name}`;
    if (stat.isSymbolicLink()) return [`l ${path}`];
    const line = `${stat.isDirectory() ? "d" : "f"}${(stat.mode & 0o7777).toString(8)} ${path}`;
    return stat.isDirectory() ? [line, ...modes(join(dir, name), `${path}/`)] : [line];
  });
}

describe("install.sh as released", () => {
  test("passes shellcheck as POSIX sh, as written and as the release build writes it", () => {
    execFileSync("shellcheck", ["-s", "sh", join(repoRoot, "install.sh"), script]);
  });

  test("embeds the policy's trusted keys and the build's --trusted-key, and the release signs it", () => {
    const text = readFileSync(script, "utf8");
    const testKeyLine = readFileSync(key.pub, "utf8").trim().split("\n")[1]!;
    assert.equal(/^ {2}trusted_keys="([^"]*)"$/m.exec(text)?.[1], [...TRUSTED_KEYS.map((k) => k.publicKey), testKeyLine].join(" "));
    assert.ok(readFileSync(join(r1.dir, "install.ps1"), "utf8").includes(`'${testKeyLine}'`));
    const sums = readFileSync(join(r1.dir, "checksums.txt"), "utf8");
    assert.match(sums, /^[0-9a-f]{64} {2}install\.ps1\n[0-9a-f]{64} {2}install\.sh\n/m);
    execFileSync("sha256sum", ["-c", "--strict", "checksums.txt"], { cwd: r1.dir });
    execFileSync("minisign", ["-V", "-p", key.pub, "-m", join(r1.dir, "checksums.txt")], { stdio: "ignore" });
  });

  test("the release workflow uploads the install scripts from one build job and publishes them with the archives", () => {
    const workflow = parse(readFileSync(join(repoRoot, ".github", "workflows", "release-binaries.yml"), "utf8"));
    type Step = { uses?: string; if?: string; run?: string; with?: Record<string, string> };
    const uploads = (workflow.jobs.build.steps as Step[]).filter((s) => s.uses?.startsWith("actions/upload-artifact") && /dist\/install\.sh\n/.test(`${s.with?.path}\n`));
    assert.equal(uploads.length, 1, "one upload carries install.sh");
    assert.match(uploads[0]!.with!.path!, /^dist\/install\.sh\ndist\/install\.ps1\n?$/);
    const publish = workflow.jobs.publish.steps as Step[];
    const download = publish.findIndex((s) => s.uses?.startsWith("actions/download-artifact") && s.with?.name === uploads[0]!.with!.name && s.with?.path === "release");
    const checksums = publish.findIndex((s) => s.run?.includes("ci checksums release"));
    assert.ok(download >= 0 && download < checksums, "the scripts are in release/ before checksums.txt is written");
    assert.ok(publish.some((s) => s.run?.includes('gh release create "$TAG" release/*')));
  });

  test("caps the vox-bootstrap archive at the size vox-bootstrap caps release archives", () => {
    assert.match(readFileSync(script, "utf8"), new RegExp(`^ {2}archive_cap=${MAX_EXECUTABLE_BYTES}$`, "m"));
  });
});

describe("the README's curl-pipe line against a mirror made by vox mirror sync, served by nginx as an unprivileged user", () => {
  test("sync writes 0755 directories and 0644 files under umask 077, verify checks the install scripts, and the README line installs the latest release", () => {
    const upstream = mirror("upstream", [r1, r2]);
    const out = join(webRoot, "synced", "releases");
    const synced = spawnSync("sh", ["-c", 'umask 077; exec "$@"', "sh", vox, "mirror", "sync", "--to", out, "--from-base-url", upstream, "--version", "v0.1.0", "--version", "v0.2.0", "--key", mirrorKey.sec], { env: { ...process.env, VOX_CA_BUNDLE: pki.cert }, encoding: "utf8" });
    assert.equal(synced.status, 0, synced.stderr);
    const listing = modes(out);
    for (const expected of ["f644 download/v0.2.0/install.sh", "f644 download/v0.1.0/install.ps1", "f644 index.json", "d755 download/v0.1.0", "l latest/download"]) assert.ok(listing.includes(expected), `${expected} in\n${listing.join("\n")}`);
    assert.deepEqual(listing.filter((l) => !/^(d755|f644|l) /.test(l)), [], "directories 0755, files 0644, whatever the umask");

    const verified = spawnSync(vox, ["mirror", "verify", out, "--mirror-key", mirrorKey.pub], { encoding: "utf8" });
    assert.equal(verified.status, 0, verified.stdout + verified.stderr);

    const readme = readFileSync(join(repoRoot, "README.md"), "utf8");
    const line = /^curl -fsSL (https:\/\/\S+)\/latest\/download\/install\.sh \| sh\b/m.exec(readme);
    assert.ok(line, "the README shows the curl-pipe line");
    const base = `${https.url}/synced/releases`;
    const home = tempDir("home");
    const result = spawnSync("dash", ["-c", line[0].replace(line[1]!, base)], {
      env: { PATH: process.env.PATH!, HOME: home, VOX_UPGRADE_BASE_URL: base, CURL_CA_BUNDLE: pki.cert, VOX_CA_BUNDLE: pki.cert, ...mirrorKey.env },
      encoding: "utf8",
    });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stderr, /latest release is v0\.2\.0 \(from the signed checksums\.txt of .*\/latest\/download\/\)/);
    assert.match(result.stderr, /checksums\.txt of v0\.2\.0: signature verified by minisign/);
    assert.equal(execFileSync(join(home, ".vox", "bin", "vox"), ["--version"], { encoding: "utf8" }), "vox 0.2.0\n");

    const changed = join(tempDir("changed"), "releases");
    cpSync(out, changed, { recursive: true, verbatimSymlinks: true });
    writeFileSync(join(changed, "download", "v0.1.0", "install.sh"), "#!/bin/sh\necho pwned\n");
    const caught = spawnSync(vox, ["mirror", "verify", changed, "--mirror-key", mirrorKey.pub], { encoding: "utf8" });
    assert.equal(caught.status, 1);
    assert.match(caught.stdout, /FAIL {2}v0\.1\.0 [\s\S]*install\.sh: sha256 is/);
    rmSync(join(changed, "latest", "download"));
    symlinkSync(join("..", "download", "v0.1.0"), join(changed, "latest", "download"));
    const stale = spawnSync(vox, ["mirror", "verify", changed, "--mirror-key", mirrorKey.pub], { encoding: "utf8" });
    assert.equal(stale.status, 1);
    assert.match(stale.stderr, /latest\/download does not lead to download\/v0\.2\.0, the index's latest/);
  });
});

describe("install.sh accepts only https, unless one plain-http mirror is named", () => {
  test("refuses a plain-http base, and one that another opt-in names, running nothing", () => {
    const base = mirror("plain").replace(https.url, http.url);
    const refused = run(base);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /refusing the plain-http base http:\/\/127\.0\.0\.1:\d+\/plain\/releases: .* set VOX_INSECURE_HTTP_MIRROR=http:\/\/127\.0\.0\.1:\d+\/plain\/releases/);
    assert.deepEqual(readdirSync(refused.home), []);
    const other = run(base, { VOX_INSECURE_HTTP_MIRROR: `${http.url}/elsewhere/releases`, VOX_VERSION: "v0.1.0" });
    assert.equal(other.status, 1);
    assert.deepEqual(readdirSync(other.home), []);
  });

  test("installs from the plain-http mirror VOX_INSECURE_HTTP_MIRROR names, only with the signature verified", () => {
    const base = mirror("plain-ok").replace(https.url, http.url);
    const ok = run(base, { VOX_INSECURE_HTTP_MIRROR: `${base}/`, VOX_VERSION: "v0.1.0" });
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stderr, /plain http, as VOX_INSECURE_HTTP_MIRROR allows/);
    assert.equal(ok.installed(), "vox 0.1.0\n");
    const unverifiable = run(base, { VOX_INSECURE_HTTP_MIRROR: base, VOX_VERSION: "v0.1.0" }, { path: NO_VERIFIER });
    assert.equal(unverifiable.status, 1);
    assert.match(unverifiable.stderr, /a plain-http mirror needs a signature verifier/);
  });

  test("refuses an https mirror that redirects to plain http, even to an honest copy", () => {
    mirror("honest");
    const result = run(`${https.url}/downgrade/honest/releases`, { VOX_VERSION: "v0.1.0" });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /[Pp]rotocol "?http"? (not supported|disabled)/);
    assert.match(result.stderr, /cannot download https:\/\/127\.0\.0\.1:\d+\/downgrade\/honest\/releases\/download\/v0\.1\.0\/checksums\.txt/);
    assert.deepEqual(readdirSync(result.home), []);
  });

  test("says that curl is required rather than fetching with wget, which follows redirects to http", () => {
    const result = run(mirror("nocurl"), { VOX_VERSION: "v0.1.0" }, { path: hostPathWithout(["curl"]) });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /curl is required/);
  });
});

describe("install.sh verifies the signature of checksums.txt before running vox-bootstrap", () => {
  for (const [verifier, path] of Object.entries(VERIFIERS)) {
    test(`${verifier}: installs and says what it verified`, () => {
      const result = run(mirror(`good-${verifier}`), { VOX_VERSION: "v0.1.0" }, { path });
      assert.equal(result.status, 0, result.stderr);
      assert.match(result.stderr, new RegExp(`checksums\\.txt of v0\\.1\\.0: signature verified by ${verifier} \\(key RW[A-Za-z0-9+/]{54}\\)`));
      assert.equal(result.installed(), "vox 0.1.0\n");
    });

    const stranger = minisignKeys();
    const cases: Array<[string, (root: string) => void, RegExp]> = [
      ["a substituted vox-bootstrap with a matching, unsigned checksums.txt", (root) => substituteBootstrap(join(root, "download", "v0.1.0")), /signature of .*checksums\.txt does not verify/],
      ["a signature by a key the script does not embed", (root) => resign(join(root, "download", "v0.1.0"), "v0.1.0", stranger.sec), /not made by a trusted key|does not verify/],
      ["a genuine signature for another tag", (root) => resign(join(root, "download", "v0.1.0"), "v0.2.0"), /signed for tag 'v0\.2\.0', expected 'v0\.1\.0'/],
      [
        "a trusted comment edited after signing",
        (root) => {
          const sig = join(root, "download", "v0.1.0", "checksums.txt.minisig");
          writeFileSync(sig, readFileSync(sig, "utf8").replace("tag:v0.1.0", "tag:v0.1.0\tfile:checksums.txt"));
        },
        /does not verify/,
      ],
    ];
    cases.forEach(([label, edit, expected], i) => {
      test(`${verifier}: refuses ${label}, running nothing`, () => {
        const result = run(mirror(`bad${i}-${verifier}`, [r1], edit), { VOX_VERSION: "v0.1.0" }, { path });
        assert.equal(result.status, 1, result.stderr);
        assert.match(result.stderr, expected);
        assert.deepEqual(readdirSync(result.home), [], "vox-bootstrap never ran");
      });
    });
  }

  test("without a verifier, says it checked only a sha256 from an unsigned checksums.txt, and still refuses a mismatch", () => {
    const result = run(mirror("noverifier"), { VOX_VERSION: "v0.1.0" }, { path: NO_VERIFIER });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stderr, /no signature verifier .*: vox-bootstrap is checked only by sha256 against an unsigned checksums\.txt fetched over https; vox-bootstrap then verifies the signature itself/);
    assert.equal(result.installed(), "vox 0.1.0\n");
    const flipped = run(
      mirror("noverifier-flip", [r1], (root) => {
        const name = join(root, "download", "v0.1.0", BOOTSTRAP);
        const bytes = readFileSync(name);
        bytes[100]! ^= 1;
        writeFileSync(name, bytes);
      }),
      { VOX_VERSION: "v0.1.0" },
      { path: NO_VERIFIER },
    );
    assert.equal(flipped.status, 1);
    assert.match(flipped.stderr, /vox-bootstrap-v0\.1\.0-x86_64-unknown-linux-gnu\.tar\.gz: sha256 is [0-9a-f]{64}, checksums\.txt says [0-9a-f]{64}; refusing to run it/);
    assert.deepEqual(readdirSync(flipped.home), []);
  });

  test("fails closed when no SHA-256 tool exists", () => {
    const result = run(mirror("nosha"), { VOX_VERSION: "v0.1.0" }, { path: hostPathWithout(["sha256sum", "shasum", "openssl"]) });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /no SHA-256 tool \(sha256sum, shasum or openssl\) found; refusing to run an unverified installer/);
  });
});

describe("install.sh takes 'latest' only from a signed source", () => {
  test("ignores a mirror's index.json and reads the tag from the signed checksums.txt of latest/download", () => {
    const base = mirror("latest-index", [r1], (root) => {
      cpSync(r1.dir, join(root, "download", "v6.6.6"), { recursive: true });
      substituteBootstrap(join(root, "download", "v6.6.6"), `vox-bootstrap-v6.6.6-${TRIPLE}.tar.gz`);
      writeFileSync(join(root, "index.json"), JSON.stringify({ schema: "vox.mirror-index/1", serial: 9, expires: "2099-01-01T00:00:00.000Z", latest: "v6.6.6", releases: [] }));
    });
    const result = run(base);
    assert.match(result.stderr, /latest release is v0\.1\.0 \(from the signed checksums\.txt of /);
    assert.ok(!existsSync(join(result.home, "pwned")), "the unsigned index chose nothing that ran");
  });

  test("without a verifier and without VOX_VERSION, a mirror's latest is refused with both remedies", () => {
    const result = run(mirror("latest-noverifier"), {}, { path: NO_VERIFIER });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /cannot tell which release is latest without verifying a signature: install minisign .*, or set VOX_VERSION=v<semver>/);
    assert.deepEqual(readdirSync(result.home), []);
  });
});

describe("install.sh caps what curl writes", () => {
  test("a checksums.txt over 1 MiB is refused when the server announces its size", () => {
    const base = mirror("big-sums", [r1], (root) => writeFileSync(join(root, "download", "v0.1.0", "checksums.txt"), `${readFileSync(join(r1.dir, "checksums.txt"), "utf8")}${"#".repeat(2 << 20)}\n`));
    const result = run(base, { VOX_VERSION: "v0.1.0" });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /checksums\.txt is larger than the 1048576-byte cap; refusing it/);
    assert.deepEqual(readdirSync(result.home), []);
  });

  test("a checksums.txt over 1 MiB is refused when the server sends it chunked, without a size", async () => {
    const server = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      for (let i = 0; i < 32; i++) res.write("#".repeat(128 << 10));
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/releases`;
    try {
      const home = tempDir("home");
      const result = await runAsync("/usr/bin/dash", [script], { env: { PATH: process.env.PATH!, HOME: home, VOX_UPGRADE_BASE_URL: base, VOX_INSECURE_HTTP_MIRROR: base, VOX_VERSION: "v0.1.0" } });
      assert.equal(result.status, 1);
      assert.match(result.stderr, /checksums\.txt is \d+ bytes, over the 1048576-byte cap; refusing it/);
      assert.deepEqual(readdirSync(home), []);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
