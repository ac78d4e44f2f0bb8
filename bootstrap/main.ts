// vox-bootstrap: the installer executable (binary-first install with a source fallback).
// This entry holds its command table; the install flow itself lives beside it in bootstrap/.

import { pathToFileURL } from "node:url";
import { BUILD_VERSION } from "../build/constants.ts";
import { type CommandSpec, type Handler, runCli } from "../cli/mod.ts";
import { nodeSpawner, processEnv, processOutput, systemClock } from "../io/mod.ts";

const printVersionOrHelp: Handler = async (args, context) => {
  if (!args.flag("version")) return runCli(bootstrapCommand, ["--help"], context);
  context.out.stdout(`vox-bootstrap ${BUILD_VERSION}\n`);
};

export const bootstrapCommand: CommandSpec = {
  name: "vox-bootstrap",
  summary: "Install the vox toolchain: verified release binary first, build from source as the fallback",
  options: { version: { type: "boolean", short: "V", description: "Print the version" } },
  load: async () => printVersionOrHelp,
};

/** Runs vox-bootstrap with `argv` and returns the exit code. */
export function main(argv: readonly string[]): Promise<number> {
  return runCli(bootstrapCommand, argv, { env: processEnv(), out: processOutput(), clock: systemClock, spawner: nodeSpawner, cwd: process.cwd(), execPath: process.execPath });
}

if (import.meta.main ?? (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href)) {
  process.exitCode = await main(process.argv.slice(2));
}
