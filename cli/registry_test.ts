import assert from "node:assert/strict";
import { test } from "node:test";
import { parse } from "yaml";
import type { CommandSpec } from "./command.ts";
import { commandRegistry, registryDifferences, renderRegistry } from "./registry.ts";

const handler = async () => async () => {};
const tool: CommandSpec = {
  name: "tool",
  summary: "a tool",
  subcommands: [
    {
      name: "build",
      summary: "builds",
      status: "experimental",
      env: ["SOURCE_DATE_EPOCH"],
      exitCodes: { 10: "nothing to do" },
      options: { out: { type: "string", valueName: "<dir>", description: "where", defaultText: "dist" }, fast: { type: "boolean", description: "go" } },
      load: handler,
    },
  ],
};

test("commandRegistry() records flags with types and defaults, env, exit codes over the shared ones, and inherited status", () => {
  const registry = commandRegistry([tool], { globalEnv: ["VOX_DEBUG"] });
  const [group, build] = registry.executables[0]!.commands;
  assert.deepEqual(group!.exit_codes, { 0: "help printed (--help)", 2: "usage error: no command given" });
  assert.equal(group!.runnable, false);
  assert.deepEqual(build!.flags, [
    { name: "--out", type: "string", value: "<dir>", repeatable: false, default: "dist", description: "where" },
    { name: "--fast", type: "boolean", repeatable: false, default: false, description: "go" },
  ]);
  assert.deepEqual(build!.exit_codes, { 0: "success", 1: "failure", 2: "usage error", 10: "nothing to do" });
  assert.equal(build!.status, "experimental");
  assert.deepEqual(registry.executables[0]!.global_env, ["VOX_DEBUG"]);
});

test("registryDifferences() is empty for the rendered registry read back, and names a changed default and an added flag", () => {
  const registry = commandRegistry([tool], { globalEnv: [] });
  const committed = parse(renderRegistry(registry));
  assert.deepEqual(registryDifferences(registry, committed), []);
  const build = tool.subcommands![0]!;
  const changed: CommandSpec = { ...tool, subcommands: [{ ...build, options: { ...build.options, out: { ...build.options!.out!, defaultText: "out" }, quiet: { type: "boolean", description: "hush" } } }] };
  assert.deepEqual(registryDifferences(commandRegistry([changed], { globalEnv: [] }), committed), [
    'tool build: flag --out: default is "dist" here, "out" in the command table',
    "tool build: flag --quiet: missing (the command table has it)",
  ]);
});

test("registryDifferences() names a command the table lost and a file of another schema", () => {
  const registry = commandRegistry([tool], { globalEnv: [] });
  const committed = parse(renderRegistry(registry));
  assert.deepEqual(registryDifferences(commandRegistry([{ ...tool, subcommands: [] }], { globalEnv: [] }), committed).filter((p) => !p.startsWith("tool: subcommands")), ["tool build: not in the command table"]);
  assert.deepEqual(registryDifferences(registry, { schema: "other/1" }), ['schema is "other/1", expected vox.command-registry/1']);
});
