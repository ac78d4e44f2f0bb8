// Commands as data: each command declares its options and a lazily imported handler; argv is a parameter.
// Owns argument parsing (node:util parseArgs, strict), help rendering and the error-to-exit-code mapping.

export { type CommandContext, type CommandSpec, type Handler, type OptionSpec, type ParsedArgs } from "./command.ts";
export { renderHelp } from "./help.ts";
export { CLI_ENV, runCli } from "./run.ts";
export { type CommandEntry, commandExitCodes, SHARED_EXIT_CODES, walkCommands } from "./tree.ts";
