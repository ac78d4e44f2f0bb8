import type { CommandSpec, ExitCodes } from "./command.ts";

/** One command of a tree with its full path (`["vox", "deploy", "build"]`) and its status after inheritance. */
export interface CommandEntry {
  path: readonly string[];
  spec: CommandSpec;
  status: "stable" | "experimental";
}

/** What 0, 1 and 2 mean for every command unless it says otherwise (errors/mod.ts `ExitCode`). */
export const SHARED_EXIT_CODES: ExitCodes = { 0: "success", 1: "failure", 2: "usage error" };

/**
 * Every command of `root`, depth first in table order, the root first.
 *
 * @example
 * ```ts
 * walkCommands({ name: "tool", summary: "t", subcommands: [{ name: "a", summary: "a" }] }).map((e) => e.path.join(" ")); // ["tool", "tool a"]
 * ```
 */
export function walkCommands(root: CommandSpec): CommandEntry[] {
  const entries: CommandEntry[] = [];
  const visit = (spec: CommandSpec, path: readonly string[], inherited: CommandEntry["status"]): void => {
    const status = spec.status ?? inherited;
    entries.push({ path, spec, status });
    for (const sub of spec.subcommands ?? []) visit(sub, [...path, sub.name], status);
  };
  visit(root, [root.name], "stable");
  return entries;
}

/**
 * The exit codes a command can return: the shared ones with its own meanings laid over them. A command
 * without a handler only prints its help, with 2 (usage) when run without a subcommand.
 *
 * @example
 * ```ts
 * commandExitCodes({ name: "x", summary: "x", load: async () => async () => {}, exitCodes: { 10: "update available" } })[10]; // "update available"
 * ```
 */
export function commandExitCodes(spec: CommandSpec): ExitCodes {
  if (!spec.load) return { 0: "help printed (--help)", 2: "usage error: no command given" };
  return { ...SHARED_EXIT_CODES, ...spec.exitCodes };
}
