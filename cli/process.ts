// From the io modules, not io/mod.ts: the barrel would bring file writing and locking (node:fs/promises, a few ms
// to load) into every command's start-up.
import { systemClock } from "../io/clock.ts";
import { processEnv } from "../io/env.ts";
import { processOutput } from "../io/output.ts";
import { nodeSpawner } from "../io/spawn.ts";
import { relaunchIoBound } from "../runtime/mod.ts";
import type { CommandSpec } from "./command.ts";
import { runCli } from "./run.ts";

/** Runs `command` against the real process: environment, stdout/stderr, clock, spawner, cwd, executable path, exec. */
export function runProcess(command: CommandSpec, argv: readonly string[]): Promise<number> {
  return runCli(command, argv, { env: processEnv(), out: processOutput(), clock: systemClock, spawner: nodeSpawner, cwd: process.cwd(), execPath: process.execPath, relaunchIoBound });
}
