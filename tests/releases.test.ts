// Releases end to end through the CLI: examples/hello built once on a busybox base served by Debian's
// docker-registry, then `vox deploy release|releases|rollback` on copies of it. The log is checked with an
// independent hash, verification against tampered copies, 20 concurrent releases as 20 real processes, and the
// manifest artifact read back from the registry with skopeo and by digest.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { appendFileSync, chmodSync, cpSync, existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { ReleaseRecord } from "../releases/mod.ts";
import { pushBusyboxBase } from "./support/base_image.ts";
import { bun, repoRoot, runAsync, tempDir } from "./support/helpers.ts";
import { type RunningRegistry, startRegistry } from "./support/registry.ts";

const ARTIFACT_TYPE = "application/vnd.vox.platform.manifest.v1+json";
let registry: RunningRegistry;
let cacheDir: string;
/** The built project every test copies: Vox.toml, vox.platform.toml, vox.lock, .vox/oci and .vox/release.json. */
let built: string;
let indexDigest: string;
let platformDigests: Record<string, string>;


function sh(argv: readonly string[], cwd?: string): string {
  return execFileSync(argv[0]!, argv.slice(1), { cwd, encoding: "utf8" });
}

async function vox(args: readonly string[], cwd: string, env: Record<string, string> = {}) {
  return runAsync(bun, [join(repoRoot, "main.ts"), ...args], {
    cwd,
    env: { ...process.env, VOX_REGISTRY_MIRRORS: `docker.io=http://${registry.host}`, VOX_CACHE_DIR: cacheDir, DOCKER_CONFIG: tempDir("no-docker-config"), ...env },
  });
}

const platformToml = (variant: string) => `schema = "vox.platform/v1"\n\n[process]\nenv = { VARIANT = "${variant}" }\n`;

before(async () => {
  registry = await startRegistry();
  pushBusyboxBase(registry.host);
  cacheDir = tempDir("oci-cache");
  built = join(tempDir("built"), "hello");
  cpSync(join(repoRoot, "examples", "hello"), built, { recursive: true });
  rmSync(join(built, ".vox"), { recursive: true, force: true });
  writeFileSync(join(built, "vox.platform.toml"), platformToml("a"));
  for (const argv of [["init", "-q"], ["add", "."], ["-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-q", "-m", "hello"]]) sh(["git", "-C", built, ...argv]);
  const result = await vox(["deploy", "build", "--json"], built);
  assert.equal(result.status, 0, result.stderr);
  const build = JSON.parse(result.stdout) as { index_digest: string; platforms: Array<{ platform: string; manifest: string }> };
  indexDigest = build.index_digest;
  platformDigests = Object.fromEntries(build.platforms.map((p) => [p.platform, p.manifest]));
});

after(async () => {
  await registry?.stop();
});

/** A copy of the built project (its git history included), with no releases yet. */
function project(name: string): string {
  const dir = join(tempDir(name), "hello");
  cpSync(built, dir, { recursive: true });
  return dir;
}

/** The record hash computed here, not by vox: sha256 over the fields but `hash`, keys sorted, no whitespace. */
function independentHash(record: ReleaseRecord): string {
  const fields = Object.entries(record).filter(([key]) => key !== "hash").sort(([a], [b]) => (a < b ? -1 : 1));
  return `sha256:${createHash("sha256").update(`{${fields.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(",")}}`).digest("hex")}`;
}

function logOf(dir: string): ReleaseRecord[] {
  return readFileSync(join(dir, ".vox", "releases", "log.jsonl"), "utf8").trimEnd().split("\n").map((line) => JSON.parse(line) as ReleaseRecord);
}

async function release(dir: string, args: readonly string[] = [], env: Record<string, string> = {}): Promise<ReleaseRecord> {
  const result = await vox(["deploy", "release", "--json", ...args], dir, env);
  assert.equal(result.status, 0, result.stderr);
  return (JSON.parse(result.stdout) as { release: ReleaseRecord }).release;
}

test("vox deploy release records the last build's index from the layout, chained and hashed as the README says; vox deploy releases lists it", async () => {
  const dir = project("first");
  const result = await vox(["deploy", "release", "--json"], dir);
  assert.equal(result.status, 0, result.stderr);
  const { release: record, manifest } = JSON.parse(result.stdout) as { release: ReleaseRecord; manifest: string };
  assert.equal(record.seq, 1);
  assert.equal(record.image_digest, indexDigest);
  assert.equal(record.image, `localhost/hello@${indexDigest}`);
  assert.equal(record.previous_hash, null);
  assert.equal(record.rollback_of, null);
  assert.equal(record.source_revision, sh(["git", "-C", dir, "rev-parse", "HEAD"]).trim());
  assert.equal(record.tool_version, "0.0.0-dev");
  assert.ok(Math.abs(Date.parse(record.created) - Date.now()) < 10 * 60_000, record.created);
  assert.equal(record.hash, independentHash(record));
  // The manifest is stored content-addressed as canonical JSON: sha256sum of the file is the content hash.
  assert.equal(manifest, join(dir, ".vox", "releases", "manifests", "sha256", `${record.manifest_content_hash.slice(7)}.json`));
  assert.equal(`sha256:${sh(["sha256sum", manifest]).split(" ")[0]}`, record.manifest_content_hash);
  const stored = readFileSync(manifest, "utf8");
  assert.equal(JSON.parse(stored).process.env.VARIANT, "a");
  assert.doesNotMatch(stored, /\s/, "canonical JSON has no whitespace here");
  const second = await release(dir);
  assert.equal(second.previous_hash, record.hash);
  assert.deepEqual(logOf(dir), [record, second]);
  const listed = await vox(["deploy", "releases"], dir);
  assert.equal(listed.status, 0, listed.stderr);
  assert.match(listed.stdout, new RegExp(`^ {3}1  \\S+  localhost/hello@${indexDigest}  ${record.manifest_content_hash}\n {3}2 `));
  assert.match(listed.stdout, /current: release 2/);
});

test("a tag-only --image is refused as not pinned by digest (exit 2), and nothing is appended", async () => {
  const dir = project("tag-only");
  const result = await vox(["deploy", "release", "--image", `${registry.host}/apps/hello:0.1.0`], dir);
  assert.equal(result.status, 2, result.stderr);
  assert.match(result.stderr, /error: Cannot release image '127\.0\.0\.1:\d+\/apps\/hello:0\.1\.0' \(--image\): it is not pinned by digest/);
  assert.match(result.stderr, /hint: Name it by digest: 127\.0\.0\.1:\d+\/apps\/hello@sha256:<hex>/);
  assert.equal(existsSync(join(dir, ".vox", "releases", "log.jsonl")), false);
});

test("a platform manifest of the multi-platform image is refused, naming the index to release; an unknown digest is refused", async () => {
  const dir = project("platform-manifest");
  const amd64 = await vox(["deploy", "release", "--image", `localhost/hello@${platformDigests["linux/amd64"]}`], dir);
  assert.equal(amd64.status, 2, amd64.stderr);
  assert.match(amd64.stderr, new RegExp(`it is the linux/amd64 manifest of the multi-platform image ${indexDigest}, and a Release pins the index`));
  assert.match(amd64.stderr, new RegExp(`hint: Release the index: --image localhost/hello@${indexDigest}`));
  const unknown = `sha256:${"0".repeat(64)}`;
  const missing = await vox(["deploy", "release", "--insecure", "--image", `${registry.host}/apps/nothing@${unknown}`], dir);
  assert.equal(missing.status, 1, missing.stderr);
  assert.match(missing.stderr, new RegExp(`${unknown} is neither in .*\\.vox/oci nor in ${registry.host.replace(/\./g, "\\.")}/apps/nothing`));
  assert.equal(existsSync(join(dir, ".vox", "releases", "log.jsonl")), false);
});

test("--push stores the manifest on docker-registry as an artifact whose subject is the index: skopeo reads it through the referrers tag and by digest", async () => {
  const dir = project("push");
  const repo = `${registry.host}/apps/hello`;
  const result = await vox(["deploy", "release", "--json", "--insecure", "--push", repo], dir);
  assert.equal(result.status, 0, result.stderr);
  const { release: record, pushed, manifest } = JSON.parse(result.stdout) as { release: ReleaseRecord; manifest: string; pushed: { image: string; artifact: string; via: string; image_pushed: boolean } };
  assert.equal(record.image, `${repo}@${indexDigest}`);
  assert.deepEqual({ ...pushed, artifact: undefined }, { image: record.image, artifact: undefined, via: "tag-schema", image_pushed: true });
  const skopeo = (ref: string) => sh(["skopeo", "inspect", "--raw", "--tls-verify=false", `docker://${ref}`]);
  // The image went up from the layout, by digest: the registry serves exactly the index bytes.
  assert.equal(`sha256:${createHash("sha256").update(skopeo(`${repo}@${indexDigest}`)).digest("hex")}`, indexDigest);
  const referrers = JSON.parse(skopeo(`${repo}:${indexDigest.replace(":", "-")}`)) as { manifests: Array<{ digest: string; artifactType: string; size: number }> };
  assert.deepEqual(referrers.manifests, [{ mediaType: "application/vnd.oci.image.manifest.v1+json", digest: pushed.artifact, size: referrers.manifests[0]!.size, artifactType: ARTIFACT_TYPE }]);
  const artifact = JSON.parse(skopeo(`${repo}@${pushed.artifact}`));
  assert.equal(artifact.artifactType, ARTIFACT_TYPE);
  assert.equal(artifact.subject.digest, indexDigest);
  assert.equal(artifact.subject.mediaType, "application/vnd.oci.image.index.v1+json");
  assert.deepEqual(artifact.layers.map((l: { digest: string; mediaType: string }) => [l.digest, l.mediaType]), [[record.manifest_content_hash, ARTIFACT_TYPE]]);
  // A host that knows only the two digests fetches the manifest by the second one.
  const blob = await fetch(`http://${repo.replace("/apps/", "/v2/apps/")}/blobs/${record.manifest_content_hash}`);
  assert.equal(blob.status, 200);
  assert.deepEqual(Buffer.from(await blob.arrayBuffer()), readFileSync(manifest));
  // Again: the image is already there, the artifact is the same bytes, listed once.
  const again = await vox(["deploy", "release", "--json", "--insecure", "--push", repo], dir);
  assert.equal(again.status, 0, again.stderr);
  const second = JSON.parse(again.stdout) as { pushed: { artifact: string; image_pushed: boolean } };
  assert.equal(second.pushed.artifact, pushed.artifact);
  assert.equal(second.pushed.image_pushed, false);
  assert.equal(JSON.parse(skopeo(`${repo}:${indexDigest.replace(":", "-")}`)).manifests.length, 1);
  const tagged = await vox(["deploy", "release", "--insecure", "--push", `${repo}:latest`], dir);
  assert.equal(tagged.status, 2);
  assert.match(tagged.stderr, /name a repository, without a tag or digest/);
});

test("after vox deploy build --push, vox deploy release defaults to the pushed reference, pinned by the index digest", async () => {
  const dir = project("pushed-build");
  const pushed = await vox(["deploy", "build", "--insecure", "--push", `${registry.host}/apps/built:0.1.0`], dir);
  assert.equal(pushed.status, 0, pushed.stderr);
  const record = await release(dir, ["--insecure"]);
  assert.equal(record.image, `${registry.host}/apps/built@${indexDigest}`);
  assert.equal(record.image_digest, indexDigest);
});

test("an image only on the registry is released from there; a platform manifest named with its tag is refused", async () => {
  const dir = project("registry-only");
  rmSync(join(dir, ".vox"), { recursive: true, force: true });
  const repo = `${registry.host}/apps/tagged`;
  sh(["skopeo", "copy", "--quiet", "--all", "--dest-tls-verify=false", `oci:${join(built, ".vox", "oci")}:0.1.0`, `docker://${repo}:0.1.0`]);
  const record = await release(dir, ["--insecure", "--image", `${repo}:0.1.0@${indexDigest}`]);
  assert.equal(record.image, `${repo}@${indexDigest}`);
  const arm64 = await vox(["deploy", "release", "--insecure", "--image", `${repo}:0.1.0@${platformDigests["linux/arm64"]}`], dir);
  assert.equal(arm64.status, 2, arm64.stderr);
  assert.match(arm64.stderr, new RegExp(`the linux/arm64 manifest of the multi-platform image ${indexDigest}`));
});

test("vox deploy releases verify names an edited, reordered, removed or truncated record in a log of 5", async () => {
  const dir = project("tamper");
  for (let i = 0; i < 5; i++) await release(dir);
  const intact = await vox(["deploy", "releases", "verify"], dir);
  assert.equal(intact.status, 0, intact.stderr);
  assert.match(intact.stdout, /^ok: .*log\.jsonl: 5 releases, every hash and link intact, head at release 5\n$/);
  const lines = readFileSync(join(dir, ".vox", "releases", "log.jsonl"), "utf8").split("\n").slice(0, 5);
  const records = lines.map((line) => JSON.parse(line) as ReleaseRecord);
  const rewrite = (value: ReleaseRecord) => JSON.stringify(value);
  const cases: Array<[string, string[], RegExp]> = [
    ["edited", lines.map((l, i) => (i === 2 ? rewrite({ ...records[2]!, image: `localhost/evil@${indexDigest}` }) : l)), /record 3 \(line 3\) was edited: its content hashes to sha256:[0-9a-f]{64}, not to its recorded hash/],
    ["edited and rehashed", lines.map((l, i) => (i === 2 ? rewrite({ ...records[2]!, created: "2000-01-01T00:00:00.000Z", hash: independentHash({ ...records[2]!, created: "2000-01-01T00:00:00.000Z" }) }) : l)), /record 4 \(line 4\) does not chain: .*record 3 was edited or replaced/],
    ["reordered", [lines[0]!, lines[2]!, lines[1]!, lines[3]!, lines[4]!], /record 3 \(line 2\) comes where record 2 belongs[^\n]*\n {2}- record 2 \(line 3\) comes after record 3: records were reordered/],
    ["removed", lines.filter((_, i) => i !== 2), /record 4 \(line 3\) comes where record 3 belongs: record 3 was removed/],
    ["last removed", lines.slice(0, 4), /the log ends at record 4, but its head names record 5 \(sha256:[0-9a-f]{64}\): record 5 was removed from the end/],
    ["truncated mid-log", lines.map((l, i) => (i === 2 ? l.slice(0, 40) : l)), /line 3 is not a release record: not JSON/],
  ];
  for (const [name, tampered, expected] of cases) {
    const copy = tempDir(`tampered-${name.replace(/ /g, "-")}`);
    cpSync(join(dir, ".vox", "releases"), copy, { recursive: true });
    writeFileSync(join(copy, "log.jsonl"), `${tampered.join("\n")}\n`);
    const verified = await vox(["deploy", "releases", "verify"], dir, { VOX_RELEASE_LOG: join(copy, "log.jsonl") });
    assert.equal(verified.status, 1, `${name}: ${verified.stdout}`);
    assert.match(verified.stderr, expected, name);
    assert.match(verified.stderr, /hint: The log is append-only and hash-chained/, name);
    const listed = await vox(["deploy", "releases"], dir, { VOX_RELEASE_LOG: join(copy, "log.jsonl") });
    assert.equal(listed.status, 1, `${name}: listing refuses a log that fails verification`);
  }
  const truncated = tempDir("tampered-truncated");
  cpSync(join(dir, ".vox", "releases"), truncated, { recursive: true });
  writeFileSync(join(truncated, "log.jsonl"), `${lines.slice(0, 4).join("\n")}\n${lines[4]!.slice(0, 60)}`);
  const torn = await vox(["deploy", "releases", "verify", "--json"], dir, { VOX_RELEASE_LOG: join(truncated, "log.jsonl") });
  assert.equal(torn.status, 1);
  assert.deepEqual(JSON.parse(torn.stdout).problems.map((p: { line: number; kind: string }) => [p.line, p.kind]), [[5, "torn"], [5, "broken"]]);
});

test("20 concurrent vox deploy release processes leave 20 intact, chained records", async () => {
  const dir = project("concurrent");
  const log = join(tempDir("concurrent-log"), "releases.jsonl");
  const results = await Promise.all(Array.from({ length: 20 }, () => vox(["deploy", "release", "--json"], dir, { VOX_RELEASE_LOG: log })));
  for (const result of results) assert.equal(result.status, 0, result.stderr);
  const reported = results.map((r) => (JSON.parse(r.stdout) as { release: ReleaseRecord }).release).sort((a, b) => a.seq - b.seq);
  assert.deepEqual(reported.map((r) => r.seq), Array.from({ length: 20 }, (_, i) => i + 1));
  const lines = readFileSync(log, "utf8").split("\n");
  assert.equal(lines.pop(), "");
  const records = lines.map((line) => JSON.parse(line) as ReleaseRecord);
  assert.deepEqual(records, reported);
  records.forEach((record, i) => {
    assert.equal(record.hash, independentHash(record));
    assert.equal(record.previous_hash, i === 0 ? null : records[i - 1]!.hash);
  });
  const verified = await vox(["deploy", "releases", "verify"], dir, { VOX_RELEASE_LOG: log });
  assert.equal(verified.status, 0, verified.stderr);
  // The manifest store sits beside the log VOX_RELEASE_LOG names.
  assert.ok(existsSync(join(log, "..", "manifests", "sha256", `${records[0]!.manifest_content_hash.slice(7)}.json`)));
});

test("a torn last line: verify names it, release refuses to extend the log, repair moves it aside and the chain goes on", async () => {
  const dir = project("torn");
  const first = await release(dir);
  const logPath = join(dir, ".vox", "releases", "log.jsonl");
  appendFileSync(logPath, '{"seq":2,"image_digest":"sha256:'); // what a crash mid-append leaves
  const verified = await vox(["deploy", "releases", "verify"], dir);
  assert.equal(verified.status, 1);
  assert.match(verified.stderr, /line 2 is cut short \(no newline at its end\)/);
  assert.match(verified.stderr, /hint: A release was interrupted mid-write; `vox deploy releases repair`/);
  const refused = await vox(["deploy", "release"], dir);
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /error: Cannot append to .*log\.jsonl: line 2 is cut short/);
  const repaired = await vox(["deploy", "releases", "repair"], dir);
  assert.equal(repaired.status, 0, repaired.stderr);
  assert.match(repaired.stdout, /removed 32 bytes of a cut-short last line at byte \d+ of .*; kept in .*log\.jsonl\.torn-at-\d+/);
  const second = await release(dir);
  assert.equal(second.seq, 2);
  assert.equal(second.previous_hash, first.hash);
  assert.equal((await vox(["deploy", "releases", "verify"], dir)).status, 0);
});

test("vox deploy rollback appends the earlier tuple (default: the one before the current), never a tag, and refuses a changed stored manifest", async () => {
  const dir = project("rollback");
  const a = await release(dir);
  writeFileSync(join(dir, "vox.platform.toml"), platformToml("b"));
  const b = await release(dir);
  assert.notEqual(b.manifest_content_hash, a.manifest_content_hash);
  const rolled = await vox(["deploy", "rollback", "--json"], dir);
  assert.equal(rolled.status, 0, rolled.stderr);
  const third = (JSON.parse(rolled.stdout) as { release: ReleaseRecord }).release;
  assert.deepEqual([third.seq, third.rollback_of, third.image_digest, third.manifest_content_hash, third.image, third.previous_hash], [3, 1, a.image_digest, a.manifest_content_hash, a.image, b.hash]);
  const none = await vox(["deploy", "rollback"], dir);
  assert.equal(none.status, 1);
  assert.match(none.stderr, /Cannot roll back: no release before 1 has another/);
  const fourth = await vox(["deploy", "rollback", "2"], dir);
  assert.equal(fourth.status, 0, fourth.stderr);
  assert.match(fourth.stdout, /^release 4 \(rollback to release 2\): \(sha256:[0-9a-f]{64}, sha256:[0-9a-f]{64}\)\n/);
  assert.equal((await vox(["deploy", "rollback", "9"], dir)).status, 1);
  assert.equal((await vox(["deploy", "rollback", "two"], dir)).status, 2);
  const stored = join(dir, ".vox", "releases", "manifests", "sha256", `${a.manifest_content_hash.slice(7)}.json`);
  chmodSync(stored, 0o644);
  writeFileSync(stored, readFileSync(stored, "utf8").replace('"a"', '"z"'));
  const tampered = await vox(["deploy", "rollback", "1"], dir);
  assert.equal(tampered.status, 1);
  assert.match(tampered.stderr, /Cannot read the platform manifest sha256:[0-9a-f]{64} .*: its bytes hash to sha256:[0-9a-f]{64}: it was changed after it was stored/);
  assert.deepEqual(logOf(dir).map((r) => [r.seq, r.rollback_of]), [[1, null], [2, null], [3, 1], [4, 2]]);
  const listed = await vox(["deploy", "releases", "--json"], dir);
  assert.deepEqual((JSON.parse(listed.stdout) as { releases: ReleaseRecord[] }).releases, logOf(dir));
});

test("vox deploy emit after vox deploy rollback reproduces, byte for byte, every target's descriptors of the release rolled back to", async () => {
  const dir = project("emit-rollback");
  const first = await release(dir);
  writeFileSync(join(dir, "vox.platform.toml"), platformToml("b"));
  const second = await release(dir);
  assert.notEqual(second.manifest_content_hash, first.manifest_content_hash);
  const emitted = async (args: readonly string[], out: string) => {
    const result = await vox(["deploy", "emit", ...args, "--out", out, "--json"], dir);
    assert.equal(result.status, 0, result.stderr);
    const report = JSON.parse(result.stdout) as { image: string; files: string[] };
    return { image: report.image, files: Object.fromEntries(report.files.map((f) => [f, readFileSync(join(out, f), "utf8")])) };
  };
  const before: Record<string, Awaited<ReturnType<typeof emitted>>> = {};
  for (const target of ["compose", "kubernetes", "quadlet", "systemd"]) before[target] = await emitted(["--target", target, "--release", String(first.seq)], tempDir(`emit-${target}-1`));
  assert.equal(before.compose!.image, first.image);
  assert.match(Object.values(before.compose!.files).join(""), /VARIANT: "?a"?/);
  const latest = await emitted(["--target", "compose"], tempDir("emit-latest"));
  assert.notDeepEqual(latest.files, before.compose!.files, "the latest release (variant b) emits differently");
  const rolled = await vox(["deploy", "rollback", "--json"], dir);
  assert.equal(rolled.status, 0, rolled.stderr);
  for (const target of ["compose", "kubernetes", "quadlet", "systemd"]) {
    assert.deepEqual(await emitted(["--target", target], tempDir(`emit-${target}-3`)), before[target], `${target} after rollback`);
  }
  const unknown = await vox(["deploy", "emit", "--target", "compose", "--release", "9"], dir);
  assert.equal(unknown.status, 1);
  assert.match(unknown.stderr, /Cannot find release 9: the log holds releases 1\.\.3/);
  const mixed = await vox(["deploy", "emit", "--target", "compose", "--release", "1", "--image", first.image], dir);
  assert.equal(mixed.status, 2);
});
