import { spawn } from "node:child_process";
import { closeSync, constants, openSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { VoxError } from "../errors/mod.ts";
import type { SpawnResult, Spawner } from "../io/mod.ts";

export type ContainerStatus = "creating" | "created" | "running" | "paused" | "stopped";

export interface ContainerState {
  id: string;
  status: ContainerStatus;
  pid: number;
}

/** Watches `runc events` for out-of-memory kills while an instance starts. */
export interface OomWatch {
  /** True once an `oom` event arrived. */
  readonly seen: boolean;
  stop(): void;
}

/**
 * Debian's runc, driven through its CLI with a root directory of our own, so `runc list` there shows exactly our
 * containers. Containers run detached with `terminal: false`: runc hands its stdout and stderr (the instance log,
 * opened for appending) to the process and exits, leaving no supervisor behind.
 */
export class RuncDriver {
  constructor(
    private readonly spawner: Spawner,
    /** runc's state directory (`--root`). */
    readonly root: string,
    private readonly runc = "runc",
  ) {}

  /** `runc run --detach`: creates and starts the container; its output is appended to `logPath`. */
  async run(id: string, bundle: string, logPath: string): Promise<void> {
    const log = openSync(logPath, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
    const runcLog = join(bundle, "..", "runc.log");
    try {
      const code = await new Promise<number | null>((resolve, reject) => {
        const child = spawn(this.runc, ["--root", this.root, "--log", runcLog, "run", "--detach", "--bundle", bundle, id], { stdio: ["ignore", log, log] });
        child.on("error", reject);
        child.on("exit", resolve);
      });
      if (code !== 0) {
        const why = (await readFile(runcLog, "utf8").catch(() => "")).trim().split("\n").at(-1) ?? "";
        throw new VoxError("E_RUN_LAUNCH", `Cannot launch ${id} with runc: exit status ${code}${why ? `: ${runcMessage(why)}` : ""}`, { hint: `The instance log is ${logPath}; check the bundle's config.json` });
      }
    } finally {
      closeSync(log);
    }
  }

  /** The container's state, or null when runc does not know it. */
  async state(id: string): Promise<ContainerState | null> {
    const result = await this.#runc(["state", id]);
    if (result.code !== 0) return null;
    const state = JSON.parse(result.stdout) as { id: string; status: ContainerStatus; pid: number };
    return { id: state.id, status: state.status, pid: state.pid };
  }

  async list(): Promise<ContainerState[]> {
    const result = await this.#runc(["list", "--format", "json"]);
    if (result.code !== 0) throw runcError("list containers", result);
    return ((JSON.parse(result.stdout || "null") as Array<{ id: string; status: ContainerStatus; pid: number }> | null) ?? []).map((c) => ({ id: c.id, status: c.status, pid: c.pid }));
  }

  async kill(id: string, signal: string): Promise<void> {
    await this.#runc(["kill", id, signal]);
  }

  /** `runc delete --force`: kills what still runs and removes the container and its cgroup; absent is fine. */
  async delete(id: string): Promise<void> {
    const result = await this.#runc(["delete", "--force", id]);
    if (result.code !== 0 && !/does not exist|not exist/.test(result.stderr)) throw runcError(`delete ${id}`, result);
  }

  /** `runc exec` with the container's own process settings (user, capabilities, no new privileges). */
  async exec(id: string, argv: readonly string[], timeoutMs: number): Promise<SpawnResult> {
    return this.#runc(["exec", id, ...argv], timeoutMs);
  }

  /** Streams `runc events` (cgroup notifications) until stopped, remembering an `oom` event. */
  watchOom(id: string): OomWatch {
    const child = spawn(this.runc, ["--root", this.root, "events", id], { stdio: ["ignore", "pipe", "ignore"] });
    let seen = false;
    let buffered = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      if (lines.some((line) => /"type"\s*:\s*"oom"/.test(line))) seen = true;
    });
    child.on("error", () => {});
    return {
      get seen() {
        return seen;
      },
      stop: () => void child.kill("SIGKILL"),
    };
  }

  #runc(args: readonly string[], timeoutMs = 60_000): Promise<SpawnResult> {
    return this.spawner.run([this.runc, "--root", this.root, ...args], { timeoutMs });
  }
}

/**
 * How many processes of the cgroup the kernel killed for memory: cgroup v1's `memory.oom_control` (`oom_kill`),
 * or v2's `memory.events`. Readable until the container is deleted, so `vox deploy ps` can say why it stopped.
 *
 * @example
 * ```ts
 * await oomKills("/vox/hello-1a2b3c4d"); // 1 after the kernel killed the process for exceeding memory.limit_in_bytes
 * ```
 */
export async function oomKills(cgroupsPath: string, cgroupRoot = "/sys/fs/cgroup"): Promise<number> {
  for (const file of [join(cgroupRoot, "memory", cgroupsPath, "memory.oom_control"), join(cgroupRoot, cgroupsPath, "memory.events")]) {
    const text = await readFile(file, "utf8").catch(() => undefined);
    const count = text === undefined ? undefined : /^oom_kill (\d+)$/m.exec(text)?.[1];
    if (count !== undefined) return Number(count);
  }
  return 0;
}

/** runc's --log lines are JSON (`{"level":"error","msg":…}`) or plain text. */
function runcMessage(line: string): string {
  try {
    return (JSON.parse(line) as { msg?: string }).msg ?? line;
  } catch {
    return line;
  }
}

function runcError(what: string, result: SpawnResult): VoxError {
  return new VoxError("E_RUN_RUNC", `Cannot ${what} with runc: ${result.stderr.trim() || `exit status ${result.code}`}`, {
    hint: result.code === 127 ? "Install Debian's runc package" : "runc needs root; run vox deploy as root",
  });
}
