import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { parsePublicKey, parseSecretKey, signMinisign } from "../integrity/mod.ts";
import { mapEnv } from "../io/mod.ts";
import { githubToken, indexTrustedComment, type MirrorIndex, newestRelease, readMirrorIndex, resolveProviderSettings } from "./mod.ts";

test("resolveProviderSettings() prefers flags, then env, then the policy default; a base URL alone means http", () => {
  assert.deepEqual(resolveProviderSettings({}, mapEnv({})), { kind: "github", repo: "vox-foundation/vox", baseUrl: "https://github.com", apiBaseUrl: "https://api.github.com" });
  const env = mapEnv({ VOX_UPGRADE_BASE_URL: "http://mirror/releases", VOX_UPGRADE_REPO: "acme/vox", VOX_UPGRADE_GITHUB_API_URL: "https://ghe/api/v3" });
  assert.deepEqual(resolveProviderSettings({}, env), { kind: "http", repo: "acme/vox", baseUrl: "http://mirror/releases", apiBaseUrl: "https://ghe/api/v3" });
  assert.equal(resolveProviderSettings({ baseUrl: "http://flag/releases" }, env).baseUrl, "http://flag/releases");
  assert.equal(resolveProviderSettings({ provider: "github" }, mapEnv({ VOX_UPGRADE_PROVIDER: "http", VOX_UPGRADE_BASE_URL: "http://m" })).kind, "github");
  assert.throws(() => resolveProviderSettings({ provider: "ftp" }, mapEnv({})), (e: Error & { exitCode?: number }) => e.exitCode === 2);
  assert.throws(() => resolveProviderSettings({ provider: "http" }, mapEnv({})), /without a base URL/);
  assert.throws(() => resolveProviderSettings({ repo: "not a repo" }, mapEnv({})), /expected owner\/repo/);
});

test("githubToken() takes VOX_GITHUB_TOKEN, then GH_TOKEN, then GITHUB_TOKEN", () => {
  assert.deepEqual(githubToken(mapEnv({ GITHUB_TOKEN: "c", GH_TOKEN: "b" })), { name: "GH_TOKEN", value: "b" });
  assert.deepEqual(githubToken(mapEnv({ GITHUB_TOKEN: "c", GH_TOKEN: "b", VOX_GITHUB_TOKEN: "a" })), { name: "VOX_GITHUB_TOKEN", value: "a" });
  assert.equal(githubToken(mapEnv({ GH_TOKEN: "" })), undefined);
});

const index: MirrorIndex = {
  schema: "vox.mirror-index/1",
  serial: 7,
  expires: "2027-01-01T00:00:00.000Z",
  latest: "v1.10.0",
  releases: [
    { tag: "v1.9.0", version: "1.9.0", prerelease: false, checksums_sha256: "a".repeat(64) },
    { tag: "v1.10.0", version: "1.10.0", prerelease: false, checksums_sha256: "b".repeat(64) },
    { tag: "v2.0.0-rc.1", version: "2.0.0-rc.1", prerelease: true, checksums_sha256: "c".repeat(64) },
  ],
};

test("newestRelease() orders by semver, not by text, and skips prereleases unless allowed", () => {
  assert.equal(newestRelease(index, false)?.tag, "v1.10.0");
  assert.equal(newestRelease(index, true)?.tag, "v2.0.0-rc.1");
  assert.equal(newestRelease({ ...index, releases: [] }, true), undefined);
});

test("readMirrorIndex() accepts a signed, current index and refuses expired, mismatched or foreign ones", () => {
  const dir = mkdtempSync(join(tmpdir(), "vox-index-"));
  execFileSync("minisign", ["-G", "-W", "-p", join(dir, "k.pub"), "-s", join(dir, "k.sec")], { stdio: "ignore" });
  const secret = parseSecretKey(readFileSync(join(dir, "k.sec"), "utf8"));
  const keys = [parsePublicKey(readFileSync(join(dir, "k.pub"), "utf8"))];
  const text = new TextEncoder().encode(JSON.stringify(index));
  const signature = signMinisign(text, secret, { trusted: indexTrustedComment(index, 0) });
  const now = new Date("2026-12-01T00:00:00Z");
  assert.equal(readMirrorIndex(text, signature, { mirrorKeys: keys, now, source: "index.json" }).serial, 7);
  assert.throws(() => readMirrorIndex(text, signature, { mirrorKeys: keys, now: new Date("2027-02-01T00:00:00Z"), source: "index.json" }), /expired at 2027-01-01/);
  const otherSerial = signMinisign(text, secret, { trusted: indexTrustedComment({ ...index, serial: 6 }, 0) });
  assert.throws(() => readMirrorIndex(text, otherSerial, { mirrorKeys: keys, now, source: "index.json" }), /its signature is for serial '6', expected '7'/);
  const tampered = new TextEncoder().encode(JSON.stringify({ ...index, latest: "v1.9.0" }));
  assert.throws(() => readMirrorIndex(tampered, signature, { mirrorKeys: keys, now, source: "index.json" }), /does not match/);
});

test("readMirrorIndex() refuses what a signer did not mean: several serials, another file, a far expiry, a lying prerelease flag", () => {
  const dir = mkdtempSync(join(tmpdir(), "vox-index-"));
  execFileSync("minisign", ["-G", "-W", "-p", join(dir, "k.pub"), "-s", join(dir, "k.sec")], { stdio: "ignore" });
  const secret = parseSecretKey(readFileSync(join(dir, "k.sec"), "utf8"));
  const mirrorKeys = [parsePublicKey(readFileSync(join(dir, "k.pub"), "utf8"))];
  const now = new Date("2026-12-01T00:00:00Z");
  const read = (document: MirrorIndex, trusted = indexTrustedComment(document, 0)) => {
    const text = new TextEncoder().encode(JSON.stringify(document));
    return () => readMirrorIndex(text, signMinisign(text, secret, { trusted }), { mirrorKeys, now, source: "index.json" });
  };
  assert.throws(read(index, `${indexTrustedComment(index, 0)}\tserial:6`), /its trusted comment repeats 'serial'/);
  assert.throws(read(index, "timestamp:0\tfile:checksums.txt\tkind:vox.mirror-index/1\tserial:7"), /its signature is for file 'checksums\.txt', expected 'index\.json'/);
  assert.throws(read({ ...index, expires: "2030-01-01T00:00:00.000Z" }), /claims to stay fresh until 2030-01-01T00:00:00\.000Z, more than 90 days ahead/);
  const lying = { ...index, releases: [...index.releases.slice(0, 2), { ...index.releases[2]!, prerelease: false }] };
  assert.throws(read(lying), /release v2\.0\.0-rc\.1 is marked prerelease=false, which its version contradicts/);
  assert.throws(read({ ...index, releases: [{ ...index.releases[0]!, tag: "v9.9.9" }] }), /release v9\.9\.9 lists version 1\.9\.0/);
  assert.equal(read(index)().serial, 7);
});
