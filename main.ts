// vox: the toolchain CLI entry point, runnable under Bun (compiled), Node (tsx) and Deno.
// It answers --version before loading anything; the command table (commands/vox.ts) and its handlers load lazily.

import { BUILD_VERSION } from "./build/constants.ts";
import { isMainModule, runEntry } from "./cli/entry.ts";

if (isMainModule(import.meta)) {
  process.exitCode = await runEntry({ name: "vox", version: BUILD_VERSION, loadCommand: () => import("./commands/vox.ts").then((m) => m.voxCommand) }, process.argv.slice(2));
}
