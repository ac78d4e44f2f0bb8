import assert from "node:assert/strict";
import { test } from "node:test";
import type { CommandSpec } from "./command.ts";
import { renderCommandTable, TABLE_BEGIN, TABLE_END, tableDifferences, tableInReadme, withTable } from "./command_table.ts";

const handler = async () => async () => {};
const tool = (options: CommandSpec["options"]): CommandSpec => ({
  name: "tool",
  summary: "a tool",
  subcommands: [{ name: "emit", summary: "writes a|b", positionals: [{ name: "seq" }], options, load: handler }],
});

test("renderCommandTable() writes one row per runnable command with every flag, escaping the pipes of a table cell", () => {
  const table = renderCommandTable([tool({ target: { type: "string", valueName: "<a|b>", description: "t" }, tag: { type: "string", multiple: true, description: "t" } })]);
  assert.equal(table, "| command | what it does |\n|---|---|\n| `tool emit [<seq>] [--target <a\\|b>] [--tag <value>]…` | writes a\\|b |");
});

test("tableDifferences() names a flag the README lacks, one it should not mention, and a missing row", () => {
  const expected = renderCommandTable([tool({ strict: { type: "boolean", description: "s" } })]);
  const found = renderCommandTable([tool({ loose: { type: "boolean", description: "s" } })]);
  assert.deepEqual(tableDifferences(expected, found), ["tool emit: lacks --strict", "tool emit: mentions --loose, not in the command table"]);
  assert.deepEqual(tableDifferences(expected, "| command | what it does |\n|---|---|"), ["tool emit: no row (the command table has it)"]);
  assert.deepEqual(tableDifferences(expected, expected), []);
});

test("withTable() replaces only what lies between the markers, and tableInReadme() reads it back", () => {
  const readme = `# x\n\n${TABLE_BEGIN}\nold\n${TABLE_END}\nafter\n`;
  const updated = withTable(readme, "| new |")!;
  assert.equal(updated, `# x\n\n${TABLE_BEGIN}\n| new |\n${TABLE_END}\nafter\n`);
  assert.equal(tableInReadme(updated), "| new |");
  assert.equal(withTable("# no markers\n", "| new |"), undefined);
});
