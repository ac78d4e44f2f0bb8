// Process entry shared by the `vox` and `vox-bootstrap` executables; the only place that sets the exit code.
// Loads nothing heavy until it knows it must: printing the version needs no parser, no crypto, no spawner.

import type { CommandSpec, Handler } from "./command.ts";

const VERSION_FLAGS = new Set(["--version", "-V"]);

/**
 * Runs a program: `name version` for a bare --version is answered before anything loads; otherwise the command
 * table is loaded and run against the real process. Returns the exit code.
 */
export async function runEntry(program: { name: string; version: string; loadCommand: () => Promise<CommandSpec> }, argv: readonly string[]): Promise<number> {
  if (argv.length === 1 && VERSION_FLAGS.has(argv[0]!)) {
    console.log("%s", `${program.name} ${program.version}`);
    return 0;
  }
  const [{ runProcess }, command] = await Promise.all([import("./process.ts"), program.loadCommand()]);
  return runProcess(command, argv);
}

/** Whether the module at `meta` is the program being run (Bun and Deno say so directly; Node via argv). */
export function isMainModule(meta: ImportMeta): boolean {
  return meta.main ?? (process.argv[1] !== undefined && meta.filename === process.argv[1]);
}

/** The handler of a program's root command: `--version` prints `name version`, anything else prints help. */
export function versionOrHelp(command: CommandSpec, version: string): Handler {
  return async (args, context) => {
    if (args.flag("version")) return context.out.stdout(`${command.name} ${version}\n`);
    const { renderHelp } = await import("./help.ts");
    context.out.stdout(renderHelp(command, [command.name]));
  };
}
