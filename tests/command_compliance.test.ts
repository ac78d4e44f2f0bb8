// The command tables are the source of truth: `vox ci command-compliance` through the real CLI, on this checkout
// and on a copy whose table changed; `vox completions bash` loaded into a real bash and asked to complete.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parse } from "yaml";
import { bun, copyCheckout, repoRoot, runVoxSource } from "./support/helpers.ts";

test("vox ci command-compliance passes on this checkout: the committed registry, README, help and completions agree", () => {
  const result = runVoxSource(["ci", "command-compliance", "--json"]);
  const report = JSON.parse(result.stdout);
  assert.deepEqual(report.problems, []);
  assert.equal(result.status, 0, result.stderr);
  assert.equal(report.schema, "vox.command-compliance/1");
});

test("a flag changed in the command table without regenerating fails naming the flag in each place; --fix makes it pass", () => {
  const copy = copyCheckout();
  const table = join(copy, "commands", "vox.ts");
  const text = readFileSync(table, "utf8");
  const locked = `locked: { type: "boolean", description: "Fail if vox.lock is missing or stale instead of updating it" },`;
  assert.ok(text.includes(locked), "deploy build's --locked flag is where this test expects it");
  writeFileSync(table, text.replace(locked, `"locked-only": { type: "boolean", description: "Fail if vox.lock is missing or stale instead of updating it" },`));
  const vox = (args: string[]) => spawnSync(bun, [join(copy, "main.ts"), ...args], { cwd: copy, encoding: "utf8", env: { ...process.env, VOX_REPO_ROOT: copy } });

  const failed = vox(["ci", "command-compliance"]);
  assert.equal(failed.status, 1, failed.stderr);
  const lines = failed.stderr.split("\n");
  const named = (place: string, pattern: RegExp) => assert.ok(lines.some((l) => l.startsWith(`${place}: `) && pattern.test(l)), `${place} names the change:\n${failed.stderr}`);
  named("contracts/cli/command-registry.yaml", /vox deploy build: flag --locked-only: missing/);
  named("contracts/cli/command-registry.yaml", /vox deploy build: flag --locked: not in the command table/);
  named("README.md", /vox deploy build: lacks --locked-only/);
  named("README.md", /vox deploy build: mentions --locked, not in the command table/);
  for (const file of ["vox.bash", "_vox", "vox.fish", "vox.ps1"]) named(`contracts/cli/completions/${file}`, /vox deploy build: lacks --locked-only/);
  assert.ok(!lines.some((l) => l.startsWith("vox deploy build --help")), "help is rendered from the table, so it agrees");

  const fixed = vox(["ci", "command-compliance", "--fix"]);
  assert.equal(fixed.status, 0, fixed.stderr);
  assert.match(fixed.stderr, /regenerated contracts\/cli\/command-registry\.yaml/);
  assert.match(readFileSync(join(copy, "README.md"), "utf8"), /`vox deploy build [^`]*\[--locked-only\]/);
  assert.match(readFileSync(join(copy, "contracts/cli/completions/vox.bash"), "utf8"), /'vox deploy build'\) subs=''; flags='[^']*--locked-only/);
  const again = vox(["ci", "command-compliance", "--json"]);
  assert.equal(again.status, 0, again.stderr);
  assert.deepEqual(JSON.parse(again.stdout).fixed, [], "a second --fix has nothing to do");
});

test("a hand edit of a generated file is named, and a README without the table's markers says where it goes", () => {
  const copy = copyCheckout();
  const registry = join(copy, "contracts/cli/command-registry.yaml");
  writeFileSync(registry, readFileSync(registry, "utf8").replace("          - VOX_UPGRADE_BASE_URL\n", "          - VOX_UPGRADE_REPO\n"));
  const readme = join(copy, "README.md");
  writeFileSync(readme, readFileSync(readme, "utf8").replace(/<!-- commands:end -->/, ""));
  const result = spawnSync(bun, [join(copy, "main.ts"), "ci", "command-compliance"], { cwd: copy, encoding: "utf8" });
  assert.equal(result.status, 1);
  assert.match(result.stderr, /contracts\/cli\/command-registry\.yaml: vox policy: env is \["VOX_UPGRADE_REPO"\] here, \["VOX_UPGRADE_BASE_URL"\] in the command table/);
  assert.match(result.stderr, /README\.md: no command table between <!-- commands:begin/);
});

test("vox completions bash, loaded into bash, completes a subcommand, a flag and a flag's values", () => {
  const script = runVoxSource(["completions", "bash"]);
  assert.equal(script.status, 0, script.stderr);
  const probe = [
    // The script arrives on stdin, as from `source <(vox completions bash)`.
    'eval "$(cat)"',
    'complete -p vox vox-bootstrap',
    'ask() { COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=(); _vox_complete; echo "${COMPREPLY[*]}"; }',
    "ask vox dep",
    "ask vox deploy build --pl",
    "ask vox upgrade --channel ''",
    "ask vox-bootstrap pl",
  ].join("\n");
  const result = spawnSync("bash", ["--norc", "--noprofile", "-c", probe], { input: script.stdout, encoding: "utf8" });
  assert.equal(result.status, 0, result.stderr);
  assert.deepEqual(result.stdout.trimEnd().split("\n"), ["complete -F _vox_complete vox", "complete -F _vox_complete vox-bootstrap", "deploy", "--platform", "stable next", "plan"]);
  assert.equal(script.stdout, readFileSync(join(repoRoot, "contracts/cli/completions/vox.bash"), "utf8"), "the committed script is the one vox prints");
});

test("vox completions rejects an unknown shell with exit 2 naming the supported ones", () => {
  const result = runVoxSource(["completions", "tcsh"]);
  assert.equal(result.status, 2);
  assert.match(result.stderr, /Cannot print completions for 'tcsh': not a supported shell/);
  assert.match(result.stderr, /bash, zsh, fish, powershell/);
});

test("the CI workflow runs vox ci command-compliance on every push, before the test suite", () => {
  const workflow = parse(readFileSync(join(repoRoot, ".github", "workflows", "ci.yml"), "utf8"));
  const steps: Array<{ run?: string }> = workflow.jobs.test.steps;
  const check = steps.findIndex((s) => /main\.ts ci command-compliance$/.test(s.run ?? ""));
  assert.ok(check >= 0, "a step runs the check (without --fix: CI must fail, not repair)");
  assert.ok(check < steps.findIndex((s) => /npm test/.test(s.run ?? "")));
});
