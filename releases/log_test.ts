import assert from "node:assert/strict";
import { appendFileSync, chmodSync, mkdtempSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { appendRelease, inspectLog, projectReleaseLog, readReleases, releaseLogPaths, repairTornTail } from "./log.ts";
import type { ReleaseFields } from "./record.ts";
import { readStoredManifest, storedManifestPath, storeManifest } from "./store.ts";

const hex = (n: number) => n.toString(16).padStart(64, "0");
const fields = (n: number): ReleaseFields => ({
  image_digest: `sha256:${hex(n)}`,
  manifest_content_hash: `sha256:${hex(100 + n)}`,
  image: `localhost/hello@sha256:${hex(n)}`,
  created: "2024-01-01T00:00:00.000Z",
  tool_version: "0.0.0-dev",
  source_revision: null,
  rollback_of: null,
});
const releasesDir = () => join(mkdtempSync(join(tmpdir(), "vox-releases-")), ".vox", "releases");

test("appendRelease() creates the log, chains each record to the last and moves the head; readReleases() returns them", async () => {
  const dir = releasesDir();
  const paths = releaseLogPaths(dir);
  assert.deepEqual(await readReleases(dir), []);
  const first = await appendRelease(paths, fields(1));
  const second = await appendRelease(paths, fields(2));
  assert.equal(second.previous_hash, first.hash);
  assert.deepEqual(await readReleases(dir), [first, second]);
  assert.deepEqual(JSON.parse(readFileSync(paths.head, "utf8")), { seq: 2, hash: second.hash });
  assert.equal(readFileSync(paths.log, "utf8").split("\n").length, 3);
});

test("projectReleaseLog() uses VOX_RELEASE_LOG (relative to the working directory) with its head and lock beside it, else .vox/releases", () => {
  assert.deepEqual(projectReleaseLog("/p/.vox", "logs/app.jsonl", "/srv"), { dir: "/srv/logs", log: "/srv/logs/app.jsonl", head: "/srv/logs/app.jsonl.head", lock: "/srv/logs/app.jsonl.lock" });
  assert.deepEqual(projectReleaseLog("/p/.vox", undefined, "/srv"), releaseLogPaths("/p/.vox/releases"));
  assert.equal(releaseLogPaths("/p/.vox/releases").log, "/p/.vox/releases/log.jsonl");
});

test("appendRelease(): 12 appends racing in one process all land, chained, under the lock", async () => {
  const dir = releasesDir();
  await Promise.all(Array.from({ length: 12 }, (_, i) => appendRelease(releaseLogPaths(dir), fields(i + 1))));
  const records = await readReleases(dir);
  assert.deepEqual(records.map((r) => r.seq), Array.from({ length: 12 }, (_, i) => i + 1));
  assert.deepEqual(new Set(records.map((r) => r.image_digest)).size, 12);
});

test("appendRelease() refuses a torn last line; repairTornTail() moves it aside, after which appends continue the chain", async () => {
  const dir = releasesDir();
  const paths = releaseLogPaths(dir);
  await appendRelease(paths, fields(1));
  const intact = readFileSync(paths.log);
  appendFileSync(paths.log, '{"seq":2,"image_digest":"sha256:'); // a crash mid-append: the head still names record 1
  await assert.rejects(appendRelease(paths, fields(2)), (error: Error & { code?: string }) => error.code === "E_RELEASE_LOG_TORN" && /line 2 is cut short/.test(error.message));
  await assert.rejects(readReleases(dir), /line 2 is cut short/);
  const repaired = await repairTornTail(paths);
  assert.deepEqual(repaired, { offset: intact.length, removed: 32, savedTo: `${paths.log}.torn-at-${intact.length}` });
  assert.equal(readFileSync(repaired!.savedTo, "utf8"), '{"seq":2,"image_digest":"sha256:');
  assert.deepEqual(readFileSync(paths.log), intact);
  assert.equal(await repairTornTail(paths), undefined);
  assert.equal((await appendRelease(paths, fields(2))).seq, 2);
});

test("repairTornTail() refuses to cut a record the head acknowledged, or to touch a log with other problems", async () => {
  const dir = releasesDir();
  const paths = releaseLogPaths(dir);
  await appendRelease(paths, fields(1));
  await appendRelease(paths, fields(2));
  truncateSync(paths.log, readFileSync(paths.log).length - 10);
  await assert.rejects(repairTornTail(paths), /a repair only removes a cut-short last line, and this log has other problems:\n {2}- the log ends at record 1, but its head names record 2/);
  await assert.rejects(appendRelease(paths, fields(3)), (error: Error & { code?: string }) => error.code === "E_RELEASE_LOG");
});

test("inspectLog(): a deleted head is a problem once the log has records", async () => {
  const dir = releasesDir();
  const paths = releaseLogPaths(dir);
  await appendRelease(paths, fields(1));
  rmSync(paths.head);
  assert.deepEqual((await inspectLog(paths)).problems.map((p) => p.message), ["log.jsonl.head is missing, so records cut off the end of the log cannot be detected: it was deleted"]);
  await assert.rejects(appendRelease(paths, fields(2)), /log.jsonl.head is missing/);
});

test("readReleases() refuses a log that is a symbolic link", async () => {
  const dir = releasesDir();
  const paths = releaseLogPaths(dir);
  await appendRelease(paths, fields(1));
  const elsewhere = join(dir, "..", "elsewhere.jsonl");
  writeFileSync(elsewhere, readFileSync(paths.log));
  rmSync(paths.log);
  symlinkSync(elsewhere, paths.log);
  await assert.rejects(readReleases(dir), /log.jsonl: it is a symbolic link/);
});

test("storeManifest() stores canonical bytes under their sha256; readStoredManifest() re-hashes them and refuses changed bytes", async () => {
  const dir = releasesDir();
  const bytes = new TextEncoder().encode('{"name":"hello","schema":"vox.platform/v1"}');
  const hash = await storeManifest(dir, bytes);
  assert.match(hash, /^sha256:[0-9a-f]{64}$/);
  assert.equal(storedManifestPath(dir, hash), join(dir, "manifests", "sha256", `${hash.slice(7)}.json`));
  assert.deepEqual(await readStoredManifest(dir, hash), { name: "hello", schema: "vox.platform/v1" });
  assert.equal(await storeManifest(dir, bytes), hash); // already there and intact: kept
  const path = storedManifestPath(dir, hash);
  chmodSync(path, 0o644);
  writeFileSync(path, '{"name":"evil","schema":"vox.platform/v1"}');
  await assert.rejects(readStoredManifest(dir, hash), /its bytes hash to sha256:[0-9a-f]{64}: it was changed after it was stored/);
  await storeManifest(dir, bytes); // a damaged copy is replaced
  assert.deepEqual(await readStoredManifest(dir, hash), { name: "hello", schema: "vox.platform/v1" });
  await assert.rejects(readStoredManifest(dir, `sha256:${hex(7)}`), /it is not in the store/);
});
