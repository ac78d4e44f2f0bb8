import { access, readFile } from "node:fs/promises";
import { join } from "node:path";
import { VoxError } from "../errors/mod.ts";
import type { Env, Spawner } from "../io/mod.ts";
import { type BuildDefines, compileArgv, type Package, sourceInstallSteps, type Target } from "../policy/mod.ts";

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

/** The version a checkout builds: its package.json `version`. */
export async function checkoutVersion(root: string): Promise<string> {
  const manifest = JSON.parse(await readFile(join(root, "package.json"), "utf8")) as { version?: string };
  if (!manifest.version) throw new VoxError("E_TAG", `Cannot tell the version of ${root}: ${join(root, "package.json")} has no version`, { hint: "Pass --version v<semver>.", exitCode: 2 });
  return manifest.version;
}

/**
 * Builds the host's vox from a checkout with the policy's source-install argv (`npm ci`, then `bun build`),
 * logging each step with `logPrefix`; used by install's fallback and `vox upgrade --source repo`.
 */
export async function buildFromSource(options: { root: string; target: Target; outfile: string; version: string; spawner: Spawner; log: (line: string) => void; logPrefix: string }): Promise<void> {
  for (const argv of sourceInstallSteps({ bunTarget: options.target.bunTarget, entry: "main.ts", outfile: options.outfile, defines: { version: options.version, trustedKeys: [] } })) {
    options.log(`${options.logPrefix}: ${argv.join(" ")}`);
    const result = await options.spawner.run(argv, { cwd: options.root, timeoutMs: 20 * 60_000 });
    if (result.code !== 0) {
      throw new VoxError("E_SOURCE_BUILD", `Cannot build vox from source in ${options.root}: '${argv.join(" ")}' exited ${result.code ?? result.signal}`, { hint: result.stderr.trim().split("\n").slice(-5).join("\n") });
    }
  }
}
