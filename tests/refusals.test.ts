// Refusal paths not covered elsewhere: each gets a clear message, the right exit code, and changes nothing.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { tempDir } from "./support/helpers.ts";
import { type RunningServer, startNginx } from "./support/nginx.ts";
import { hostRelease, testKey } from "./support/releases.ts";

const TRIPLE = "x86_64-unknown-linux-gnu";
const r1 = hostRelease("v0.1.0");
const key = testKey();
const www = tempDir("www");
const tools = tempDir("tools");
execFileSync("tar", ["-xzf", join(r1.dir, `vox-v0.1.0-${TRIPLE}.tar.gz`), "-C", tools]);
execFileSync("tar", ["-xzf", join(r1.dir, `vox-bootstrap-v0.1.0-${TRIPLE}.tar.gz`), "-C", tools]);
const vox = join(tools, "vox");
let nginx: RunningServer;

before(async () => {
  nginx = await startNginx(www);
});
after(() => nginx.stop());

function run(bin: string, args: string[], env: Record<string, string> = {}) {
  return spawnSync(bin, args, { encoding: "utf8", cwd: tempDir("cwd"), env: { PATH: process.env.PATH!, HOME: tempDir("home"), ...env } });
}

test("vox mirror sync refuses a tampered upstream release: nothing is published and the index is not advanced", () => {
  const upstream = join(www, "up", "releases", "download", "v0.1.0");
  cpSync(r1.dir, upstream, { recursive: true });
  const out = join(tempDir("mirror"), "releases");
  assert.equal(run(vox, ["mirror", "sync", "--from-base-url", `${nginx.url}/up/releases`, "--to", out, "--version", "v0.1.0", "--key", key.sec]).status, 0);
  const indexBefore = readFileSync(join(out, "index.json"), "utf8");
  const archive = join(upstream, `vox-v0.1.0-${TRIPLE}.tar.gz`);
  const bytes = readFileSync(archive);
  bytes[4242]! ^= 1;
  writeFileSync(archive, bytes);
  execFileSync(vox, ["ci", "checksums", upstream]);
  const fresh = join(tempDir("mirror"), "releases");
  const refused = run(vox, ["mirror", "sync", "--from-base-url", `${nginx.url}/up/releases`, "--to", fresh, "--version", "v0.1.0", "--key", key.sec]);
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /does not match the file or its trusted comment/);
  assert.deepEqual(readdirSync(join(fresh, "download")), [], "no partial release directory is left");
  assert.ok(!existsSync(join(fresh, "index.json")));
  assert.equal(readFileSync(join(out, "index.json"), "utf8"), indexBefore);
});

test("vox mirror sync refuses an archive whose bytes differ from the signed checksums, keeping the old copy", () => {
  const upstream = join(www, "up2", "releases", "download", "v0.1.0");
  cpSync(r1.dir, upstream, { recursive: true });
  const out = join(tempDir("mirror"), "releases");
  const archive = join(upstream, `vox-bootstrap-v0.1.0-${TRIPLE}.tar.gz`);
  const bytes = readFileSync(archive);
  bytes[777]! ^= 1;
  writeFileSync(archive, bytes);
  const refused = run(vox, ["mirror", "sync", "--from-base-url", `${nginx.url}/up2/releases`, "--to", out, "--version", "v0.1.0", "--key", key.sec]);
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /vox-bootstrap-v0\.1\.0-x86_64-unknown-linux-gnu\.tar\.gz: its sha256 is [0-9a-f]{64}, expected [0-9a-f]{64}/);
  assert.deepEqual(readdirSync(join(out, "download")), []);
});

test("usage errors exit 2: a bad --expires-days, a bad --channel, an unreadable VOX_CA_BUNDLE", () => {
  const days = run(vox, ["mirror", "sync", "--to", tempDir("m"), "--key", key.sec, "--expires-days", "0"]);
  assert.equal(days.status, 2);
  assert.match(days.stderr, /expected a whole number of days from 1 to 90/);
  const long = run(vox, ["mirror", "sync", "--to", tempDir("m"), "--key", key.sec, "--expires-days", "365"]);
  assert.equal(long.status, 2);
  assert.match(long.stderr, /Clients refuse an index that claims to stay fresh longer than 90 days/);
  const channel = run(vox, ["upgrade", "--channel", "beta"]);
  assert.equal(channel.status, 2);
  assert.match(channel.stderr, /Cannot use channel 'beta': expected stable or next/);
  const ca = run(join(tools, "vox-bootstrap"), ["plan", "--base-url", `${nginx.url}/x`, "--version", "v0.1.0"], { VOX_CA_BUNDLE: "/nonexistent/ca.pem" });
  assert.equal(ca.status, 2);
  assert.match(ca.stderr, /Cannot read VOX_CA_BUNDLE=\/nonexistent\/ca\.pem: ENOENT/);
});

test("vox-bootstrap refuses an install directory it cannot create, with exit 2 and nothing written", () => {
  const home = tempDir("home");
  writeFileSync(join(home, "file"), "");
  const result = run(join(tools, "vox-bootstrap"), ["--install", "--install-dir", join(home, "file", "bin"), "--base-url", `${nginx.url}/x`, "--version", "v0.1.0"], { HOME: home });
  assert.equal(result.status, 2);
  assert.match(result.stderr, /Cannot create install directory .*file\/bin: ENOTDIR/);
  assert.deepEqual(readdirSync(home), ["file"]);
});

test("vox self uninstall without a receipt, and vox upgrade --rollback without a previous binary, say why", () => {
  const dir = tempDir("bin");
  mkdirSync(join(dir, "bin"));
  execFileSync("tar", ["-xzf", join(r1.dir, `vox-v0.1.0-${TRIPLE}.tar.gz`), "-C", join(dir, "bin")]);
  const uninstall = run(join(dir, "bin", "vox"), ["self", "uninstall"]);
  assert.equal(uninstall.status, 1);
  assert.match(uninstall.stderr, /Cannot uninstall from .*: there is no \.vox-receipt\.json\nhint: vox was not installed there by vox-bootstrap/);
  const rollback = run(join(dir, "bin", "vox"), ["upgrade", "--rollback"], { VOX_STATE_DIR: join(dir, "state") });
  assert.equal(rollback.status, 1);
  assert.match(rollback.stderr, /Cannot roll back .*: there is no .*vox\.previous\nhint: A previous binary is kept by the first successful 'vox upgrade'/);
  assert.deepEqual(readdirSync(join(dir, "bin")), ["vox"]);
});
