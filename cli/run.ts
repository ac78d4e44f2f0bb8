import { parseArgs } from "node:util";
import { ExitCode, exitCodeOf, formatError, usageError } from "../errors/mod.ts";
import type { CommandContext, CommandSpec, ParsedArgs } from "./command.ts";
import { renderHelp } from "./help.ts";

/** Environment variables every command reads, through this runner: the registry lists them once per executable. */
export const CLI_ENV = ["VOX_DEBUG"] as const;

/**
 * Resolves the subcommand named by `argv`, parses its options strictly and runs its handler.
 * Returns the exit code; prints help and errors through `context.out`; never exits the process.
 *
 * @example
 * ```ts
 * const code = await runCli(rootCommand, ["policy", "--json"], context);
 * ```
 */
export async function runCli(root: CommandSpec, argv: readonly string[], context: CommandContext): Promise<number> {
  const path = [root.name];
  let command = root;
  let rest = [...argv];
  while (command.subcommands && rest.length > 0 && !rest[0]!.startsWith("-")) {
    const next = command.subcommands.find((c) => c.name === rest[0]);
    if (!next) {
      const known = command.subcommands.map((c) => c.name).join(", ");
      return fail(usageError("E_UNKNOWN_COMMAND", `Cannot run '${path.join(" ")} ${rest[0]}': no such command`, `Commands: ${known}. Run '${path.join(" ")} --help'.`), context);
    }
    command = next;
    path.push(next.name);
    rest = rest.slice(1);
  }
  const help = renderHelp(command, path);
  if (rest.includes("--help") || rest.includes("-h")) {
    context.out.stdout(help);
    return ExitCode.ok;
  }
  if (!command.load) {
    context.out.stderr(help);
    return ExitCode.usage;
  }
  try {
    const args = parse(command, rest, path);
    const handler = await command.load();
    return (await handler(args, context)) ?? ExitCode.ok;
  } catch (error) {
    return fail(error, context);
  }
}

function fail(error: unknown, context: CommandContext): number {
  context.out.stderr(`${formatError(error, context.env.get("VOX_DEBUG") === "1")}\n`);
  return exitCodeOf(error);
}

function parse(command: CommandSpec, argv: string[], path: readonly string[]): ParsedArgs {
  const options: Record<string, { type: "string" | "boolean"; short?: string; multiple?: boolean }> = {};
  for (const [key, spec] of Object.entries(command.options ?? {})) {
    options[key] = { type: spec.type, ...(spec.short ? { short: spec.short } : {}), ...(spec.multiple ? { multiple: true } : {}) };
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw usageError("E_USAGE", `Cannot parse arguments for '${path.join(" ")}': ${reason}`, `Run '${path.join(" ")} --help'.`);
  }
  const specs = command.positionals ?? [];
  const required = specs.filter((p) => p.required).length;
  const variadic = specs.some((p) => p.variadic);
  if (parsed.positionals.length < required || (!variadic && parsed.positionals.length > specs.length)) {
    const expected = specs.map((p) => `<${p.name}>`).join(" ") || "no arguments";
    throw usageError("E_USAGE", `Cannot run '${path.join(" ")}': expected ${expected}, got ${parsed.positionals.length} argument(s)`, `Run '${path.join(" ")} --help'.`);
  }
  const values = parsed.values as Record<string, string | boolean | string[] | undefined>;
  return {
    path: path.slice(1),
    positionals: parsed.positionals,
    string: (name) => {
      const value = values[name];
      return Array.isArray(value) ? value.at(-1) : typeof value === "string" ? value : undefined;
    },
    list: (name) => {
      const value = values[name];
      return Array.isArray(value) ? value : typeof value === "string" ? [value] : [];
    },
    flag: (name) => values[name] === true,
  };
}
