// Both executables' command tables, vox's and vox-bootstrap's: what the registry, the README's command table and
// the shell completions are generated from.

import type { CommandSpec } from "../cli/mod.ts";
import { voxCommand } from "./vox.ts";
import { bootstrapCommand } from "./vox_bootstrap.ts";

export const COMMAND_ROOTS: readonly CommandSpec[] = [voxCommand, bootstrapCommand];
