import type { Clock, Env, Output, Spawner } from "../io/mod.ts";

export interface OptionSpec {
  type: "string" | "boolean";
  description: string;
  short?: string;
  /** Repeatable: values collect into a list. */
  multiple?: boolean;
  /** Placeholder shown in help, e.g. `<triple>`. */
  valueName?: string;
  /** Shown in help; the handler applies defaults so that they live beside the logic that uses them. */
  defaultText?: string;
}

export interface PositionalSpec {
  name: string;
  required?: boolean;
  variadic?: boolean;
}

/** What every handler receives: parsed arguments and the side-effect seams. */
export interface CommandContext {
  env: Env;
  out: Output;
  clock: Clock;
  spawner: Spawner;
  cwd: string;
  /** The running executable, for commands that re-run or replace it. */
  execPath: string;
  /** Called before an `ioBound` command's handler loads; the real process relaunches itself (runtime/mod.ts). */
  relaunchIoBound?: () => void;
}

export interface ParsedArgs {
  /** The command path, e.g. `["ci", "release-build"]`. */
  path: readonly string[];
  positionals: readonly string[];
  string(name: string): string | undefined;
  list(name: string): readonly string[];
  flag(name: string): boolean;
}

/** A handler returns the exit code (0 when it returns nothing); failures throw `VoxError`. */
export type Handler = (args: ParsedArgs, context: CommandContext) => Promise<number | void>;

/** Exit codes and what each means; help, the command registry and `vox ci command-compliance` read them. */
export type ExitCodes = Readonly<Record<number, string>>;

export interface CommandSpec {
  name: string;
  summary: string;
  options?: Readonly<Record<string, OptionSpec>>;
  positionals?: readonly PositionalSpec[];
  /** Extra help text: what the command prints, examples. Environment variables and exit codes go in `env` and `exitCodes`. */
  details?: string;
  /** Environment variables this command reads (names from policy/env_names.ts), in the order help lists them. */
  env?: readonly string[];
  /** Exit codes beyond the shared ones, or a command's own meaning of 0, 1 and 2 (see `commandExitCodes()`). */
  exitCodes?: ExitCodes;
  /** experimental: its options and output may still change; stable otherwise. Subcommands inherit it. */
  status?: "stable" | "experimental";
  subcommands?: readonly CommandSpec[];
  /**
   * Whether this invocation streams release-sized files and computes little in JavaScript (install, upgrade): a
   * compiled vox then runs it without JSC's optimizing JIT tiers, which cost it memory and bought no speed
   * (runtime/mod.ts).
   */
  ioBound?: (args: ParsedArgs) => boolean;
  /** Imported only when this command runs, so start-up parses nothing it does not need. */
  load?: () => Promise<Handler>;
}
