import { ExitCode, exitCodeOf, formatError, usageError } from "../errors/mod.ts";
import type { CommandContext, CommandSpec, OptionSpec, ParsedArgs } from "./command.ts";
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
    const next = named(command.subcommands, rest[0]!);
    if (!next) {
      const known = command.subcommands.map((c) => c.name).join(", ");
      return fail(usageError("E_UNKNOWN_COMMAND", `Cannot run '${path.join(" ")} ${rest[0]}': no such command`, `Commands: ${known}. Run '${path.join(" ")} --help'.`), context);
    }
    command = next;
    path.push(next.name);
    rest = rest.slice(1);
  }
  // Help is rendered only when printed: rendering it on every run cost `vox policy --json` half a millisecond.
  if (rest.includes("--help") || rest.includes("-h")) {
    context.out.stdout(renderHelp(command, path));
    return ExitCode.ok;
  }
  if (!command.load) {
    context.out.stderr(renderHelp(command, path));
    return ExitCode.usage;
  }
  try {
    const args = parse(command, rest, path);
    if (command.ioBound?.(args)) context.relaunchIoBound?.();
    const handler = await command.load();
    return (await handler(args, context)) ?? ExitCode.ok;
  } catch (error) {
    return fail(error, context);
  }
}

// Loops rather than Array.prototype.find/filter/some/flatMap on the path every command takes: JSC compiles each of
// those builtins on its first call, a tenth of a millisecond or more apiece at start-up.

function named(commands: readonly CommandSpec[], name: string): CommandSpec | undefined {
  for (const command of commands) if (command.name === name) return command;
  return undefined;
}

function fail(error: unknown, context: CommandContext): number {
  context.out.stderr(`${formatError(error, context.env.get("VOX_DEBUG") === "1")}\n`);
  return exitCodeOf(error);
}

function parse(command: CommandSpec, argv: string[], path: readonly string[]): ParsedArgs {
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions(argv, command.options ?? {});
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw usageError("E_USAGE", `Cannot parse arguments for '${path.join(" ")}': ${reason}`, `Run '${path.join(" ")} --help'.`);
  }
  const specs = command.positionals ?? [];
  let required = 0;
  let variadic = false;
  for (const spec of specs) {
    if (spec.required) required++;
    if (spec.variadic) variadic = true;
  }
  if (parsed.positionals.length < required || (!variadic && parsed.positionals.length > specs.length)) {
    const expected = specs.map((p) => `<${p.name}>`).join(" ") || "no arguments";
    throw usageError("E_USAGE", `Cannot run '${path.join(" ")}': expected ${expected}, got ${parsed.positionals.length} argument(s)`, `Run '${path.join(" ")} --help'.`);
  }
  const { values } = parsed;
  return {
    path: path.slice(1),
    positionals: parsed.positionals,
    string: (name) => {
      const value = values.get(name);
      return Array.isArray(value) ? value.at(-1) : typeof value === "string" ? value : undefined;
    },
    list: (name) => {
      const value = values.get(name);
      return Array.isArray(value) ? value : typeof value === "string" ? [value] : [];
    },
    flag: (name) => values.get(name) === true,
  };
}

/**
 * Strict option parsing by node:util parseArgs' rules: `--name value`, `--name=value`, `-x value`, `-xvalue`,
 * grouped short flags (`-ab`), `--` ends the options, a lone `-` is a positional; unknown options, a missing value,
 * a value for a flag, and a value that looks like an option are errors. Written out because loading node:util
 * costs a compiled vox about as much as everything else `vox policy --json` does.
 */
export function parseOptions(argv: readonly string[], options: Readonly<Record<string, OptionSpec>>): { values: Map<string, string | boolean | string[]>; positionals: string[] } {
  const values = new Map<string, string | boolean | string[]>();
  const positionals: string[] = [];
  const byShort = new Map<string, string>();
  for (const name in options) if (options[name]!.short) byShort.set(options[name]!.short!, name);
  const take = (name: string, shown: string, inline: string | undefined, next: () => string | undefined) => {
    const spec = options[name]!;
    if (spec.type === "boolean") {
      if (inline !== undefined) throw new Error(`Option '${shown}' does not take an argument`);
      values.set(name, true);
      return;
    }
    const value = inline ?? next();
    if (value === undefined) throw new Error(`Option '${shown} <value>' argument missing`);
    if (inline === undefined && value.length > 1 && value.startsWith("-")) {
      throw new Error(`Option '${shown} <value>' argument is ambiguous: '${value}' looks like an option (write ${shown.startsWith("--") ? `${shown}=${value}` : `${shown}${value}`} if it is the value)`);
    }
    const previous = values.get(name);
    values.set(name, spec.multiple ? [...(Array.isArray(previous) ? previous : []), value] : value);
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = () => (i + 1 < argv.length ? argv[++i] : undefined);
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg === "-" || !arg.startsWith("-")) {
      positionals.push(arg);
    } else if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const shown = eq < 0 ? arg : arg.slice(0, eq);
      const name = shown.slice(2);
      if (!Object.hasOwn(options, name)) throw unknownOption(shown);
      take(name, shown, eq < 0 ? undefined : arg.slice(eq + 1), next);
    } else {
      for (let j = 1; j < arg.length; j++) {
        const name = byShort.get(arg[j]!);
        if (name === undefined) throw unknownOption(`-${arg[j]}`);
        // A short option that takes a value takes the rest of the group (`-V1.2.3`), else the next argument.
        const rest = arg.slice(j + 1);
        if (options[name]!.type === "string") {
          take(name, `-${arg[j]}`, rest === "" ? undefined : rest, next);
          break;
        }
        take(name, `-${arg[j]}`, undefined, next);
      }
    }
  }
  return { values, positionals };
}

function unknownOption(shown: string): Error {
  return new Error(`Unknown option '${shown}'. To pass an argument that starts with '-', put it after '--'`);
}
