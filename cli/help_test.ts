import assert from "node:assert/strict";
import { test } from "node:test";
import type { CommandSpec } from "./command.ts";
import { helpDifferences, renderHelp } from "./help.ts";

const build: CommandSpec = {
  name: "build",
  summary: "builds",
  options: { out: { type: "string", valueName: "<dir>", description: "where", defaultText: "dist" } },
  env: ["SOURCE_DATE_EPOCH"],
  exitCodes: { 10: "nothing to do" },
  load: async () => async () => {},
};

test("renderHelp() lists the environment variables and every exit code from the table's data", () => {
  const help = renderHelp(build, ["tool", "build"]);
  assert.match(help, /^Environment: SOURCE_DATE_EPOCH \(each explained by 'vox policy'\)\.$/m);
  assert.match(help, /^Exit codes: 0 success; 1 failure; 2 usage error; 10 nothing to do\.$/m);
  assert.deepEqual(helpDifferences(build, help), []);
});

test("helpDifferences() names a flag, a default, an env var and an exit code that a help text leaves out", () => {
  const help = renderHelp(build, ["tool", "build"]).replace(" (default: dist)", "").replace("; 10 nothing to do", "").replace("SOURCE_DATE_EPOCH", "");
  const more: CommandSpec = { ...build, options: { ...build.options, fast: { type: "boolean", description: "go" } } };
  assert.deepEqual(helpDifferences(more, help), ["lacks --fast", "--out: lacks its default (dist)", "lacks the environment variable SOURCE_DATE_EPOCH", "lacks exit code 10 (nothing to do)"]);
});
