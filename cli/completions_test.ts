import assert from "node:assert/strict";
import { test } from "node:test";
import type { CommandSpec } from "./command.ts";
import { completionWords, expectedCompletionWords, renderCompletions, SHELLS } from "./completions.ts";

const handler = async () => async () => {};
const tool: CommandSpec = {
  name: "tool",
  summary: "t",
  options: { version: { type: "boolean", short: "V", description: "v" } },
  subcommands: [{ name: "run", summary: "r", options: { mode: { type: "string", valueName: "<fast|slow>", description: "m" }, file: { type: "string", description: "f" } }, load: handler }],
};

for (const shell of SHELLS) {
  test(`completionWords() reads back from the ${shell} script exactly the words the table offers per command`, () => {
    const script = renderCompletions(shell, [tool]);
    assert.deepEqual(completionWords(shell, script), expectedCompletionWords([tool]));
    assert.deepEqual([...completionWords(shell, script).get("tool run")!].sort(), ["--file", "--help", "--mode", "-h"]);
    assert.match(script, /fast/, "an enumerated value is offered after its flag");
  });
}

test("completionWords() of a stale script shows the flag it lacks", () => {
  const stale = renderCompletions("bash", [tool]).replace("flags='--mode ", "flags='");
  assert.equal(completionWords("bash", stale).get("tool run")!.has("--mode"), false);
});
