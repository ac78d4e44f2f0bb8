// vox-bootstrap: the installer executable (binary-first install with a source fallback).
// This entry holds its command table; the install flow itself lives beside it in bootstrap/.

import { BUILD_VERSION } from "../build/constants.ts";
import type { CommandSpec } from "../cli/command.ts";
import { isMainModule, runEntry, versionOrHelp } from "../cli/entry.ts";

export const bootstrapCommand: CommandSpec = {
  name: "vox-bootstrap",
  summary: "Install the vox toolchain: verified release binary first, build from source as the fallback",
  options: { version: { type: "boolean", short: "V", description: "Print the version" } },
  load: async () => versionOrHelp(bootstrapCommand, BUILD_VERSION),
};

if (isMainModule(import.meta)) {
  process.exitCode = await runEntry(bootstrapCommand, process.argv.slice(2), BUILD_VERSION);
}
