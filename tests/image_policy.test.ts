// vox ci image-policy end to end through the CLI: examples/hello built and pushed by `vox deploy build` on the busybox
// base (docker-registry), and images made by other tools (umoci's layout, a skopeo copy without referrers, a layout
// whose provenance names another subject, edited here with node:crypto), each failing the gates it does not meet.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { PolicyReport } from "../gates/mod.ts";
import { busyboxBaseLayout, pushBusyboxBase } from "./support/base_image.ts";
import { bun, repoRoot, runAsync, tempDir } from "./support/helpers.ts";
import { type RunningRegistry, startRegistry } from "./support/registry.ts";

let registry: RunningRegistry;
let cacheDir: string;
/** examples/hello in git, locked, built for both platforms and pushed with its SBOM and provenance. */
let built: string;
let pushedRef: string;

async function vox(args: readonly string[], cwd: string) {
  return runAsync(bun, [join(repoRoot, "main.ts"), ...args], {
    cwd,
    env: { ...process.env, VOX_REGISTRY_MIRRORS: `docker.io=http://${registry.host}`, VOX_CACHE_DIR: cacheDir, DOCKER_CONFIG: tempDir("no-docker-config"), VOX_RELEASE_LOG: undefined },
  });
}

function gitCommit(dir: string): void {
  for (const argv of [["init", "-q"], ["add", "."], ["-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-q", "-m", "hello"]]) execFileSync("git", ["-C", dir, ...argv]);
}

function helloCopy(name: string, options: { git?: boolean } = {}): string {
  const dir = join(tempDir(name), "hello");
  cpSync(join(repoRoot, "examples", "hello"), dir, { recursive: true });
  rmSync(join(dir, ".vox"), { recursive: true, force: true });
  if (options.git !== false) gitCommit(dir);
  return dir;
}

/** Runs the gates and returns the exit status and the JSON report (checked against the text report's verdict). */
async function imagePolicy(image: string, options: { project?: string; cwd?: string } = {}): Promise<{ status: number | null; report: PolicyReport; text: string }> {
  const flags = ["--insecure", ...(options.project ? ["--project", options.project] : [])];
  const json = await vox(["ci", "image-policy", ...flags, "--json", image], options.cwd ?? repoRoot);
  assert.ok(json.stdout.startsWith("{"), json.stderr);
  const text = await vox(["ci", "image-policy", ...flags, image], options.cwd ?? repoRoot);
  assert.equal(text.status, json.status, text.stdout + text.stderr);
  return { status: json.status, report: JSON.parse(json.stdout) as PolicyReport, text: text.stdout };
}

function gate(report: PolicyReport, name: string) {
  const found = report.gates.find((g) => g.gate === name);
  assert.ok(found, `no gate ${name}`);
  return found;
}

/** The gates that failed, each with its reason: what a failing case must be exactly about. */
function failures(report: PolicyReport): Record<string, string> {
  return Object.fromEntries(report.gates.filter((g) => g.status === "fail").map((g) => [g.gate, g.reason]));
}

before(async () => {
  registry = await startRegistry();
  pushBusyboxBase(registry.host);
  cacheDir = tempDir("oci-cache");
  built = helloCopy("built");
  pushedRef = `${registry.host}/apps/hello:0.1.0`;
  const result = await vox(["deploy", "build", "--insecure", "--json", "--push", pushedRef], built);
  assert.equal(result.status, 0, result.stderr);
});

after(async () => {
  await registry?.stop();
});

test("the demo-like image passes every gate, from the registry (referrers through the tag schema) and from its layout", async () => {
  for (const image of [pushedRef, `oci:${join(built, ".vox", "oci")}:0.1.0`]) {
    const { status, report, text } = await imagePolicy(image, { project: built });
    assert.deepEqual(failures(report), {}, text);
    assert.equal(status, 0, text);
    assert.equal(report.ok, true);
    assert.match(gate(report, "base-pinned").reason, /^base docker\.io\/library\/busybox:1\.35@sha256:[0-9a-f]{64} agrees with vox\.lock$/);
    assert.match(gate(report, "provenance").reason, /has the image as subject and names the base digests and the locked inputs/);
    assert.match(gate(report, "sbom").reason, /names the base digests and the \d+ input file\(s\)/);
    assert.equal(gate(report, "release-manifest").status, "n/a");
    assert.match(text, /^ok: every required gate passed$/m);
  }
});

test("a single-platform build where Vox.toml requires two fails only the platforms gate, naming the missing one", async () => {
  const dir = helloCopy("single");
  const ref = `${registry.host}/apps/hello-amd64:0.1.0`;
  assert.equal((await vox(["deploy", "build", "--insecure", "--platform", "linux/amd64", "--push", ref], dir)).status, 0);
  const { status, report } = await imagePolicy(ref, { project: dir });
  assert.equal(status, 1);
  assert.deepEqual(Object.keys(failures(report)), ["platforms"]);
  assert.equal(gate(report, "platforms").reason, "linux/arm64 missing: the index lists linux/amd64");
});

test("a skopeo copy (no referrers travel) fails the SBOM and provenance gates; [deploy.policy] advisory turns them into warnings", async () => {
  const copy = `${registry.host}/mirror/hello:0.1.0`;
  execFileSync("skopeo", ["copy", "--quiet", "--all", "--src-tls-verify=false", "--dest-tls-verify=false", `docker://${pushedRef}`, `docker://${copy}`]);
  const { status, report } = await imagePolicy(copy, { project: built });
  assert.equal(status, 1);
  assert.deepEqual(Object.keys(failures(report)), ["sbom", "provenance"]);
  assert.match(gate(report, "sbom").reason, /^no SBOM \(application\/vnd\.cyclonedx\+json or application\/spdx\+json\) attached to sha256:/);
  assert.match(gate(report, "provenance").reason, /^no provenance \(application\/vnd\.in-toto\+json\) attached to sha256:/);

  const lenient = helloCopy("lenient");
  cpSync(join(built, "vox.lock"), join(lenient, "vox.lock"));
  writeFileSync(join(lenient, "Vox.toml"), `${readFileSync(join(lenient, "Vox.toml"), "utf8")}\n[deploy.policy]\nsbom = "advisory"\nprovenance = "advisory"\n`);
  const advisory = await imagePolicy(copy, { project: lenient });
  assert.equal(advisory.status, 0, advisory.text);
  assert.equal(gate(advisory.report, "sbom").level, "advisory");
  assert.match(advisory.text, /^ {2}warn {2}sbom/m);
  assert.match(advisory.text, /^ok: every required gate passed \(advisory failed: sbom, provenance\)$/m);
});

test("a provenance statement whose subject is another digest fails the provenance gate with both digests", async () => {
  const layout = join(tempDir("other-subject"), "oci");
  cpSync(join(built, ".vox", "oci"), layout, { recursive: true });
  const other = `sha256:${"e".repeat(64)}`;
  rewriteProvenance(layout, (statement) => ({ ...statement, subject: [{ name: "hello", digest: { sha256: other.slice(7) } }] }));
  const { status, report } = await imagePolicy(`oci:${layout}:0.1.0`, { project: built });
  assert.equal(status, 1);
  assert.deepEqual(Object.keys(failures(report)), ["provenance"]);
  assert.match(gate(report, "provenance").reason, new RegExp(`^the provenance statement's subject is ${other}, not the image sha256:[0-9a-f]{64}$`));
});

test("an image built outside git has no revision: the annotations gate names the key on the index and each platform", async () => {
  const dir = helloCopy("no-git", { git: false });
  assert.equal((await vox(["deploy", "build"], dir)).status, 0);
  const { status, report } = await imagePolicy(`oci:${join(dir, ".vox", "oci")}:0.1.0`, { project: dir });
  assert.equal(status, 1);
  assert.deepEqual(Object.keys(failures(report)), ["annotations"]);
  assert.equal(gate(report, "annotations").reason, "missing org.opencontainers.image.revision on the index; org.opencontainers.image.revision on linux/amd64; org.opencontainers.image.revision on linux/arm64");
});

test("a vox.lock whose base digest differs from the image's fails the base gate, naming both digests", async () => {
  const dir = helloCopy("relocked");
  cpSync(join(built, "vox.lock"), join(dir, "vox.lock"));
  const lock = readFileSync(join(dir, "vox.lock"), "utf8");
  const locked = /^digest = "(sha256:[0-9a-f]{64})"$/m.exec(lock)![1]!;
  const moved = `sha256:${"0".repeat(64)}`;
  writeFileSync(join(dir, "vox.lock"), lock.replace(locked, moved));
  const { status, report } = await imagePolicy(pushedRef, { project: dir });
  assert.equal(status, 1);
  assert.deepEqual(Object.keys(failures(report)), ["base-pinned"]);
  assert.equal(gate(report, "base-pinned").reason, `base digest ${locked} disagrees with vox.lock (${moved})`);
});

test("umoci's single-platform layout fails every gate it does not meet, each with its own reason", async () => {
  const { status, report } = await imagePolicy(`oci:${busyboxBaseLayout()}:amd64`);
  assert.equal(status, 1);
  const failed = failures(report);
  assert.deepEqual(Object.keys(failed), ["base-pinned", "lock", "platforms", "sbom", "provenance", "annotations"]);
  assert.equal(failed["base-pinned"], "the manifest has no org.opencontainers.image.base.digest annotation: its base is not pinned by digest");
  assert.equal(failed.lock, "not checked: no project (pass --project DIR)");
  assert.equal(failed.platforms, "linux/arm64 missing: the image is a single-platform manifest for linux/amd64");
  assert.match(failed.annotations!, /^missing org\.opencontainers\.image\.source, .*org\.opencontainers\.image\.base\.digest on the manifest$/);
  assert.equal(gate(report, "release-manifest").status, "n/a");
});

test("a Release of the image needs its platform manifest artifact: missing before `vox deploy release --push`, then the hash the Release records", async () => {
  const dir = join(tempDir("released"), "hello");
  cpSync(built, dir, { recursive: true });
  assert.equal((await vox(["deploy", "release"], dir)).status, 0);
  const before = await imagePolicy(pushedRef, { project: dir });
  assert.equal(before.status, 1);
  assert.deepEqual(Object.keys(failures(before.report)), ["release-manifest"]);
  assert.match(gate(before.report, "release-manifest").reason, /^no platform manifest artifact \(application\/vnd\.vox\.platform\.manifest\.v1\+json\) attached; Release 1 records sha256:[0-9a-f]{64}/);
  const pushed = await vox(["deploy", "release", "--insecure", "--json", "--push", `${registry.host}/apps/hello`], dir);
  assert.equal(pushed.status, 0, pushed.stderr);
  const hash = (JSON.parse(pushed.stdout) as { release: { manifest_content_hash: string } }).release.manifest_content_hash;
  const after = await imagePolicy(pushedRef, { project: dir });
  assert.equal(after.status, 0, after.text);
  assert.match(gate(after.report, "release-manifest").reason, new RegExp(`holds ${hash}, as Release 2 records$`));
});

/** Replaces the provenance statement in a layout (blob, artifact manifest, index.json entry), as another tool would. */
function rewriteProvenance(layout: string, edit: (statement: Record<string, unknown>) => Record<string, unknown>): void {
  const blobs = join(layout, "blobs", "sha256");
  const write = (bytes: Buffer) => {
    const hex = createHash("sha256").update(bytes).digest("hex");
    writeFileSync(join(blobs, hex), bytes);
    return { digest: `sha256:${hex}`, size: bytes.length };
  };
  const index = JSON.parse(readFileSync(join(layout, "index.json"), "utf8")) as { manifests: Array<{ digest: string; size: number; artifactType?: string }> };
  const entry = index.manifests.find((m) => m.artifactType === "application/vnd.in-toto+json")!;
  const manifest = JSON.parse(readFileSync(join(blobs, entry.digest.slice(7)), "utf8")) as { layers: Array<{ digest: string; size: number }> };
  const statement = JSON.parse(readFileSync(join(blobs, manifest.layers[0]!.digest.slice(7)), "utf8")) as Record<string, unknown>;
  manifest.layers[0] = { ...manifest.layers[0]!, ...write(Buffer.from(JSON.stringify(edit(statement)))) };
  Object.assign(entry, write(Buffer.from(JSON.stringify(manifest))));
  writeFileSync(join(layout, "index.json"), JSON.stringify(index));
}
