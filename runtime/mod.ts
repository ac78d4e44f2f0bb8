// What only Bun offers, used where a measurement showed the win; each caller keeps a portable path for Node and Deno.
// Owns a response body written into a file by Bun itself, a file's first bytes read through Bun.file, and the
// relaunch of a compiled executable without JSC's optimizing JIT tiers for I/O-bound commands.

interface BunFiles {
  file(pathOrFd: string | number): Blob;
  write(destination: unknown, input: Response): Promise<number>;
  /** The entry module; inside a compiled executable, a path in Bun's embedded file system. */
  main: string;
}

function bun(): BunFiles | undefined {
  return (globalThis as { Bun?: BunFiles }).Bun;
}

/** Writes a body into an open file from its start, outside JavaScript; resolves to the bytes written. */
export type BodyWriter = (body: ReadableStream<Uint8Array>, fd: number) => Promise<number>;

/**
 * Bun's native writer (`Bun.write` of a Response into the file's descriptor), or undefined elsewhere. A body read
 * chunk by chunk in JavaScript leaves each chunk to the collector: downloading a 53 MB release archive that way
 * peaked at 53-65 MiB, this way at 37 MiB. The caller times it (by the file it fills) and aborts it (by the request).
 */
export function nativeBodyWriter(): BodyWriter | undefined {
  const runtime = bun();
  if (runtime === undefined) return undefined;
  return (body, fd) => runtime.write(runtime.file(fd), new Response(body));
}

/**
 * Under Bun, the first `length` bytes of a file through `Bun.file`; undefined elsewhere. `vox policy` reads its own
 * header as it starts, and loading node:fs/promises would cost it more than everything else it does.
 */
export async function nativeFileHead(path: string, length: number): Promise<Uint8Array | undefined> {
  const runtime = bun();
  return runtime === undefined ? undefined : new Uint8Array(await runtime.file(path).slice(0, length).arrayBuffer());
}

/** JSC reads BUN_JSC_* variables as it starts; this one turns off its DFG tier, and with it the FTL above. */
export const OPTIMIZING_JIT_OPTION = "BUN_JSC_useDFGJIT";

/** What a process looks like to the relaunch decision. */
export interface RunningProcess {
  platform: string;
  execPath: string;
  argv0: string;
  argv: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
  /** Bun.main, or undefined outside Bun. */
  bunMain: string | undefined;
}

export interface Relaunch {
  file: string;
  argv: string[];
  env: Record<string, string>;
}

/**
 * The exec that restarts a compiled vox without JSC's optimizing tiers, or undefined when it should run as it is:
 * outside a compiled Bun executable, on Windows (no exec), or when the option is already set (by the relaunch
 * itself, or by a user who chose otherwise). Install and upgrade spend their time in zlib, sha256 and file writes;
 * the DFG and FTL compilers only compiled the stream loops around them. Measured on the compiled executables
 * (2 cores, `/usr/bin/time`): without those tiers, upgrade to a release with a 256 MiB asset peaked at 60.7 MiB
 * instead of 70-71 MiB, install at 57 instead of 63 MiB, and extraction alone ran 1.42 s instead of 1.63 s.
 */
export function relaunchWithoutOptimizingJit(running: RunningProcess): Relaunch | undefined {
  const compiled = running.bunMain?.startsWith("/$bunfs/") ?? false;
  if (!compiled || running.platform === "win32" || running.env[OPTIMIZING_JIT_OPTION] !== undefined) return undefined;
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(running.env)) if (value !== undefined) env[name] = value;
  env[OPTIMIZING_JIT_OPTION] = "0";
  // A compiled executable sees [bun, /$bunfs/root/<name>, ...its arguments]; the exec passes its own argv[0].
  return { file: running.execPath, argv: [running.argv0, ...running.argv.slice(2)], env };
}

/**
 * Replaces this process as relaunchWithoutOptimizingJit says, or returns when there is nothing to do. A relaunch
 * that fails (the executable's path no longer reachable, as for a user who may not search its directory) is not an
 * error: the command runs here, tiers on, and reports what it finds itself.
 */
export function relaunchIoBound(): void {
  const relaunch = relaunchWithoutOptimizingJit({ platform: process.platform, execPath: process.execPath, argv0: process.argv0, argv: process.argv, env: process.env, bunMain: bun()?.main });
  const execve = (process as { execve?: (file: string, argv: string[], env: Record<string, string>) => never }).execve;
  if (relaunch === undefined || execve === undefined) return;
  try {
    execve(relaunch.file, relaunch.argv, relaunch.env);
  } catch {
    // Not relaunched: the command runs in this process.
  }
}
