import { nodeSpawner, processEnv, processOutput, systemClock } from "../io/mod.ts";
import type { CommandSpec } from "./command.ts";
import { runCli } from "./run.ts";

/** Runs `command` against the real process: environment, stdout/stderr, clock, spawner, cwd, executable path. */
export function runProcess(command: CommandSpec, argv: readonly string[]): Promise<number> {
  return runCli(command, argv, { env: processEnv(), out: processOutput(), clock: systemClock, spawner: nodeSpawner, cwd: process.cwd(), execPath: process.execPath });
}
