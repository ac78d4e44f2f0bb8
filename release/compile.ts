import { access } from "node:fs/promises";
import { join } from "node:path";
import { VoxError } from "../errors/mod.ts";
import type { Env, Spawner } from "../io/mod.ts";
import { type BuildDefines, compileArgv, type Package, type Target } from "../policy/mod.ts";

/** The Bun to compile with: `VOX_BUN`, else the checkout's pinned `node_modules/.bin/bun`, else `bun` on PATH. */
export async function resolveBun(root: string, env: Env): Promise<string[]> {
  const explicit = env.get("VOX_BUN");
  if (explicit) return [explicit];
  const pinned = join(root, "node_modules", ".bin", "bun");
  return (await access(pinned).then(() => true, () => false)) ? [pinned] : ["bun"];
}

/**
 * Compiles one package for one target into `outfile` (its basename must be the executable name: Bun embeds it,
 * so only equal basenames give equal bytes).
 */
export async function compileExecutable(options: { root: string; bun: string[]; target: Target; pkg: Package; outfile: string; defines: BuildDefines; spawner: Spawner }): Promise<void> {
  const argv = compileArgv({ bun: options.bun, bunTarget: options.target.bunTarget, entry: options.pkg.entry, outfile: options.outfile, defines: options.defines });
  const result = await options.spawner.run(argv, { cwd: options.root, timeoutMs: 10 * 60_000 });
  if (result.code !== 0) {
    const detail = `${result.stdout}\n${result.stderr}`.trim().split("\n").slice(-15).join("\n");
    throw new VoxError("E_COMPILE", `Cannot compile ${options.pkg.name} for ${options.target.triple}: bun exited with ${result.code ?? result.signal}\n${detail}`, {
      hint: result.code === 127 ? "Bun was not found: run 'npm ci' in the checkout or set VOX_BUN." : "Fix the build error above; 'bun build' output is shown.",
    });
  }
}
