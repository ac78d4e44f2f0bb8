// vox-bootstrap: the installer executable (binary-first install with a source fallback).
// Its command table is commands/vox_bootstrap.ts (loaded after the --version fast path); the install flow lives in bootstrap/.

import { BUILD_VERSION } from "../build/constants.ts";
import { isMainModule, runEntry } from "../cli/entry.ts";

if (isMainModule(import.meta)) {
  process.exitCode = await runEntry({ name: "vox-bootstrap", version: BUILD_VERSION, loadCommand: () => import("../commands/vox_bootstrap.ts").then((m) => m.bootstrapCommand) }, process.argv.slice(2));
}
