
export interface SpawnOptions {
  cwd?: string;
  /** Replaces the child's environment entirely when given. */
  env?: Record<string, string | undefined>;
  /** Kills the child after this long; the result then has `timedOut: true`. */
  timeoutMs?: number;
  /** Written to the child's stdin, which is then closed; without it stdin is empty. */
  input?: string;
}

export interface SpawnResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Runs a program to completion and captures its output; never goes through a shell. */
export interface Spawner {
  run(argv: readonly string[], options?: SpawnOptions): Promise<SpawnResult>;
}

/** The real spawner; a missing program resolves with code 127 rather than throwing. */
export const nodeSpawner: Spawner = {
  async run(argv, options = {}) {
    const [command, ...args] = argv;
    if (command === undefined) throw new TypeError("Cannot spawn: empty argv");
    // Loaded on first use: node:child_process costs start-up time every command would otherwise pay.
    const { spawn } = await import("node:child_process");
    return new Promise((resolve) => {
      const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ["pipe", "pipe", "pipe"] });
      // Without input the child sees an empty stdin; a child that exits without reading it makes the write fail
      // with EPIPE, and its exit status tells the story.
      child.stdin.on("error", () => {});
      child.stdin.end(options.input);
      let stdout = "";
      let stderr = "";
      let timedOut = false;
      const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => {
        timedOut = true;
        child.kill("SIGKILL");
      }, options.timeoutMs);
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
      child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
      child.on("error", (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        resolve({ code: error.code === "ENOENT" ? 127 : 126, signal: null, stdout, stderr: stderr + error.message, timedOut });
      });
      child.on("close", (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, stdout, stderr, timedOut });
      });
    });
  },
};

/** Whether a process with this pid exists (EPERM: it does, and belongs to another user). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
